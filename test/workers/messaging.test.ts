/**
 * Agents on workers message the agents of the run's owner: a worker process
 * (test/fixtures/pg-messaging-worker.ts) runs a task of this process's run;
 * its agent asks this process's `lead` (ctx.request), holds a global lock
 * (ctx.lock) and meets a shared-context version conflict with a write made
 * here; this process messages the worker's agent too.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AgentMessage,
  type AgentWorker,
  createRuntime,
  createWorker,
  defineAgent,
  type Runtime,
} from '../../src/index.js';
import { expectTroupeError } from '../core/helpers.js';
import { bundleFixture, killAll, Worker as Process } from '../durability/processes.js';
import { testDatabase } from '../support/postgres.js';

let fixture: { file: string; remove: () => Promise<void> };
beforeAll(async () => {
  fixture = await bundleFixture('pg-messaging-worker');
});
afterAll(() => fixture.remove());
afterEach(() => killAll());

const fast = { pollMs: 200, heartbeatMs: 200, endpointTtlMs: 2_000 };

/** The owner: agent `lead` answers requests after writing the shared context, and reports the locks it sees. */
async function owner(url: string, received: AgentMessage[]): Promise<Runtime> {
  const rt: Runtime = await createRuntime({
    store: { postgres: { connectionString: url } },
    remoteAgents: { pollMs: 200, refreshMs: 200 },
    communicator: fast,
    agents: [
      defineAgent({
        role: 'lead',
        run: async () => null,
        onMessage: async (message) => {
          received.push(message);
          if (message.type !== 'request') return undefined;
          const workflowId = message.workflowId!;
          // The owner-side write the worker's agent does not know of.
          await rt.communicator.updateSharedContext(workflowId, 'lead', { index: 'docs-v2' });
          const locks = await rt.communicator.getLocks(workflowId);
          return { index: 'docs-v2', locks: locks.map((lock) => [lock.key, lock.owner]) };
        },
      }),
    ],
  });
  return rt;
}

describe('agents on workers message across processes', () => {
  it('a task running on a worker process asks an agent of the owner and meets a version conflict with an owner-side write', async () => {
    const url = await testDatabase('worker-messaging');
    const child = new Process(fixture.file, [url]);
    await child.waitFor('ready');
    const received: AgentMessage[] = [];
    const rt = await owner(url, received);
    try {
      const result = await rt.orchestrator.executeWorkflow({
        name: 'ask-the-lead',
        tasks: [{ id: 'analyse', agent: 'analyst' }],
      });
      expect(result.status).toBe('completed');
      const output = result.tasks.analyse!.output as Record<string, unknown>;
      const workflowId = result.workflowId;
      expect(output).toMatchObject({
        // The answer of the owner's agent, which saw the worker's lock.
        answer: { index: 'docs-v2', locks: [['report', 'analyst:analyse']] },
        answeredBy: 'lead',
        read: 0,
        // Version 1 is the owner's write, made after the worker read version 0.
        conflict: {
          code: 'VERSION_CONFLICT',
          context: { workflowId, expectedVersion: 0, actualVersion: 1 },
        },
        written: 2,
        broadcastTo: ['lead'],
      });
      const shared = await rt.communicator.getSharedContext(workflowId);
      expect(shared).toMatchObject({
        version: 2,
        data: { index: 'docs-v2-checked' },
        updatedBy: 'analyst',
      });
      // From the worker: the request, the notification and the broadcast, each once.
      await expect
        .poll(() => received.map((m) => [m.type, m.from, m.workflowId]), { timeout: 20_000 })
        .toEqual([
          ['request', 'analyst', workflowId],
          ['notification', 'analyst', workflowId],
          ['notification', 'analyst', workflowId],
        ]);
      // The lock was released when the attempt ended.
      expect(await rt.communicator.getLocks(workflowId)).toEqual([]);

      // The owner reaches the worker's agent: its onMessage runs in the worker process.
      const back = await rt.communicator.request(
        { from: 'lead', to: 'analyst', payload: 'how sure?', workflowId },
        { timeout: 20_000 },
      );
      expect(back.payload).toEqual({ analysed: 'how sure?' });
      const seen = await child.waitFor('message');
      expect(seen).toMatchObject({ from: 'lead', payload: 'how sure?' });
    } finally {
      await rt.close();
    }
  }, 60_000);

  it('what still needs the owner fails with REMOTE_UNSUPPORTED; the communicator ends with the worker; its options are checked', async () => {
    const url = await testDatabase('worker-unsupported');
    const short = await expectTroupeError(
      () =>
        createWorker({
          store: { postgres: { connectionString: url } },
          communicator: { heartbeatMs: 1_000, endpointTtlMs: 500 },
          agents: [defineAgent({ role: 'remote', run: async () => null })],
        }),
      'CONFIG_ERROR',
    );
    expect(short.message).toMatch(/^createWorker: communicator\.endpointTtlMs/);
    let w: AgentWorker | undefined;
    w = await createWorker({
      store: { postgres: { connectionString: url } },
      leaseMs: 1_000,
      heartbeatMs: 100,
      pollMs: 100,
      communicator: { pollMs: 100, heartbeatMs: 100, endpointTtlMs: 2_000 },
      agents: [
        defineAgent({
          role: 'remote',
          run: async (_task, ctx) => {
            const calls = {
              waitFor: () => ctx.waitFor('answer'),
              sleep: () => ctx.sleep(10),
              startChild: () => ctx.startChild('child'),
            };
            const codes: Record<string, unknown> = {};
            for (const [name, call] of Object.entries(calls)) {
              codes[name] = await call().then(
                () => 'ok',
                (error: { code?: string; context?: { call?: string } }) => [
                  error.code,
                  error.context?.call,
                ],
              );
            }
            return codes;
          },
        }),
      ],
    });
    const rt = await createRuntime({
      store: { postgres: { connectionString: url } },
      remoteAgents: { pollMs: 100, refreshMs: 100 },
    });
    try {
      const result = await rt.orchestrator.executeWorkflow({
        name: 'unsupported',
        tasks: [{ id: 't', agent: 'remote' }],
      });
      expect(result.tasks.t!.output).toEqual({
        waitFor: ['REMOTE_UNSUPPORTED', 'waitFor'],
        sleep: ['REMOTE_UNSUPPORTED', 'sleep'],
        startChild: ['REMOTE_UNSUPPORTED', 'startChild'],
      });
      expect(w.communicator).toBeDefined();
      await w.close();
      await expectTroupeError(() => w!.communicator, 'RUNTIME_CLOSED');
      w = undefined;
    } finally {
      await w?.close({ graceful: false });
      await rt.close();
    }
  }, 60_000);
});
