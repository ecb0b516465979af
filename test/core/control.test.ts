/** Cancel, pause and resume; run events and their listeners; bad agent output. */

import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime, type Runtime, TroupeError, type WorkflowEmitted } from '../../src/index.js';
import { agent, expectTroupeError, flush, Gates } from './helpers.js';

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

/** Waits until its signal aborts, then rejects with the abort reason. */
function untilAborted(signal: AbortSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    signal.addEventListener('abort', () => reject(signal.reason));
  });
}

describe('cancel', () => {
  it('aborts in-flight work through the signal and ends the run cancelled', async () => {
    const signals: Record<string, AbortSignal> = {};
    const gates = new Gates();
    const ran: string[] = [];
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('long', (task, ctx) => {
          signals[task.id] = ctx.signal;
          gates.wait(task.id);
          return untilAborted(ctx.signal);
        }),
        agent(
          'single',
          (task, ctx) => {
            ran.push(task.id);
            signals[task.id] = ctx.signal;
            gates.wait(task.id);
            return untilAborted(ctx.signal);
          },
          { concurrency: 1 },
        ),
        agent('next', (task) => {
          ran.push(task.id);
          return 'never';
        }),
      ],
    });
    const events: string[] = [];
    rt.engine.on('*', (event) => {
      if (event.type.startsWith('workflow.')) events.push(event.type);
    });
    const handle = await rt.engine.start({
      name: 'cancellable',
      tasks: [
        { id: 'a', agent: 'long' },
        { id: 'q1', agent: 'single' },
        { id: 'q2', agent: 'single' }, // waits in the agent's mailbox
        { id: 'after', agent: 'next', dependsOn: ['a'] },
      ],
    });
    await gates.arrived('a', 'q1');
    rt.engine.cancel(handle.workflowId, 'user changed their mind');
    const result = await handle.result;

    expect(result.status).toBe('cancelled');
    expect(result.success).toBe(false);
    expect(result.error).toEqual({ name: 'CancelledError', message: 'user changed their mind' });
    for (const id of ['a', 'q1']) {
      expect(signals[id]!.aborted).toBe(true);
      const reason = signals[id]!.reason as TroupeError;
      expect(reason).toBeInstanceOf(TroupeError);
      expect(reason.code).toBe('TASK_ABORTED');
      expect(reason.message).toContain('user changed their mind');
    }
    // Aborted, queued and never-started tasks all end cancelled, not failed.
    expect(result.tasks.a).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect(result.tasks.q1).toMatchObject({ status: 'cancelled', attempts: 1 });
    expect(result.tasks.q2!.status).toBe('cancelled');
    expect(result.tasks.after).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(ran).toEqual(['q1']);
    expect(events).toEqual(['workflow.started', 'workflow.cancelled']);
    // The agents are free again.
    expect(rt.actor.system.get('agent:single')!.getSnapshot().value).toBe('idle');
    // The run has ended: controlling it now is an error that says so.
    await expectTroupeError(() => rt!.engine.cancel(handle.workflowId), 'WORKFLOW_FINISHED');
    expect((await rt.engine.getState(handle.workflowId))!.status).toBe('cancelled');
  });

  it('ends the run even when an agent ignores its signal', async () => {
    const gates = new Gates();
    rt = await createRuntime({
      dataDir: false,
      agents: [agent('deaf', () => gates.wait('deaf'))],
    });
    const handle = await rt.engine.start({ name: 'deaf', tasks: [{ id: 'x', agent: 'deaf' }] });
    await gates.arrived('deaf');
    rt.engine.cancel(handle.workflowId);
    const result = await handle.result;
    expect(result.status).toBe('cancelled');
    expect(result.error!.message).toBe('cancelled by request');
    gates.open('deaf', 'too late'); // its late result changes nothing
    await flush();
    expect(result.tasks.x!.output).toBeUndefined();
  });
});

describe('pause and resume', () => {
  it('starts nothing new while paused, lets in-flight work finish, and continues on resume', async () => {
    const gates = new Gates();
    rt = await createRuntime({
      dataDir: false,
      agents: [agent('step', (task) => gates.wait(task.id))],
    });
    const events: string[] = [];
    rt.engine.on('*', (event) => {
      if (event.type.startsWith('workflow.')) events.push(event.type);
    });
    const handle = await rt.engine.start({
      name: 'pausable',
      tasks: [
        { id: 'a', agent: 'step' },
        { id: 'b', agent: 'step' },
        { id: 'c', agent: 'step', dependsOn: ['a'] },
      ],
    });
    const id = handle.workflowId;
    await gates.arrived('a', 'b');
    rt.engine.pause(id);
    expect((await rt.engine.getState(id))!.status).toBe('paused');

    gates.open('a', 'A');
    await flush();
    let state = await rt.engine.getState(id);
    expect(state!.tasks.a).toMatchObject({ status: 'completed', output: 'A' });
    expect(state!.tasks.c!.status).toBe('pending');
    expect(gates.has('c')).toBe(false);

    gates.open('b', 'B');
    await flush();
    state = await rt.engine.getState(id);
    expect(state!.status).toBe('paused');
    expect(state!.tasks.b!.status).toBe('completed');
    expect(gates.has('c')).toBe(false);

    rt.engine.resume(id);
    await gates.arrived('c');
    gates.open('c', 'C');
    const result = await handle.result;
    expect(result.status).toBe('completed');
    expect(gates.order).toEqual(['a', 'b', 'c']);
    expect(events).toEqual([
      'workflow.started',
      'workflow.paused',
      'workflow.resumed',
      'workflow.completed',
    ]);
  });

  it('holds a retry whose backoff elapsed while paused until resume', async () => {
    const clock = new SimulatedClock();
    const attempts: number[] = [];
    rt = await createRuntime({
      dataDir: false,
      clock,
      agents: [
        agent('flaky', (_task, ctx) => {
          attempts.push(ctx.attempt);
          if (ctx.attempt === 1) throw new Error('once');
          return 'ok';
        }),
      ],
    });
    const handle = await rt.engine.start({
      name: 'paused-retry',
      tasks: [{ id: 'f', agent: 'flaky', retry: { maxAttempts: 2, initialDelayMs: 100 } }],
    });
    await flush();
    rt.engine.pause(handle.workflowId);
    clock.increment(1000);
    await flush();
    expect(attempts).toEqual([1]);
    rt.engine.resume(handle.workflowId);
    const result = await handle.result;
    expect(attempts).toEqual([1, 2]);
    expect(result.tasks.f).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('can cancel a paused run', async () => {
    const gates = new Gates();
    rt = await createRuntime({
      dataDir: false,
      agents: [agent('step', (task) => gates.wait(task.id))],
    });
    const handle = await rt.engine.start({
      name: 'pause-then-cancel',
      tasks: [
        { id: 'a', agent: 'step' },
        { id: 'b', agent: 'step', dependsOn: ['a'] },
      ],
    });
    await gates.arrived('a');
    rt.engine.pause(handle.workflowId);
    gates.open('a');
    await flush();
    rt.engine.cancel(handle.workflowId, 'stop');
    const result = await handle.result;
    expect(result.status).toBe('cancelled');
    expect(result.tasks.a!.status).toBe('completed');
    expect(result.tasks.b!.status).toBe('cancelled');
    expect(gates.has('b')).toBe(false);
  });

  it('rejects control calls for unknown runs', async () => {
    rt = await createRuntime({ dataDir: false });
    for (const call of [
      () => rt!.engine.pause('nope'),
      () => rt!.engine.resume('nope'),
      () => rt!.engine.cancel('nope'),
    ]) {
      const error = await expectTroupeError(call, 'WORKFLOW_NOT_FOUND');
      expect(error.message).toContain('"nope"');
    }
    expect(await rt.engine.getState('nope')).toBeUndefined();
  });
});

describe('events', () => {
  it('reports the run through typed listeners, in order', async () => {
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('step', (task, ctx) => {
          ctx.progress(0.5, `half of ${task.id}`);
          return { id: task.id };
        }),
      ],
    });
    const completed: Extract<WorkflowEmitted, { type: 'task.completed' }>[] = [];
    const all: string[] = [];
    rt.engine.on('task.completed', (event) => {
      completed.push(event);
    });
    rt.engine.registerEventHandler('*', (event) => {
      all.push('taskId' in event ? `${event.type}:${event.taskId}` : event.type);
    });
    const off = rt.engine.on('workflow.completed', () => {
      throw new Error('unsubscribed listeners are not called');
    });
    off();

    const result = await rt.engine.execute(
      {
        name: 'events',
        tasks: [
          { id: 'a', agent: 'step' },
          { id: 'b', agent: 'step', dependsOn: ['a'] },
        ],
      },
      { workflowId: 'wf-events' },
    );
    expect(result.status).toBe('completed');
    expect(
      completed.map(({ workflowId, taskId, output }) => ({ workflowId, taskId, output })),
    ).toEqual([
      { workflowId: 'wf-events', taskId: 'a', output: { id: 'a' } },
      { workflowId: 'wf-events', taskId: 'b', output: { id: 'b' } },
    ]);
    expect(all).toEqual([
      'workflow.started',
      'task.started:a',
      'task.progress:a',
      'task.completed:a',
      'task.started:b',
      'task.progress:b',
      'task.completed:b',
      'workflow.completed',
    ]);
    expect(result.tasks.a).toMatchObject({ progress: 1, progressMessage: 'half of a' });
  });

  it('keeps running when a listener throws or rejects, and reports it to onError', async () => {
    const errors: [string, string][] = [];
    rt = await createRuntime({
      dataDir: false,
      onError: (error, context) => errors.push([context, (error as Error).message]),
      agents: [agent('step', (task) => task.id)],
    });
    rt.engine.on('task.completed', () => {
      throw new Error('listener bug');
    });
    rt.engine.on('task.completed', async () => {
      throw new Error('async listener bug');
    });
    const seen: string[] = [];
    rt.engine.on('task.completed', (event) => {
      seen.push(event.taskId);
    });
    const result = await rt.engine.execute({
      name: 'listener-errors',
      tasks: [
        { id: 'a', agent: 'step' },
        { id: 'b', agent: 'step', dependsOn: ['a'] },
      ],
    });
    await flush();
    expect(result.status).toBe('completed');
    expect(seen).toEqual(['a', 'b']);
    expect(errors).toEqual(
      expect.arrayContaining([
        ['listener of task.completed', 'listener bug'],
        ['listener of task.completed', 'async listener bug'],
      ]),
    );
    expect(errors).toHaveLength(4);
  });
});

describe('agent output and errors', () => {
  const circular = (): unknown => {
    const value: Record<string, unknown> = { name: 'loop' };
    value.self = value;
    return value;
  };
  const cases: [string, () => unknown, string][] = [
    ['a circular object', circular, 'output.self: a circular reference is not JSON'],
    ['a BigInt', () => ({ total: 10n }), 'output.total: a bigint is not JSON'],
    ['a function', () => () => 1, 'output: a function is not JSON'],
  ];

  it.each(cases)(
    'fails the task, without retrying, when the output is %s',
    async (_name, make, reason) => {
      rt = await createRuntime({ dataDir: false, agents: [agent('bad', () => make())] });
      const result = await rt.engine.execute({
        name: 'bad-output',
        tasks: [{ id: 'out', agent: 'bad', retry: { maxAttempts: 3, initialDelayMs: 0 } }],
      });
      expect(result.status).toBe('failed');
      const task = result.tasks.out!;
      expect(task).toMatchObject({ status: 'failed', attempts: 1 });
      expect(task.output).toBeUndefined();
      expect(task.error!.code).toBe('INVALID_VALUE');
      expect(task.error!.message).toContain('Agent "bad" in task "out"');
      expect(task.error!.message).toContain(reason);
    },
  );

  it('records what an agent threw, including values that are not Errors', async () => {
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('throws', (task) => {
          if (task.id === 'string') throw 'plain string';
          throw new TypeError('typed');
        }),
      ],
    });
    const result = await rt.engine.execute({
      name: 'throws',
      tasks: [
        { id: 'string', agent: 'throws' },
        { id: 'typed', agent: 'throws' },
      ],
    });
    expect(result.status).toBe('failed');
    expect(result.tasks.string!.error).toEqual({ name: 'NonError', message: 'plain string' });
    expect(result.tasks.typed!.error).toMatchObject({ name: 'TypeError', message: 'typed' });
  });
});
