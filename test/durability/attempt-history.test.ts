/**
 * A task's earlier attempts and what its compensation returned are part of
 * the run's stored state: after a restart (the journal that held the
 * failures compacted into a checkpoint) the result, the inspector's task
 * drawer for the live run and the drawer for the stored run list every
 * attempt with its error and times. The result also says why a run stopped
 * (`stopReason`), the reason its unsettled tasks were cancelled with.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent, type Runtime, type WorkflowDefinitionInput } from '../../src/index.js';
import type { AttemptView, TaskDetailView } from '../../src/runtime/inspector/protocol.js';
import { TestClient, wsUrl } from '../inspector/helpers.js';
import { durableRuntime, Gates, readStoredRun, scratchDir, useScratch } from './helpers.js';

useScratch();

const definition: WorkflowDefinitionInput = {
  name: 'history',
  tasks: [
    {
      id: 'flaky',
      agent: 'worker',
      retry: { maxAttempts: 5, initialDelayMs: 1, jitter: 0 },
    },
  ],
};

/** Attempts 1 and 2 of `flaky` fail; attempt 3 waits at its gate (or for the runtime to close). */
function flakyWorker(gates: Gates) {
  return defineAgent({
    role: 'worker',
    run: async (_task, ctx) => {
      if (ctx.attempt < 3) throw new Error(`attempt ${ctx.attempt} failed`);
      await Promise.race([
        gates.wait(`attempt ${ctx.attempt}`),
        new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
        ),
      ]);
      return { ok: true };
    },
  });
}

/** The drawer's details of a task, asked over a real WebSocket as the page asks (watching its run first). */
async function drawerOf(rt: Runtime, workflowId: string, taskId: string): Promise<TaskDetailView> {
  const client = await TestClient.connect(wsUrl(rt.inspector!.url));
  try {
    // As the page does: it watches the run it shows, then asks for the task.
    client.send({ id: 6, type: 'run.watch', workflowId });
    await client.waitFor(
      () => client.messages.some((m) => m.frames?.some((f) => f.type === 'reply' && f.id === 6)),
      'the watch acknowledged',
    );
    client.send({ id: 7, type: 'task.get', workflowId, taskId });
    return (await client.frame('task.detail', (f) => f.task.id === taskId)).task;
  } finally {
    client.close();
  }
}

const outcomes = (attempts: readonly AttemptView[]) =>
  attempts.map((a) => `${a.attempt}:${a.outcome}`);

describe('attempt history across a restart', () => {
  it('two failed attempts checkpointed before a crash are in the result and in the drawer of the live and the stored run', async () => {
    const dataDir = await scratchDir();
    const gates1 = new Gates();
    const one = await durableRuntime(dataDir, { agents: [flakyWorker(gates1)] });
    await one.rt.engine.start(definition, { workflowId: 'wf-history' });
    await gates1.arrived('attempt 3');
    // A pause checkpoints the run: the journal entries of the two failures are compacted away.
    await one.rt.engine.pause('wf-history');
    await one.rt.engine.flushed();
    await one.rt.close();
    const stored = await readStoredRun(dataDir, 'wf-history');
    expect(stored.snapshots.map((s) => s.checkpoint.reason)).toContain('pause');
    expect(stored.journal.map(({ entry }) => entry.event.type)).not.toContain('task.failed');

    const gates2 = new Gates();
    const two = await durableRuntime(dataDir, {
      agents: [flakyWorker(gates2)],
      inspector: { port: 0 },
    });
    const handle = await two.rt.engine.recover('wf-history');
    await two.rt.engine.resume('wf-history');
    await gates2.arrived('attempt 3');
    const live = await drawerOf(two.rt, 'wf-history', 'flaky');
    expect(outcomes(live.attemptLog)).toEqual(['1:failed', '2:failed', '3:running']);
    expect(live.attemptLog.map((a) => a.error)).toEqual([
      'attempt 1 failed',
      'attempt 2 failed',
      undefined,
    ]);
    gates2.open('attempt 3');
    const result = await handle!.result;
    expect(result.status).toBe('completed');
    const flaky = result.tasks.flaky!;
    expect(flaky.attempts).toBe(3);
    expect(flaky.failedAttempts?.map((a) => [a.attempt, a.error.message])).toEqual([
      [1, 'attempt 1 failed'],
      [2, 'attempt 2 failed'],
    ]);
    for (const failed of flaky.failedAttempts!) {
      expect(failed.error.stack).toBeUndefined();
      expect(failed.startedAt).toBeLessThanOrEqual(failed.endedAt);
    }
    expect(flaky.failedAttempts![0]!.startedAt).toBe(flaky.startedAt);
    expect(flaky.lastAttemptStartedAt).toBeGreaterThanOrEqual(flaky.failedAttempts![1]!.endedAt);
    await two.rt.close();

    // The stored run, read by a runtime that never ran it.
    const three = await durableRuntime(dataDir, { agents: [], inspector: { port: 0 } });
    const shown = await drawerOf(three.rt, 'wf-history', 'flaky');
    expect(outcomes(shown.attemptLog)).toEqual(['1:failed', '2:failed', '3:completed']);
    expect(shown.attemptLog.map((a) => [a.startedAt, a.endedAt])).toEqual([
      [flaky.failedAttempts![0]!.startedAt, flaky.failedAttempts![0]!.endedAt],
      [flaky.failedAttempts![1]!.startedAt, flaky.failedAttempts![1]!.endedAt],
      [flaky.lastAttemptStartedAt, flaky.finishedAt],
    ]);
  });

  it('a task keeps its 20 newest failed attempts, each error message clipped to 2,000 characters', async () => {
    const rt = (
      await durableRuntime(false, {
        agents: [
          defineAgent({
            role: 'worker',
            run: async (_task, ctx) => {
              if (ctx.attempt < 25) throw new Error(`${ctx.attempt}:${'x'.repeat(5_000)}`);
              return 'done';
            },
          }),
        ],
      })
    ).rt;
    const result = await rt.engine.execute({
      name: 'many',
      tasks: [
        {
          id: 't',
          agent: 'worker',
          retry: { maxAttempts: 30, initialDelayMs: 1, maxDelayMs: 1, jitter: 0 },
        },
      ],
    });
    const kept = result.tasks.t!.failedAttempts!;
    expect(kept.map((a) => a.attempt)).toEqual(Array.from({ length: 20 }, (_, i) => i + 5));
    expect(
      kept.every((a) => a.error.message.length === 2_001 && a.error.message.endsWith('…')),
    ).toBe(true);
  });
});

describe('what a compensation returned', () => {
  const saga: WorkflowDefinitionInput = {
    name: 'refunds',
    saga: true,
    tasks: [
      { id: 'charge', agent: 'worker', compensation: 'refund' },
      { id: 'ship', agent: 'worker', dependsOn: ['charge'] },
    ],
  };
  const agents = [
    defineAgent({
      role: 'worker',
      run: async (task) => {
        if (task.id === 'ship') throw new Error('no courier');
        return { chargeId: 'ch_1' };
      },
    }),
  ];

  it('is kept in the result, survives a restart and shows in the stored run’s drawer', async () => {
    const dataDir = await scratchDir();
    const one = await durableRuntime(dataDir, { agents });
    one.rt.engine.registerCompensations('refunds', {
      refund: ({ output }) => ({ refundId: 're_1', of: (output as { chargeId: string }).chargeId }),
    });
    const result = await one.rt.engine.execute(saga, { workflowId: 'wf-refund' });
    expect(result.status).toBe('compensated');
    expect(result.compensation?.outputs?.charge).toEqual({ refundId: 're_1', of: 'ch_1' });
    await one.rt.close();

    const two = await durableRuntime(dataDir, { agents, inspector: { port: 0 } });
    const shown = await drawerOf(two.rt, 'wf-refund', 'charge');
    expect(shown.compensation?.status).toBe('completed');
    expect(shown.compensationOutput).toEqual({ refundId: 're_1', of: 'ch_1' });
    expect((await two.rt.engine.getState('wf-refund'))?.compensation?.outputs?.charge).toEqual({
      refundId: 're_1',
      of: 'ch_1',
    });
  });

  it('a value that is not JSON fails the step with INVALID_VALUE naming the bad path, and the rollback goes on', async () => {
    const { rt } = await durableRuntime(false, { agents });
    rt.engine.registerCompensations('refunds', {
      refund: () => ({ at: new Date(0), undo: () => undefined }),
    });
    const result = await rt.engine.execute(saga);
    expect(result.status).toBe('compensation_failed');
    expect(result.compensation?.failed).toHaveLength(1);
    const error = result.compensation!.failed[0]!.error;
    expect(error.code).toBe('INVALID_VALUE');
    expect(error.message).toContain('returned.');
    expect(result.compensation?.outputs).toBeUndefined();
  });
});

describe('why a run stopped', () => {
  it('the result keeps the cancel’s reason as stopReason even when the rollback that followed failed', async () => {
    const gates = new Gates();
    const { rt } = await durableRuntime(false, {
      agents: [
        defineAgent({
          role: 'worker',
          run: async (task, ctx) => {
            if (task.id === 'charge') return { chargeId: 'ch_1' };
            await Promise.race([
              gates.wait(task.id),
              new Promise((_, reject) =>
                ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
              ),
            ]);
            return 'shipped';
          },
        }),
      ],
    });
    rt.engine.registerCompensations('stop', {
      refund: () => {
        throw new Error('refunds are down');
      },
    });
    const handle = await rt.engine.start({
      name: 'stop',
      tasks: [
        { id: 'charge', agent: 'worker', compensation: 'refund' },
        { id: 'ship', agent: 'worker', dependsOn: ['charge'] },
        { id: 'notify', agent: 'worker', dependsOn: ['ship'] },
      ],
    });
    await gates.arrived('ship');
    await rt.engine.cancel(handle.workflowId, {
      reason: 'customer changed mind',
      compensate: true,
    });
    const result = await handle.result;
    expect(result.status).toBe('compensation_failed');
    expect(result.stopReason).toBe('customer changed mind');
    expect(result.tasks.notify?.status).toBe('cancelled');
  });

  it('a failed run names the task that stopped it; a completed run has no stopReason', async () => {
    const { rt } = await durableRuntime(false, {
      agents: [
        defineAgent({
          role: 'worker',
          run: (task) => {
            if (task.id === 'b') throw new Error('broken');
            return 'ok';
          },
        }),
      ],
    });
    const failed = await rt.engine.execute({
      name: 'two',
      tasks: [
        { id: 'b', agent: 'worker' },
        { id: 'c', agent: 'worker', dependsOn: ['b'] },
      ],
    });
    expect(failed.stopReason).toBe('the run stopped: task "b" failed');
    const completed = await rt.engine.execute({
      name: 'one',
      tasks: [{ id: 'a', agent: 'worker' }],
    });
    expect(completed.stopReason).toBeUndefined();
  });
});

describe('an interrupted run in the inspector', () => {
  it('shows what its tasks reached (from its checkpoint and journal), not every task pending', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const one = await durableRuntime(dataDir, {
      agents: [flakyWorker(gates), defineAgent({ role: 'quick', run: () => 'done' })],
    });
    await one.rt.engine.start(
      {
        name: 'interrupted',
        tasks: [
          { id: 'first', agent: 'quick' },
          { id: 'flaky', agent: 'worker', dependsOn: ['first'], retry: definition.tasks[0]!.retry },
          { id: 'last', agent: 'quick', dependsOn: ['flaky'] },
        ],
      },
      { workflowId: 'wf-stopped' },
    );
    await gates.arrived('attempt 3');
    await one.rt.engine.flushed();
    await one.rt.close();

    // A later process that does not resume it, as `troupe demo --inspect` on the same folder would.
    const two = await durableRuntime(dataDir, { agents: [], inspector: { port: 0 } });
    const client = await TestClient.connect(wsUrl(two.rt.inspector!.url));
    try {
      client.send({ id: 1, type: 'stored.get', workflowId: 'wf-stopped' });
      const { run } = await client.frame('stored.run');
      expect(Object.fromEntries(run.tasks.map((t) => [t.id, t.status]))).toEqual({
        first: 'completed',
        flaky: 'running',
        last: 'pending',
      });
      expect(run.finishedAt).toBeUndefined();
      expect(run.stopReason).toBeUndefined();
    } finally {
      client.close();
    }
    const flaky = await drawerOf(two.rt, 'wf-stopped', 'flaky');
    expect(outcomes(flaky.attemptLog)).toEqual(['1:failed', '2:failed', '3:running']);
  });
});
