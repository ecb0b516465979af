/**
 * Waits answered in one process: an agent's ctx.waitFor, approval and input
 * tasks, parallel waits answered in reverse order, a timeout on a simulated
 * clock, a wrong answer, a signal while paused, and what the run shows while
 * it waits (task status, `task.waiting`, `engine.waiting()`).
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { z } from 'zod';
import type { EngineEvent, TroupeError } from '../../src/index.js';
import { agent, expectTroupeError, flush } from '../core/helpers.js';
import { durableRuntime, scratchDir, useScratch } from '../durability/helpers.js';

useScratch();

/** Resolves when the run emits `task.waiting` for `name`. */
function waitingFor(
  rt: { engine: { on: (t: 'task.waiting', l: (e: EngineEvent) => void) => () => void } },
  name: string,
): Promise<Extract<EngineEvent, { type: 'task.waiting' }>> {
  return new Promise((resolve) => {
    const off = rt.engine.on('task.waiting', (event) => {
      if (event.type === 'task.waiting' && event.name === name) {
        off();
        resolve(event);
      }
    });
  });
}

describe('ctx.waitFor', () => {
  it('waits in an explicit waiting state and continues with the validated answer', async () => {
    const before: string[] = [];
    const { rt } = await durableRuntime(await scratchDir());
    rt.registerAgent(
      agent('asker', async (_task, ctx) => {
        before.push('before');
        const answer = await ctx.waitFor('size', {
          schema: z.object({ size: z.number().int().positive() }),
          prompt: 'How many replicas?',
        });
        return { replicas: answer.size };
      }),
    );
    const waiting = waitingFor(rt, 'size');
    const handle = await rt.engine.start({ name: 'ask', tasks: [{ id: 'ask', agent: 'asker' }] });
    const event = await waiting;
    expect(event).toMatchObject({ taskId: 'ask', kind: 'signal', prompt: 'How many replicas?' });
    expect(event.schema).toMatchObject({ type: 'object', required: ['size'] });

    const state = await rt.engine.getState(handle.workflowId);
    expect(state?.tasks.ask?.status).toBe('waiting');
    expect(state?.waits).toEqual([
      expect.objectContaining({ name: 'size', status: 'waiting', prompt: 'How many replicas?' }),
    ]);
    const listed = await rt.engine.waiting();
    expect(listed).toEqual([
      expect.objectContaining({ workflowId: handle.workflowId, live: true }),
    ]);

    // A wrong answer is refused at the caller; the task keeps waiting.
    const refused = await expectTroupeError(
      () => rt.engine.signal(handle.workflowId, 'size', { size: -1 }),
      'INVALID_SIGNAL',
    );
    expect(refused.context.issues?.[0]).toMatch(/^payload\.size/);
    await expectTroupeError(
      () => rt.engine.signal(handle.workflowId, 'nope', {}),
      'WAIT_NOT_FOUND',
    );
    expect((await rt.engine.getState(handle.workflowId))?.tasks.ask?.status).toBe('waiting');

    await rt.engine.signal(handle.workflowId, 'size', { size: 3 });
    const result = await handle.result;
    expect(result.status).toBe('completed');
    expect(result.tasks.ask?.output).toEqual({ replicas: 3 });
    expect(result.waits).toEqual([
      expect.objectContaining({ name: 'size', status: 'answered', answer: { size: 3 } }),
    ]);
    expect(before).toEqual(['before']);
  });

  it('three parallel waits answered in reverse order, with a concurrency-1 agent', async () => {
    const { rt } = await durableRuntime(await scratchDir());
    rt.registerAgent(
      agent('asker', async (task, ctx) => ({ got: await ctx.waitFor(`q-${task.id}`) }), {
        concurrency: 1,
      }),
    );
    const third = waitingFor(rt, 'q-c');
    const completionOrder: string[] = [];
    rt.engine.on('task.completed', (event) => {
      completionOrder.push(event.taskId);
    });
    const handle = await rt.engine.start({
      name: 'parallel',
      tasks: ['a', 'b', 'c'].map((id) => ({ id, agent: 'asker' })),
    });
    // A waiting attempt gives its agent slot back, so all three reach their wait.
    await third;
    const state = await rt.engine.getState(handle.workflowId);
    expect(Object.values(state!.tasks).map((t) => t.status)).toEqual([
      'waiting',
      'waiting',
      'waiting',
    ]);
    for (const id of ['c', 'b', 'a']) await rt.engine.signal(handle.workflowId, `q-${id}`, id);
    const result = await handle.result;
    expect(result.status).toBe('completed');
    expect(result.tasks.a?.output).toEqual({ got: 'a' });
    expect(result.tasks.c?.output).toEqual({ got: 'c' });
    // Completion events, not millisecond timestamps: two tasks can finish in the same millisecond.
    expect(completionOrder).toEqual(['c', 'b', 'a']);
  });

  it('a timeout (deadline in data, simulated clock) ends the wait with WAIT_TIMEOUT the agent can handle', async () => {
    const clock = new SimulatedClock();
    clock.set(1_000);
    const { rt } = await durableRuntime(await scratchDir(), { clock });
    rt.registerAgent(
      agent('asker', async (_task, ctx) => {
        try {
          return await ctx.waitFor('ok', { timeoutMs: 60_000 });
        } catch (error) {
          return { fallback: (error as TroupeError).code };
        }
      }),
    );
    const waiting = waitingFor(rt, 'ok');
    const handle = await rt.engine.start({ name: 'timeout', tasks: [{ id: 't', agent: 'asker' }] });
    expect((await waiting).deadline).toBe(61_000);
    clock.increment(59_999);
    await flush();
    expect((await rt.engine.getState(handle.workflowId))?.tasks.t?.status).toBe('waiting');
    clock.increment(1);
    const result = await handle.result;
    expect(result.tasks.t?.output).toEqual({ fallback: 'WAIT_TIMEOUT' });
    expect(result.waits?.[0]?.status).toBe('timed_out');
  });

  it('a signal while the run is paused is kept and applied on resume', async () => {
    const { rt } = await durableRuntime(await scratchDir());
    rt.registerAgent(agent('asker', async (_task, ctx) => ctx.waitFor('go')));
    const waiting = waitingFor(rt, 'go');
    const handle = await rt.engine.start({
      name: 'pause',
      tasks: [
        { id: 'w', agent: 'asker' },
        { id: 'after', agent: 'asker', kind: 'approval', dependsOn: ['w'] },
      ],
    });
    await waiting;
    rt.engine.pause(handle.workflowId);
    await rt.engine.signal(handle.workflowId, 'go', 'yes');
    await flush();
    const paused = await rt.engine.getState(handle.workflowId);
    expect(paused?.status).toBe('paused');
    expect(paused?.tasks.w?.status).toBe('waiting');
    const approval = waitingFor(rt, 'after');
    rt.engine.resume(handle.workflowId);
    await approval;
    expect((await rt.engine.getState(handle.workflowId))?.tasks.w?.output).toBe('yes');
    await rt.engine.signal(handle.workflowId, 'after', { approved: true, by: 'ops' });
    const result = await handle.result;
    expect(result.status).toBe('completed');
    expect(result.tasks.after?.output).toEqual({ approved: true, by: 'ops' });
  });
});

describe('approval and input tasks', () => {
  it('an approval gates a deploy; a rejection fails the run with APPROVAL_REJECTED', async () => {
    const deployed: string[] = [];
    const { rt } = await durableRuntime(await scratchDir());
    rt.registerAgent(agent('ops', (task) => deployed.push(task.id)));
    const definition = {
      name: 'deploy',
      tasks: [
        { id: 'approve', kind: 'approval' as const, wait: { prompt: 'Deploy v2 to prod?' } },
        { id: 'deploy', agent: 'ops', dependsOn: ['approve'] },
      ],
    };
    const waiting = waitingFor(rt, 'approve');
    const rejected = await rt.engine.start(definition);
    expect((await waiting).prompt).toBe('Deploy v2 to prod?');
    await expectTroupeError(
      () => rt.engine.signal(rejected.workflowId, 'approve', { approved: 'yes' }),
      'INVALID_SIGNAL',
    );
    await rt.engine.signal(rejected.workflowId, 'approve', { approved: false, reason: 'freeze' });
    const result = await rejected.result;
    expect(result.status).toBe('failed');
    expect(result.tasks.approve?.error?.code).toBe('APPROVAL_REJECTED');
    expect(result.tasks.approve?.error?.message).toMatch(/freeze/);
    expect(deployed).toEqual([]);
  });

  it('an input task completes with the answer, checked against its JSON Schema', async () => {
    const { rt } = await durableRuntime(false);
    rt.registerAgent(agent('ops', (_task, ctx) => ctx.dependencies.region));
    const waiting = waitingFor(rt, 'region');
    const handle = await rt.engine.start({
      name: 'input',
      tasks: [
        {
          id: 'region',
          kind: 'input',
          wait: {
            prompt: 'Which region?',
            schema: { type: 'string', enum: ['eu', 'us'] },
          },
        },
        { id: 'use', agent: 'ops', dependsOn: ['region'] },
      ],
    });
    await waiting;
    await expectTroupeError(
      () => rt.engine.signal(handle.workflowId, 'region', 'mars'),
      'INVALID_SIGNAL',
    );
    await rt.engine.signal(handle.workflowId, 'region', 'eu');
    const result = await handle.result;
    expect(result.tasks.use?.output).toBe('eu');
  });

  it('cancel ends waiting tasks as cancelled', async () => {
    const { rt } = await durableRuntime(false);
    rt.registerAgent(agent('asker', async (_task, ctx) => ctx.waitFor('never')));
    const waiting = waitingFor(rt, 'never');
    const handle = await rt.engine.start({
      name: 'cancel',
      tasks: [
        { id: 'a', agent: 'asker' },
        { id: 'b', kind: 'approval' },
      ],
    });
    await waiting;
    rt.engine.cancel(handle.workflowId, 'no longer needed');
    const result = await handle.result;
    expect(result.status).toBe('cancelled');
    expect(result.tasks.a?.status).toBe('cancelled');
    expect(result.tasks.b?.status).toBe('cancelled');
    expect(result.waits?.every((w) => w.status === 'cancelled')).toBe(true);
  });
});

it('a wait name must be unique within a run', async () => {
  const { rt } = await durableRuntime(false);
  rt.registerAgent(agent('asker', async (_task, ctx) => ctx.waitFor('same')));
  const handle = await rt.engine.start({
    name: 'dupe',
    tasks: [
      { id: 'a', agent: 'asker' },
      { id: 'b', agent: 'asker', kind: 'agent' },
    ],
  });
  await flush(10);
  const state = await rt.engine.getState(handle.workflowId);
  const messages = Object.values(state!.tasks).map((t) => t.error?.message ?? '');
  expect(
    messages.some((m) => /a name task "(a|b)" already uses .* unique within a run/.test(m)),
  ).toBe(true);
  expect((await handle.result).status).toBe('failed');
});
