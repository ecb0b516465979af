/**
 * ORCH-007: the saga pattern. When a task fails for good, the compensation
 * handlers of the completed tasks run in reverse completion order, each with
 * retries; cancel with `compensate: true` rolls back too; a crash while
 * compensating resumes compensating without redoing journaled steps.
 */
import { describe, expect, it } from 'vitest';
import {
  type CompensationContext,
  type CompensationHandler,
  defineAgent,
  type EngineEvent,
  EventType,
  type Runtime,
  type WorkflowDefinitionInput,
} from '../../src/index.js';
import {
  deferred,
  durableProgress,
  durableRuntime,
  Gates,
  nextEvent,
  readStoredRun,
  recordEvents,
  scratchDir,
  useScratch,
} from './helpers.js';

useScratch();

/** a, b and c run in parallel; `boom` needs all three and fails for good. */
const saga: WorkflowDefinitionInput = {
  name: 'order-saga',
  tasks: [
    { id: 'a', agent: 'worker' },
    { id: 'b', agent: 'worker' },
    { id: 'c', agent: 'worker' },
    { id: 'boom', agent: 'failer', dependsOn: ['a', 'b', 'c'] },
  ],
};

function sagaAgents(gates: Gates) {
  return [
    defineAgent({
      role: 'worker',
      concurrency: 10,
      run: async (task) => {
        await gates.wait(task.id);
        return { made: task.id };
      },
    }),
    defineAgent({
      role: 'failer',
      run: () => {
        throw new Error('payment declined');
      },
    }),
  ];
}

/** Lets the gated tasks complete one at a time, in `order`. */
async function completeInOrder(rt: Runtime, gates: Gates, order: string[]): Promise<void> {
  for (const id of order) {
    await gates.arrived(id);
    const completed = nextEvent(rt, (e) => e.type === 'task.completed' && e.taskId === id);
    gates.open(id);
    await completed;
  }
}

interface Call {
  taskId: string;
  attempt: number;
  key: string;
  output: unknown;
}

/** Handlers for a, b, c that record each call; `behaviour` decides per call whether it fails. */
function handlers(
  calls: Call[],
  behaviour: (ctx: CompensationContext) => void | Promise<void> = () => undefined,
): Record<string, CompensationHandler> {
  const handler: CompensationHandler = async (ctx) => {
    calls.push({
      taskId: ctx.taskId,
      attempt: ctx.attempt,
      key: ctx.idempotencyKey,
      output: ctx.output,
    });
    await behaviour(ctx);
  };
  return { a: handler, b: handler, c: handler };
}

const compensationEvents = (events: EngineEvent[]) =>
  events.filter((e) => e.type.startsWith('compensation.'));

describe('ORCH-007 saga pattern', () => {
  it('ORCH-007 compensates completed tasks in reverse completion order, retrying a handler that fails once, and ends compensated', async () => {
    const gates = new Gates();
    const { rt } = await durableRuntime(await scratchDir(), { agents: sagaAgents(gates) });
    const events = recordEvents(rt);
    const calls: Call[] = [];
    let cFailures = 0;
    const handle = await rt.engine.startWithSagaPattern(
      saga,
      handlers(calls, (ctx) => {
        if (ctx.taskId === 'c' && cFailures++ === 0) throw new Error('undo c: try again');
      }),
      { workflowId: 'saga-ok' },
    );

    // Completion order b, c, a: the rollback must undo a, then c, then b.
    await completeInOrder(rt, gates, ['b', 'c', 'a']);
    const result = await handle.result;

    expect(result.status).toBe('compensated');
    expect(result.success).toBe(false);
    expect(result.tasks.boom?.status).toBe('failed');
    expect(result.error?.message).toContain('payment declined');
    expect(calls.map((c) => `${c.taskId}#${c.attempt}`)).toEqual(['a#1', 'c#1', 'c#2', 'b#1']);
    expect(calls[0]).toEqual({
      taskId: 'a',
      attempt: 1,
      key: 'saga-ok:a:compensate',
      output: { made: 'a' },
    });
    expect(result.compensation).toEqual({ compensated: ['a', 'c', 'b'], failed: [] });

    expect(compensationEvents(events)).toEqual([
      expect.objectContaining({ type: EventType.COMPENSATION_STARTED, taskIds: ['a', 'c', 'b'] }),
      expect.objectContaining({
        type: EventType.COMPENSATION_STEP,
        taskId: 'a',
        status: 'completed',
      }),
      expect.objectContaining({
        type: EventType.COMPENSATION_STEP,
        taskId: 'c',
        status: 'retrying',
        attempt: 1,
        error: expect.objectContaining({ message: 'undo c: try again' }),
      }),
      expect.objectContaining({
        type: EventType.COMPENSATION_STEP,
        taskId: 'c',
        status: 'completed',
        attempt: 2,
      }),
      expect.objectContaining({
        type: EventType.COMPENSATION_STEP,
        taskId: 'b',
        status: 'completed',
      }),
      expect.objectContaining({
        type: EventType.COMPENSATION_COMPLETED,
        compensated: ['a', 'c', 'b'],
      }),
    ]);
    // The rollback starts after the failure and the run ends after it.
    const types = events.map((e) => e.type);
    expect(types.indexOf(EventType.TASK_FAILED)).toBeLessThan(
      types.indexOf(EventType.COMPENSATION_STARTED),
    );
    expect(types.indexOf(EventType.COMPENSATION_COMPLETED)).toBeLessThan(
      types.indexOf(EventType.WORKFLOW_FAILED),
    );
    const stored = (await rt.engine.list()).find((r) => r.workflowId === 'saga-ok');
    expect(stored?.status).toBe('compensated');
  });

  it('ORCH-007 a handler that fails for good ends compensation_failed, listing it, and the other handlers still run', async () => {
    const gates = new Gates();
    const { rt } = await durableRuntime(await scratchDir(), { agents: sagaAgents(gates) });
    const events = recordEvents(rt);
    const calls: Call[] = [];
    const handle = await rt.engine.startWithSagaPattern(
      saga,
      handlers(calls, (ctx) => {
        if (ctx.taskId === 'c') throw new Error(`undo c broken (attempt ${ctx.attempt})`);
      }),
      { workflowId: 'saga-broken' },
    );
    await completeInOrder(rt, gates, ['a', 'b', 'c']);
    const result = await handle.result;

    expect(result.status).toBe('compensation_failed');
    // c is tried three times (COMPENSATION_RETRY.maxAttempts), then b and a still run.
    expect(calls.map((c) => `${c.taskId}#${c.attempt}`)).toEqual([
      'c#1',
      'c#2',
      'c#3',
      'b#1',
      'a#1',
    ]);
    expect(result.compensation).toEqual({
      compensated: ['b', 'a'],
      failed: [
        {
          taskId: 'c',
          error: expect.objectContaining({ message: 'undo c broken (attempt 3)' }),
        },
      ],
    });
    const failed = events.find((e) => e.type === EventType.COMPENSATION_FAILED);
    expect(failed).toEqual(
      expect.objectContaining({
        failed: [expect.objectContaining({ taskId: 'c' })],
      }),
    );
    expect(events.some((e) => e.type === EventType.COMPENSATION_COMPLETED)).toBe(false);
    expect(
      events
        .filter((e) => e.type === EventType.COMPENSATION_STEP)
        .map((e) => (e.type === 'compensation.step' ? `${e.taskId}:${e.status}` : '')),
    ).toEqual(['c:retrying', 'c:retrying', 'c:failed', 'b:completed', 'a:completed']);
  });

  it('ORCH-007 cancel with compensate: true aborts in-flight work and compensates what completed', async () => {
    const gates = new Gates();
    const aborted: string[] = [];
    const { rt } = await durableRuntime(await scratchDir(), {
      agents: [
        defineAgent({
          role: 'worker',
          concurrency: 10,
          run: async (task, ctx) => {
            ctx.signal.addEventListener('abort', () => aborted.push(task.id));
            await gates.wait(task.id);
            return { made: task.id };
          },
        }),
      ],
    });
    const events = recordEvents(rt);
    const calls: Call[] = [];
    const handle = await rt.engine.startWithSagaPattern(
      {
        name: 'order-saga',
        tasks: [
          { id: 'a', agent: 'worker' },
          { id: 'b', agent: 'worker', dependsOn: ['a'] },
          { id: 'c', agent: 'worker', dependsOn: ['b'] },
        ],
      },
      handlers(calls),
      { workflowId: 'saga-cancel' },
    );
    await completeInOrder(rt, gates, ['a', 'b']);
    await gates.arrived('c');
    rt.engine.cancel('saga-cancel', { reason: 'customer changed their mind', compensate: true });
    const result = await handle.result;

    expect(aborted).toEqual(['c']);
    expect(calls.map((c) => c.taskId)).toEqual(['b', 'a']);
    expect(result.status).toBe('cancelled');
    expect(result.tasks.c?.status).toBe('cancelled');
    expect(result.error?.message).toBe('customer changed their mind');
    expect(result.compensation).toEqual({ compensated: ['b', 'a'], failed: [] });
    expect(compensationEvents(events).map((e) => e.type)).toEqual([
      EventType.COMPENSATION_STARTED,
      EventType.COMPENSATION_STEP,
      EventType.COMPENSATION_STEP,
      EventType.COMPENSATION_COMPLETED,
    ]);
    expect(events.some((e) => e.type === EventType.WORKFLOW_CANCELLED)).toBe(true);
  });

  it('ORCH-007 cancel without compensate leaves completed tasks alone', async () => {
    const gates = new Gates();
    const { rt } = await durableRuntime(await scratchDir(), { agents: sagaAgents(gates) });
    const calls: Call[] = [];
    const handle = await rt.engine.startWithSagaPattern(saga, handlers(calls), {
      workflowId: 'saga-plain-cancel',
    });
    await completeInOrder(rt, gates, ['a']);
    rt.engine.cancel('saga-plain-cancel');
    const result = await handle.result;
    expect(result.status).toBe('cancelled');
    expect(calls).toEqual([]);
    expect(result.compensation).toBeUndefined();
  });

  it('ORCH-007 a runtime closed while a failed saga waits for in-flight work: the work is re-run, then compensated', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const definition: WorkflowDefinitionInput = {
      name: 'order-saga',
      tasks: [
        { id: 'a', agent: 'worker' },
        { id: 'boom', agent: 'failer' },
      ],
    };
    const first = await durableRuntime(dataDir, { agents: sagaAgents(gates) });
    const calls: Call[] = [];
    const failed = nextEvent(first.rt, (e) => e.type === 'task.failed');
    await first.rt.engine.startWithSagaPattern(definition, handlers(calls), {
      workflowId: 'saga-failing',
    });
    // boom failed for good while a runs: the run is failing, waiting for a.
    await Promise.all([failed, gates.arrived('a')]);
    await first.rt.engine.flushed();
    await first.rt.close();

    const again = new Gates();
    const second = await durableRuntime(dataDir, { agents: sagaAgents(again) });
    second.rt.engine.registerCompensations('order-saga', handlers(calls));
    const resumed = second.rt.engine.resumeFromCheckpoint('saga-failing');
    // a was in flight: it runs again (at-least-once), and once it completes it is undone.
    await again.arrived('a');
    again.open('a');
    const result = await resumed;
    expect(result?.status).toBe('compensated');
    expect(result?.tasks.a?.status).toBe('completed');
    expect(result?.compensation).toEqual({ compensated: ['a'], failed: [] });
    expect(calls.map((c) => c.taskId)).toEqual(['a']);
  });

  it('ORCH-007 a runtime closed while compensating resumes compensating in a new runtime, without redoing journaled steps', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const first = await durableRuntime(dataDir, { agents: sagaAgents(gates) });
    const calls: Call[] = [];
    // c fails once (a retry timer), succeeds on its retry; then b hangs: the
    // runtime closes with b's compensation in flight.
    const bStarted = deferred();
    const firstHandlers = handlers(calls, async (ctx) => {
      if (ctx.taskId === 'c' && ctx.attempt === 1) throw new Error('undo c: try again');
      if (ctx.taskId === 'b') {
        bStarted.resolve();
        await new Promise(() => undefined);
      }
    });
    await first.rt.engine.startWithSagaPattern(saga, firstHandlers, { workflowId: 'saga-crash' });
    await completeInOrder(first.rt, gates, ['b', 'c', 'a']);
    await bStarted.promise;
    await first.rt.engine.flushed();
    await first.rt.close();

    const stored = await readStoredRun(dataDir, 'saga-crash');
    expect([...durableProgress(stored).compensated].sort()).toEqual(['a', 'c']);
    expect(calls.map((c) => `${c.taskId}#${c.attempt}`)).toEqual(['a#1', 'c#1', 'c#2', 'b#1']);

    const second = await durableRuntime(dataDir, { agents: sagaAgents(new Gates()) });
    const resumed: Call[] = [];
    second.rt.engine.registerCompensations('order-saga', handlers(resumed));
    const result = await second.rt.engine.resumeFromCheckpoint('saga-crash');

    expect(resumed.map((c) => `${c.taskId}#${c.attempt}`)).toEqual(['b#1']);
    expect(result?.status).toBe('compensated');
    expect(result?.compensation).toEqual({ compensated: ['a', 'c', 'b'], failed: [] });
  });
});
