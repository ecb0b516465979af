import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime, JobPriority, type Runtime } from '../../src/index.js';

describe('rt.queue: the task queue inside the runtime', () => {
  const runtimes: Runtime[] = [];
  const dirs: string[] = [];
  afterEach(async () => {
    for (const rt of runtimes.splice(0)) await rt.close();
    for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  });

  it('is the root actor child `queue` and runs jobs by priority', async () => {
    const rt = await createRuntime({ dataDir: false, queue: { maxWorkers: 1 } });
    runtimes.push(rt);
    expect(rt.actor.system.get('queue')).toBeDefined();
    const order: string[] = [];
    rt.queue.register('record', async ({ args }) => {
      order.push(String(args[0]));
      return args[0];
    });
    const ids = [
      await rt.queue.enqueue({
        name: 'low',
        handler: 'record',
        args: ['low'],
        priority: JobPriority.LOW,
      }),
      await rt.queue.enqueue({
        name: 'urgent',
        handler: 'record',
        args: ['urgent'],
        priority: JobPriority.URGENT,
      }),
      await rt.queue.enqueue({ name: 'normal', handler: 'record', args: ['normal'] }),
    ];
    await rt.queue.start();
    for (const id of ids)
      expect((await rt.queue.waitForJob(id, { timeoutMs: 5_000 })).status).toBe('completed');
    expect(order).toEqual(['urgent', 'normal', 'low']);
  });

  it('keeps a scheduled job in the runtime store across a restart, and runs it when due', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'troupe-rtq-'));
    dirs.push(dir);
    const clock = new SimulatedClock();
    clock.set(1_000_000);
    const first = await createRuntime({ dataDir: dir, clock });
    first.queue.register('digest', async () => 'sent');
    await first.queue.start();
    const id = await first.queue.schedule(
      { name: 'digest', handler: 'digest' },
      new Date(1_000_000 + 60_000),
    );
    await first.close();

    const second = await createRuntime({ dataDir: dir, clock });
    runtimes.push(second);
    second.queue.register('digest', async () => 'sent');
    await second.queue.start();
    expect((await second.queue.getJob(id))?.status).toBe('scheduled');
    clock.increment(60_000);
    const result = await second.queue.waitForJob(id, { timeoutMs: 5_000 });
    expect(result.status).toBe('completed');
    expect(result.result).toBe('sent');
  });
});
