/**
 * Public methods check their arguments with zod: null, wrong types and
 * misspelt option keys are a TroupeError naming the method, the argument and
 * the field, never a raw TypeError and never silently ignored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createRuntime,
  defineAgent,
  executeMultiAgentWorkflow,
  type Runtime,
  TaskQueue,
  TroupeError,
} from '../../src/index.js';
import { agent } from '../core/helpers.js';

let rt: Runtime;
beforeAll(async () => {
  rt = await createRuntime({ dataDir: false, agents: [agent('a', () => null)] });
});
afterAll(() => rt.close());

type Call = [string, () => unknown, string, string?];

const calls = (): Call[] => {
  const c = rt.communicator;
  const e = rt.engine;
  const q = rt.queue;
  const any = (value: unknown) => value as never;
  return [
    [
      'communicator.broadcast(null)',
      () => c.broadcast(any(null)),
      'communicator.broadcast: message',
    ],
    ['communicator.request(null)', () => c.request(any(null)), 'communicator.request: message'],
    [
      'communicator.sendMessage(null)',
      () => c.sendMessage(any(null)),
      'sendMessage',
      'INVALID_MESSAGE',
    ],
    [
      'communicator.getMessageHistory(null)',
      () => c.getMessageHistory(any(null)),
      'getMessageHistory: options',
    ],
    [
      'communicator.getMessageHistory({ limt })',
      () => c.getMessageHistory(any({ limt: 2 })),
      'unknown key "limt"',
    ],
    [
      'communicator.updateSharedContext(.., null)',
      () => c.updateSharedContext('wf', 'r', any(null)),
      'updates: must be a plain object',
    ],
    [
      'communicator.updateSharedContext(null, ..)',
      () => c.updateSharedContext(any(null), 'r', { a: 1 }),
      'workflowId',
    ],
    [
      'communicator.updateSharedContext options',
      () => c.updateSharedContext('wf', 'r', { a: 1 }, any({ expected: 1 })),
      'unknown key "expected"',
    ],
    [
      'communicator.acquireLock(.., 5)',
      () => c.acquireLock('wf', any(5), 'o'),
      'key: must be a string',
    ],
    [
      'communicator.acquireLock options',
      () => c.acquireLock('wf', 'k', 'o', any({ ttl: 5 })),
      'unknown key "ttl"',
    ],
    [
      'communicator.withLock(no fn)',
      () => c.withLock('wf', 'k', 'o', any(null)),
      'fn: must be a function',
    ],
    ['communicator.getSharedContext(null)', () => c.getSharedContext(any(null)), 'workflowId'],
    ['communicator.getContextHistory(wf, null)', () => c.getContextHistory('wf', any(null)), 'key'],
    [
      'communicator.broadcast options',
      () => c.broadcast({ from: 'x', type: 'notification' }, any({ roles: 'a' })),
      'unknown key "roles"',
    ],
    ['engine.pause(null)', () => e.pause(any(null)), 'engine.pause(): workflowId'],
    ['engine.resume(1)', () => e.resume(any(1)), 'engine.resume(): workflowId'],
    ['engine.cancel(id, 5)', () => e.cancel('wf', any(5)), 'engine.cancel(): options'],
    [
      'engine.cancel options',
      () => e.cancel('wf', any({ compensated: true })),
      'unknown key "compensated"',
    ],
    ['engine.getState(null)', () => e.getState(any(null)), 'engine.getState(): workflowId'],
    ['engine.list({ status })', () => e.list(any({ status: 'done' })), 'filter.status'],
    [
      'engine.start options',
      () => e.start({ name: 'w', tasks: [{ id: 't', agent: 'a' }] }, any({ workflowid: 'x' })),
      'unknown key "workflowid"',
    ],
    ['engine.start(null)', () => e.start(any(null)), 'definition', 'INVALID_DEFINITION'],
    [
      'engine.startWithSagaPattern(null)',
      () => e.startWithSagaPattern(any(null), {}),
      'definition',
    ],
    [
      'engine.executeWithSagaPattern handlers',
      () => e.executeWithSagaPattern({ name: 'w', tasks: [] }, any({ t: 1 })),
      'handlers.t: must be a function',
    ],
    ['engine.fork options', () => e.fork('wf', any({ at: 1 })), 'unknown key "at"'],
    ['engine.on(1, fn)', () => e.on(any(1), () => undefined), 'engine.on(): type'],
    ['engine.recover(null)', () => e.recover(any(null)), 'engine.recover(): workflowId'],
    ['rt.registerAgent(null)', () => rt.registerAgent(any(null)), 'registerAgent: agent'],
    ['rt.registerGuard(name, 1)', () => rt.registerGuard('g', any(1)), 'registerGuard: guard'],
    [
      'orchestrator.decomposeTask(null)',
      () => rt.orchestrator.decomposeTask(any(null)),
      'description',
    ],
    ['queue.getJob(null)', () => q.getJob(any(null)), 'TaskQueue.getJob(): id'],
    [
      'queue.waitForJob(id, { timeout })',
      () => q.waitForJob('x', any({ timeout: 5 })),
      'unknown key "timeout"',
    ],
    ['queue.cancelJob(5)', () => q.cancelJob(any(5)), 'TaskQueue.cancelJob(): id'],
    [
      'queue.schedule(job, "soon")',
      () => q.schedule({ name: 'n', handler: () => 1 }, any('soon')),
      'runAt',
      'INVALID_JOB',
    ],
    ['queue.enqueue(null)', () => q.enqueue(any(null)), 'job', 'INVALID_JOB'],
    [
      'queue.on("nope")',
      () =>
        q.on(
          any('nope'),
          any(() => undefined),
        ),
      'TaskQueue.on(): event',
    ],
    [
      'queue.stop({ gracefull })',
      () => q.stop(any({ gracefull: true })),
      'unknown key "gracefull"',
    ],
    ['queue.register(name, null)', () => q.register('n', any(null)), 'handler: must be a function'],
    [
      'new TaskQueue({ maxworkers })',
      () => new TaskQueue(any({ maxworkers: 2 })),
      'unknown key "maxworkers"',
      'CONFIG_ERROR',
    ],
    [
      'defineAgent({ concurency })',
      () => defineAgent(any({ role: 'r', run: () => 1, concurency: 2 })),
      'Unrecognized key',
    ],
    [
      'executeMultiAgentWorkflow(null)',
      () => executeMultiAgentWorkflow(any(null)),
      'executeMultiAgentWorkflow: request',
    ],
    [
      'createRuntime({ dataDirr })',
      () => createRuntime(any({ dataDirr: false })),
      'unknown key "dataDirr"',
    ],
    [
      'createRuntime({ durable: "yes" })',
      () => createRuntime(any({ dataDir: false, durable: 'yes' })),
      'options.durable',
    ],
  ];
};

describe('public methods refuse bad arguments with a TroupeError naming them', () => {
  it('every call', async () => {
    for (const [what, call, expected, code = 'INVALID_INPUT'] of calls()) {
      let caught: unknown;
      try {
        await call();
      } catch (error) {
        caught = error;
      }
      expect(caught, what).toBeInstanceOf(TroupeError);
      expect((caught as TroupeError).code, `${what}: ${(caught as Error).message}`).toBe(code);
      expect((caught as TroupeError).message, what).toContain(expected);
    }
    // And the runtime still works afterwards.
    const result = await rt.engine.execute({ name: 'after', tasks: [{ id: 't', agent: 'a' }] });
    expect(result.status).toBe('completed');
  });
});
