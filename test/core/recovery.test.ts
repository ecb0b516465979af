/**
 * Retries, backoff and timeouts. Time is XState's SimulatedClock, injected
 * into the runtime: backoff and timeouts fire only when the test advances it.
 */

import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import {
  createRuntime,
  type Runtime,
  TroupeError,
  type WorkflowDefinitionInput,
  type WorkflowEmitted,
} from '../../src/index.js';
import { agent, flush, Gates } from './helpers.js';

const T0 = 1_700_000_000_000;

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

function simulatedClock(): SimulatedClock {
  const clock = new SimulatedClock();
  clock.set(T0);
  return clock;
}

/** Advances the clock by `ms` and lets the runtime react. */
async function advance(clock: SimulatedClock, ms: number): Promise<void> {
  clock.increment(ms);
  await flush();
}

function collect<K extends WorkflowEmitted['type']>(runtime: Runtime, type: K) {
  const events: Extract<WorkflowEmitted, { type: K }>[] = [];
  runtime.engine.on(type, (event) => {
    events.push(event as Extract<WorkflowEmitted, { type: K }>);
  });
  return events;
}

interface Attempt {
  attempt: number;
  key: string;
  at: number;
}

/** An agent `flaky` that fails its first `failures` attempts, and an agent `ok`. */
async function flakyRuntime(clock: SimulatedClock, failures: number) {
  const attempts: Attempt[] = [];
  const downstream: string[] = [];
  rt = await createRuntime({
    dataDir: false,
    clock,
    agents: [
      agent('flaky', (_task, ctx) => {
        attempts.push({ attempt: ctx.attempt, key: ctx.idempotencyKey, at: clock.now() });
        if (ctx.attempt <= failures) throw new Error(`boom ${ctx.attempt}`);
        return { ok: true, attempt: ctx.attempt };
      }),
      agent('ok', (task) => {
        downstream.push(task.id);
        return 'done';
      }),
    ],
  });
  return { rt, attempts, downstream };
}

const retryWorkflow = (maxAttempts: number): WorkflowDefinitionInput => ({
  name: 'retry',
  tasks: [
    {
      id: 'flaky',
      agent: 'flaky',
      retry: { maxAttempts, initialDelayMs: 1000, factor: 2, jitter: 0 },
    },
    { id: 'after', agent: 'ok', dependsOn: ['flaky'] },
  ],
});

describe('ORCH-005 error recovery', () => {
  it('ORCH-005 retries a failing task with exponential backoff on the injected clock until it succeeds', async () => {
    const clock = simulatedClock();
    const { rt, attempts, downstream } = await flakyRuntime(clock, 2);
    const retrying = collect(rt, 'task.retrying');
    const handle = await rt.engine.start(retryWorkflow(3), { workflowId: 'wf-retry' });

    await flush();
    expect(attempts.map((a) => a.attempt)).toEqual([1]);
    expect(retrying).toEqual([
      expect.objectContaining({
        taskId: 'flaky',
        attempt: 1,
        retryAt: T0 + 1000,
        error: expect.objectContaining({ message: 'boom 1' }),
      }),
    ]);
    const waiting = await rt.engine.getState('wf-retry');
    expect(waiting!.tasks.flaky).toMatchObject({ status: 'retrying', attempts: 1 });

    // The retry does not start a millisecond before its backoff has elapsed.
    await advance(clock, 999);
    expect(attempts).toHaveLength(1);
    await advance(clock, 1);
    expect(attempts.map((a) => a.at)).toEqual([T0, T0 + 1000]);
    // Second backoff doubles (factor 2).
    expect(retrying[1]).toMatchObject({ attempt: 2, retryAt: T0 + 3000 });
    await advance(clock, 1999);
    expect(attempts).toHaveLength(2);
    expect(downstream).toEqual([]);
    await advance(clock, 1);

    const result = await handle.result;
    expect(result.status).toBe('completed');
    expect(result.tasks.flaky).toMatchObject({
      status: 'completed',
      attempts: 3,
      output: { ok: true, attempt: 3 },
      startedAt: T0,
      finishedAt: T0 + 3000,
      // The last failed attempt's error stays for diagnosis.
      error: expect.objectContaining({ message: 'boom 2' }),
    });
    expect(attempts.map((a) => a.at)).toEqual([T0, T0 + 1000, T0 + 3000]);
    // The same idempotency key on every attempt.
    expect(new Set(attempts.map((a) => a.key))).toEqual(new Set(['wf-retry:flaky']));
    expect(downstream).toEqual(['after']);
    expect(result.totalExecutionTime).toBe(3000);
  });

  it('ORCH-005 fails the workflow with the error when the attempts run out', async () => {
    const clock = simulatedClock();
    const { rt, attempts, downstream } = await flakyRuntime(clock, 2);
    const failed = collect(rt, 'workflow.failed');
    const handle = await rt.engine.start(retryWorkflow(2), { workflowId: 'wf-give-up' });
    await flush(); // attempt 1 fails at T0
    await advance(clock, 1000);

    const result = await handle.result;
    expect(attempts.map((a) => a.attempt)).toEqual([1, 2]);
    expect(result.status).toBe('failed');
    expect(result.success).toBe(false);
    expect(result.error?.message).toBe('task "flaky" failed: boom 2');
    expect(result.tasks.flaky).toMatchObject({
      status: 'failed',
      attempts: 2,
      error: expect.objectContaining({ name: 'Error', message: 'boom 2' }),
    });
    // The dependent never ran.
    expect(result.tasks.after).toMatchObject({ status: 'cancelled', attempts: 0 });
    expect(downstream).toEqual([]);
    expect(failed).toEqual([
      expect.objectContaining({ workflowId: 'wf-give-up', taskId: 'flaky' }),
    ]);
  });

  it('ORCH-005 takes retry settings from the workflow defaults, a task overriding them', async () => {
    const clock = simulatedClock();
    rt = await createRuntime({
      dataDir: false,
      clock,
      agents: [
        agent('flaky', (_task, ctx) => {
          if (ctx.attempt === 1) throw new Error('once');
          return ctx.attempt;
        }),
      ],
    });
    const retrying = collect(rt, 'task.retrying');
    const handle = await rt.engine.start({
      name: 'defaults',
      defaults: { retry: { maxAttempts: 2, initialDelayMs: 50, jitter: 0 } },
      tasks: [
        { id: 'inherits', agent: 'flaky' },
        { id: 'overrides', agent: 'flaky', retry: { initialDelayMs: 500 } },
      ],
    });
    await flush();
    expect(Object.fromEntries(retrying.map((e) => [e.taskId, e.retryAt - T0]))).toEqual({
      inherits: 50,
      overrides: 500,
    });
    await advance(clock, 500);
    const result = await handle.result;
    expect(result.tasks.inherits).toMatchObject({ status: 'completed', attempts: 2 });
    expect(result.tasks.overrides).toMatchObject({ status: 'completed', attempts: 2 });
  });

  it('ORCH-005 jitter is stable for a given run and task, and stays within the jittered band', async () => {
    const retryAt = async () => {
      const clock = simulatedClock();
      const runtime = await createRuntime({
        dataDir: false,
        clock,
        agents: [agent('fails', () => Promise.reject(new Error('no')))],
      });
      try {
        const events = collect(runtime, 'task.retrying');
        await runtime.engine.start(
          {
            name: 'jitter',
            tasks: [
              {
                id: 'j',
                agent: 'fails',
                retry: { maxAttempts: 2, initialDelayMs: 1000, jitter: 0.5 },
              },
            ],
          },
          { workflowId: 'wf-jitter' },
        );
        await flush();
        return events[0]!.retryAt - T0;
      } finally {
        await runtime.close();
      }
    };
    const first = await retryAt();
    expect(first).toBeGreaterThanOrEqual(500);
    expect(first).toBeLessThanOrEqual(1000);
    expect(await retryAt()).toBe(first);
  });
});

describe('timeouts', () => {
  /** An agent `slow` that waits until its signal aborts, and records the signal. */
  async function slowRuntime(clock: SimulatedClock) {
    const signals: AbortSignal[] = [];
    const gates = new Gates();
    rt = await createRuntime({
      dataDir: false,
      clock,
      agents: [
        agent('slow', (task, ctx) => {
          signals.push(ctx.signal);
          if (task.input.mode === 'ignore-signal') {
            return ctx.attempt === 1 ? gates.wait('late') : 'second attempt';
          }
          return new Promise((_resolve, reject) => {
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
          });
        }),
      ],
    });
    return { rt, signals, gates };
  }

  it('aborts the signal and fails the attempt with TASK_TIMEOUT when timeoutMs elapses', async () => {
    const clock = simulatedClock();
    const { rt, signals } = await slowRuntime(clock);
    const handle = await rt.engine.start({
      name: 'timeout',
      tasks: [{ id: 'wait', agent: 'slow', timeoutMs: 500 }],
    });
    await flush();
    expect(signals).toHaveLength(1);
    await advance(clock, 499);
    expect(signals[0]!.aborted).toBe(false);
    await advance(clock, 1);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[0]!.reason).toBeInstanceOf(TroupeError);
    expect((signals[0]!.reason as TroupeError).code).toBe('TASK_TIMEOUT');

    const result = await handle.result;
    expect(result.status).toBe('failed');
    expect(result.tasks.wait).toMatchObject({
      status: 'failed',
      attempts: 1,
      finishedAt: T0 + 500,
      error: expect.objectContaining({
        code: 'TASK_TIMEOUT',
        message: expect.stringContaining('timed out after 500 ms (attempt 1)'),
      }),
    });
  });

  it('runs the next attempt after a timeout when retries remain, ignoring the late result', async () => {
    const clock = simulatedClock();
    const { rt, signals, gates } = await slowRuntime(clock);
    const handle = await rt.engine.start({
      name: 'timeout-retry',
      tasks: [
        {
          id: 'stubborn',
          agent: 'slow',
          input: { mode: 'ignore-signal' },
          timeoutMs: 500,
          retry: { maxAttempts: 2, initialDelayMs: 100, jitter: 0 },
        },
      ],
    });
    await gates.arrived('late');
    await advance(clock, 500);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals).toHaveLength(1);
    await advance(clock, 99);
    expect(signals).toHaveLength(1);
    await advance(clock, 1);
    expect(signals).toHaveLength(2);
    const result = await handle.result;
    // The first attempt finishes late; its output must not replace the second's.
    gates.open('late', 'first attempt, too late');
    await flush();
    expect(result.status).toBe('completed');
    expect(result.tasks.stubborn).toMatchObject({
      status: 'completed',
      attempts: 2,
      output: 'second attempt',
      error: expect.objectContaining({ code: 'TASK_TIMEOUT' }),
    });
  });

  it('counts a timeout from the start of the attempt, not from when it was queued', async () => {
    const clock = simulatedClock();
    const gates = new Gates();
    const signals: Record<string, AbortSignal> = {};
    rt = await createRuntime({
      dataDir: false,
      clock,
      agents: [
        agent(
          'single',
          (task, ctx) => {
            signals[task.id] = ctx.signal;
            return gates.wait(task.id);
          },
          { concurrency: 1 },
        ),
      ],
    });
    const handle = await rt.engine.start({
      name: 'queued',
      defaults: { timeoutMs: 500 },
      tasks: [
        { id: 'first', agent: 'single' },
        { id: 'second', agent: 'single' },
      ],
    });
    await gates.arrived('first');
    await advance(clock, 400);
    gates.open('first');
    await gates.arrived('second'); // started at T0 + 400, queued since T0
    await advance(clock, 400);
    expect(signals.second!.aborted).toBe(false);
    await advance(clock, 100);
    expect(signals.second!.aborted).toBe(true);
    const result = await handle.result;
    expect(result.tasks.first!.status).toBe('completed');
    expect(result.tasks.second).toMatchObject({
      status: 'failed',
      startedAt: T0 + 400,
      finishedAt: T0 + 900,
      error: expect.objectContaining({ code: 'TASK_TIMEOUT' }),
    });
  });
});
