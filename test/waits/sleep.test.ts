/**
 * Durable sleep and `notBefore` on a simulated clock: the wake time is data,
 * so a runtime closed mid-sleep and a new one over the same folder resume at
 * the stored time, not from zero.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import type { EngineEvent } from '../../src/index.js';
import { agent, flush } from '../core/helpers.js';
import { durableRuntime, scratchDir, useScratch } from '../durability/helpers.js';

useScratch();

describe('ctx.sleep', () => {
  it('survives a restart and wakes at the stored time', async () => {
    const clock = new SimulatedClock();
    clock.set(10_000);
    const dataDir = await scratchDir();
    const ran: string[] = [];
    const sleeper = agent('sleeper', async (_task, ctx) => {
      await ctx.step('before', () => ran.push('before'));
      await ctx.sleep(60_000);
      ran.push('after');
      return { wokeAt: clock.now() };
    });
    const first = await durableRuntime(dataDir, { clock });
    first.rt.registerAgent(sleeper);
    const sleeping = new Promise<EngineEvent>((resolve) =>
      first.rt.engine.on('task.waiting', resolve),
    );
    const handle = await first.rt.engine.start(
      { name: 'nap', tasks: [{ id: 'nap', agent: 'sleeper' }] },
      { workflowId: 'nap-1' },
    );
    expect(await sleeping).toMatchObject({ kind: 'sleep', deadline: 70_000 });
    clock.increment(30_000);
    await first.rt.engine.flushed();
    await first.rt.close();
    await handle.result.catch(() => undefined);

    const second = await durableRuntime(dataDir, { clock });
    second.rt.registerAgent(sleeper);
    const again = new Promise<EngineEvent>((resolve) =>
      second.rt.engine.on('task.waiting', resolve),
    );
    const resumed = await second.rt.engine.recover('nap-1');
    // The agent runs again up to its sleep, which keeps its first deadline.
    expect(await again).toMatchObject({ kind: 'sleep', deadline: 70_000 });
    expect((await second.rt.engine.getState('nap-1'))?.tasks.nap?.status).toBe('waiting');
    clock.increment(29_999);
    await flush(5);
    expect(ran).toEqual(['before']);
    clock.increment(1);
    const result = await resumed!.result;
    expect(result.tasks.nap?.output).toEqual({ wokeAt: 70_000 });
    expect(ran).toEqual(['before', 'after']);
    expect(result.waits?.[0]).toMatchObject({ kind: 'sleep', status: 'answered' });
  });

  it('sleepUntil a past time returns at once', async () => {
    const clock = new SimulatedClock();
    clock.set(5_000);
    const { rt } = await durableRuntime(false, { clock });
    rt.registerAgent(
      agent('s', async (_t, ctx) => ctx.sleepUntil(new Date(1_000)).then(() => 'ok')),
    );
    const result = await rt.engine.execute({ name: 'past', tasks: [{ id: 's', agent: 's' }] });
    expect(result.tasks.s?.output).toBe('ok');
  });
});

describe('notBefore', () => {
  it('holds a task until its time, across a restart', async () => {
    const clock = new SimulatedClock();
    clock.set(1_000);
    const dataDir = await scratchDir();
    const started: number[] = [];
    const worker = agent('w', () => {
      started.push(clock.now());
      return 'done';
    });
    const first = await durableRuntime(dataDir, { clock });
    first.rt.registerAgent(worker);
    const held = new Promise<EngineEvent>((resolve) => first.rt.engine.on('task.waiting', resolve));
    const handle = await first.rt.engine.start(
      {
        name: 'later',
        tasks: [
          { id: 'now', agent: 'w' },
          { id: 'later', agent: 'w', dependsOn: ['now'], notBefore: 50_000 },
        ],
      },
      { workflowId: 'later-1' },
    );
    await held;
    const state = await first.rt.engine.getState('later-1');
    expect(state?.tasks.later?.status).toBe('waiting');
    expect(state?.waits?.[0]).toMatchObject({ kind: 'sleep', deadline: 50_000 });
    await first.rt.engine.flushed();
    await first.rt.close();
    await handle.result.catch(() => undefined);

    const second = await durableRuntime(dataDir, { clock });
    second.rt.registerAgent(worker);
    const resumed = await second.rt.engine.recover('later-1');
    clock.set(49_999);
    await flush(5);
    expect(started).toEqual([1_000]);
    clock.set(50_000);
    const result = await resumed!.result;
    expect(result.status).toBe('completed');
    expect(started).toEqual([1_000, 50_000]);
  });
});
