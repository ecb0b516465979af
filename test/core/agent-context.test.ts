/**
 * The `ctx` an agent's `run` gets makes its methods only when read (see
 * src/actors/agents/attempt.ts): they still work taken off the object, stay
 * the same function for the attempt, and the attempt's own state is not
 * reachable from it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { type AgentRunContext, createRuntime, type Runtime } from '../../src/index.js';
import { agent } from './helpers.js';

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

describe('agent ctx', () => {
  it('methods and the signal work when destructured, and each attempt has its own', async () => {
    const seen: { attempt: number; key: string; aborted: boolean; same: boolean }[] = [];
    const contexts: AgentRunContext[] = [];
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('worker', async (task, ctx) => {
          contexts.push(ctx);
          const { progress, updateShared, addTasks, signal, attempt, idempotencyKey } = ctx;
          progress(0.5, 'half');
          updateShared({ [task.id]: attempt });
          if (task.id === 'a') addTasks([{ id: 'c', agent: 'worker', dependsOn: ['a'] }]);
          seen.push({
            attempt,
            key: idempotencyKey,
            aborted: signal.aborted,
            same: ctx.progress === progress && ctx.updateShared === updateShared,
          });
          if (task.id === 'b' && attempt === 1) throw new Error('once more');
          return { id: task.id };
        }),
      ],
    });
    const result = await rt.engine.execute({
      name: 'ctx',
      defaults: { retry: { maxAttempts: 2, initialDelayMs: 0, jitter: 0 } },
      tasks: [
        { id: 'a', agent: 'worker' },
        { id: 'b', agent: 'worker', dependsOn: ['a'] },
      ],
    });

    expect(result.status).toBe('completed');
    expect(result.context).toEqual({ a: 1, b: 2, c: 1 });
    expect(result.tasks.c?.status).toBe('completed');
    expect(result.tasks.a?.progress).toBe(1);
    const wf = result.workflowId;
    expect(seen).toEqual([
      { attempt: 1, key: `${wf}:a`, aborted: false, same: true },
      { attempt: 1, key: `${wf}:b`, aborted: false, same: true },
      { attempt: 1, key: `${wf}:c`, aborted: false, same: true },
      { attempt: 2, key: `${wf}:b`, aborted: false, same: true },
    ]);
    expect(new Set(contexts).size).toBe(4);
    expect(contexts[0]!.progress).not.toBe(contexts[1]!.progress);
  });

  it('shows the data fields and no attempt state', async () => {
    let keys: string[] = [];
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('worker', (_task, ctx) => {
          keys = Object.keys(ctx).sort();
          return null;
        }),
      ],
    });
    await rt.engine.execute({ name: 'keys', tasks: [{ id: 'a', agent: 'worker' }] });
    expect(keys).toEqual(['attempt', 'dependencies', 'idempotencyKey', 'messages']);
  });

  it('a destructured signal is aborted when the attempt times out', async () => {
    let signal: AbortSignal | undefined;
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('slow', (_task, ctx) => {
          ({ signal } = ctx);
          return new Promise((_resolve, reject) =>
            signal!.addEventListener('abort', () => reject(signal!.reason)),
          );
        }),
      ],
    });
    const result = await rt.engine.execute({
      name: 'timeout',
      tasks: [{ id: 'a', agent: 'slow', timeoutMs: 20 }],
    });
    expect(result.status).toBe('failed');
    expect(signal?.aborted).toBe(true);
    expect(result.tasks.a?.error).toMatchObject({ code: 'TASK_TIMEOUT' });
  });
});
