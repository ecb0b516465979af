import { afterEach, describe, expect, it } from 'vitest';
import type { AnyActorRef } from 'xstate';
import type { TroupeError } from '../../src/errors.js';
import type { JobRecord } from '../../src/machines/queue/job.js';
import { TaskQueue } from '../../src/runtime/queue/task-queue.js';
import type { TaskQueueOptions } from '../../src/runtime/queue/task-queue-options.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import type { StoreOp } from '../../src/store/store.js';
import { advance, EPOCH, gate, settle, simulatedClock } from './helpers.js';

const queues: TaskQueue[] = [];
afterEach(async () => {
  await Promise.all(queues.splice(0).map((queue) => queue.stop({ graceful: false })));
});
function make(options: TaskQueueOptions): TaskQueue {
  const queue = new TaskQueue(options);
  queues.push(queue);
  return queue;
}

/** Ends a queue the way a crash would: no stop transition, nothing more written. */
async function crash(queue: TaskQueue): Promise<void> {
  await queue.flush();
  (queue.actor as AnyActorRef).stop();
  queues.splice(queues.indexOf(queue), 1);
}

describe('durable jobs', () => {
  it('survive a restart: queued and scheduled come back, running ones run again', async () => {
    const store = new MemoryStore();
    const clock = simulatedClock();
    const first = make({ store, clock, maxWorkers: 1 });
    const running = gate();
    first.register('work', () => running.promise);
    await first.enqueue({ id: 'running', name: 'work', handler: 'work' });
    await first.enqueue({ id: 'queued-1', name: 'work', handler: 'work' });
    await first.enqueue({ id: 'queued-2', name: 'work', handler: 'work' });
    await first.schedule({ id: 'scheduled', name: 'work', handler: 'work' }, EPOCH + 10_000);
    await first.start();
    await settle();
    expect((await first.getJob('running'))?.status).toBe('running');
    await crash(first);

    const runs: string[] = [];
    const second = make({ store, clock, maxWorkers: 1 });
    second.register('work', ({ jobId, attempt }) => {
      runs.push(`${jobId}#${attempt}`);
    });
    // Readable from the store before start.
    expect((await second.getJob('running'))?.status).toBe('running');
    await second.start();
    await settle();
    expect(runs).toEqual(['running#2', 'queued-1#1', 'queued-2#1']);
    await advance(clock, 10_000, 1000);
    expect(runs).toEqual(['running#2', 'queued-1#1', 'queued-2#1', 'scheduled#1']);
    const rerun = await second.waitForJob('running');
    expect(rerun).toMatchObject({ status: 'completed', attempts: 2, errors: [] });
    const info = await second.getJob('running');
    expect(info?.attempts.map((attempt) => attempt.outcome)).toEqual(['interrupted', 'completed']);
  });

  it('a scheduled job whose time passed while the process was down runs at once', async () => {
    const store = new MemoryStore();
    const clock = simulatedClock();
    const first = make({ store, clock });
    first.register('work', () => 'ran');
    await first.schedule({ id: 'due', name: 'work', handler: 'work' }, EPOCH + 1000);
    await crash(first);
    clock.increment(60_000);
    const second = make({ store, clock });
    second.register('work', () => 'ran');
    await second.start();
    expect((await second.waitForJob('due')).result).toBe('ran');
  });

  it('enqueue() resolves once the job is stored; function-handler jobs are never stored', async () => {
    const store = new MemoryStore();
    const queue = make({ store });
    queue.register('work', () => undefined);
    const durable = await queue.enqueue({ name: 'work', handler: 'work', args: [1, { a: 'b' }] });
    const stored = await store.get<JobRecord>('jobs', durable);
    expect(stored).toMatchObject({
      id: durable,
      handler: 'work',
      args: [1, { a: 'b' }],
      status: 'queued',
    });
    const ephemeral = await queue.enqueue({ name: 'fn', handler: () => undefined });
    await queue.flush();
    expect(await store.get('jobs', ephemeral)).toBeUndefined();
    expect((await queue.getJob(ephemeral))?.durable).toBe(false);
  });

  it('a job enqueued while an earlier batch is being written is acknowledged by its own write', async () => {
    const store = new MemoryStore();
    const queue = make({ store });
    queue.register('work', () => undefined);
    await queue.enqueue({ name: 'work', handler: 'work' }); // loads the store
    const held = gate();
    const written: string[][] = [];
    const batch = store.batch.bind(store);
    store.batch = async (ops) => {
      written.push(ops.map((op) => op.key));
      await held.promise;
      return batch(ops);
    };
    // Whether the job is in the store at the moment its enqueue() resolves.
    const storedWhenAcknowledged = (enqueued: Promise<string>) =>
      enqueued.then(async (id) => (await store.get('jobs', id)) !== undefined);
    const first = storedWhenAcknowledged(queue.enqueue({ id: 'a', name: 'work', handler: 'work' }));
    while (written.length === 0) await settle();
    const second = storedWhenAcknowledged(
      queue.enqueue({ id: 'b', name: 'work', handler: 'work' }),
    );
    held.open();
    expect(await first).toBe(true);
    expect(await second).toBe(true);
    expect(written).toEqual([['a'], ['b']]);
  });

  it('writes nothing for a job that comes and goes between two batches', async () => {
    const store = new MemoryStore();
    const batches: StoreOp[][] = [];
    const batch = store.batch.bind(store);
    store.batch = (ops) => {
      batches.push([...ops]);
      return batch(ops);
    };
    const queue = make({ store, keepFinishedJobs: 0 });
    queue.register('work', () => 'done');
    await queue.start();
    const ids = await Promise.all(
      Array.from({ length: 20 }, () => queue.enqueue({ name: 'work', handler: 'work' })),
    );
    await queue.onIdle();
    await queue.flush();
    // Enqueued, run, finished and dropped before the first batch: nothing to write.
    expect(batches.flat()).toEqual([]);
    expect(ids).toHaveLength(20);

    // A job that was stored is deleted from the store when it is dropped.
    const slow = gate();
    queue.register('slow', () => slow.promise);
    const stored = await queue.enqueue({ id: 'stored', name: 'slow', handler: 'slow' });
    expect(await store.get('jobs', stored)).toMatchObject({ status: 'running' });
    slow.open();
    await queue.waitForJob(stored).catch(() => undefined);
    await queue.onIdle();
    await queue.flush();
    expect(await store.get('jobs', stored)).toBeUndefined();
    expect(
      batches
        .flat()
        .filter((op) => op.key === stored)
        .at(-1)?.type,
    ).toBe('del');
  });

  it('keeps keepFinishedJobs finished jobs, in memory and in the store', async () => {
    const store = new MemoryStore();
    const queue = make({ store, keepFinishedJobs: 2 });
    queue.register('work', ({ args }) => args[0]);
    await queue.start();
    for (let i = 1; i <= 5; i++) {
      await queue.enqueue({ id: `job-${i}`, name: 'work', handler: 'work', args: [i] });
    }
    await queue.onIdle();
    await queue.flush();
    const stored: string[] = [];
    for await (const [key] of store.range('jobs')) stored.push(key);
    expect(stored).toEqual(['job-4', 'job-5']);
    expect(await queue.getJob('job-1')).toBeUndefined();
    await expect(queue.waitForJob('job-1')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    expect((await queue.waitForJob('job-5')).result).toBe(5);
  });

  it('after a restart, finished jobs are still answered from the store', async () => {
    const store = new MemoryStore();
    const first = make({ store });
    first.register('work', () => ({ answer: 42 }));
    await first.start();
    await first.enqueue({ id: 'done', name: 'work', handler: 'work' });
    await first.onIdle();
    await crash(first);
    const second = make({ store });
    second.register('work', () => ({ answer: 0 }));
    expect((await second.waitForJob('done')).result).toEqual({ answer: 42 });
    await second.start();
    expect(second.stats().counts.completed).toBe(1);
  });

  it('reports a corrupt stored job, leaves it in place and runs the others', async () => {
    const store = new MemoryStore();
    const first = make({ store });
    first.register('work', () => 'ok');
    await first.enqueue({ id: 'good', name: 'work', handler: 'work' });
    await crash(first);
    await store.batch([
      { type: 'put', collection: 'jobs', key: 'bad', value: { status: 'queued' } },
    ]);

    const second = make({ store });
    second.register('work', () => 'ok');
    const errors: TroupeError[] = [];
    second.on('error', (error) => errors.push(error as TroupeError));
    await second.start();
    expect((await second.waitForJob('good')).result).toBe('ok');
    expect(errors).toHaveLength(1);
    expect(errors[0]?.code).toBe('STORE_CORRUPT');
    expect(errors[0]?.message).toContain('"bad"');
    expect(await store.get('jobs', 'bad')).toEqual({ status: 'queued' });
  });

  it('fails a stored job whose handler is not registered any more, naming the fix', async () => {
    const store = new MemoryStore();
    const first = make({ store });
    first.register('gone', () => 'ok');
    await first.enqueue({ id: 'orphan', name: 'orphan', handler: 'gone', maxRetries: 3 });
    await crash(first);
    const second = make({ store });
    await second.start();
    const result = await second.waitForJob('orphan');
    expect(result.status).toBe('failed');
    expect(result.attempts).toBe(1);
    expect(result.error?.code).toBe('UNKNOWN_HANDLER');
    expect(result.error?.message).toContain('queue.register("gone", fn)');
  });

  it('refuses a durable result that is not plain JSON', async () => {
    const store = new MemoryStore();
    const queue = make({ store });
    queue.register('date', () => new Date(0));
    await queue.start();
    const id = await queue.enqueue({ name: 'date', handler: 'date' });
    const result = await queue.waitForJob(id);
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain('result: a Date is not plain JSON');
  });
});
