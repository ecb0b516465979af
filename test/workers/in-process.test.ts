/**
 * Remote agents with the owner and workers in one process (each with its own
 * connection pool, as separate processes would have): dispatch, progress,
 * shared-context updates, errors, per-role concurrency across workers,
 * fencing of a stale claim, cancel reaching a running task, a renewal that
 * races its run's end.
 */
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type AgentWorker,
  createRuntime,
  createWorker,
  defineAgent,
  type Runtime,
  TroupeError,
} from '../../src/index.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SimulatedClock } from '../../src/testing/index.js';
import { testDatabase } from '../support/postgres.js';

// Quick polls and heartbeats, and a lease no loaded machine outlasts: no test here is about a
// worker's lease running out (the fencing test passes its times to the store), and a 1 s lease
// was lost when CI stalled the process, aborting tasks with REMOTE_CLAIM_LOST.
const fast = { leaseMs: 60_000, heartbeatMs: 100, pollMs: 100 };
let closing: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closing.reverse()) await close().catch(() => undefined);
  closing = [];
});

async function owner(
  url: string,
  agents = [] as ReturnType<typeof defineAgent>[],
  clock?: SimulatedClock,
): Promise<Runtime> {
  const rt = await createRuntime({
    store: { postgres: { connectionString: url } },
    remoteAgents: { pollMs: 100, refreshMs: 100 },
    agents,
    ...(clock ? { clock } : {}),
  });
  closing.push(() => rt.close());
  return rt;
}

async function worker(
  url: string,
  agents: ReturnType<typeof defineAgent>[],
  extra = {},
): Promise<AgentWorker> {
  const w = await createWorker({
    store: { postgres: { connectionString: url } },
    agents,
    ...fast,
    ...extra,
  });
  closing.push(() => w.close({ graceful: false }));
  return w;
}

/** A store of its own with task `t` of run `wf` queued for role `r`, to drive claims by hand. */
async function oneQueuedTask(database: string) {
  const url = await testDatabase(database);
  const store = await PostgresStore.open({ connectionString: url });
  closing.push(() => store.close());
  const tasks = store.remoteTasks;
  await tasks.dispatch(
    { workflowId: 'wf', taskId: 't', attempt: 1, role: 'r' },
    { description: '', input: {}, dependencies: {}, shared: {}, messages: [] },
    'owner',
    0,
  );
  return { url, tasks };
}

// Every test waits for conditions; the budget is the one the other PostgreSQL suites with
// several runtimes have: a loaded 2-core machine ran these up to ten times slower than idle.
describe('remote agents in one process', { timeout: 60_000 }, () => {
  it('a task of a role only a worker serves runs on the worker; progress, output and shared updates reach the run', async () => {
    const url = await testDatabase('remote-basic');
    await worker(url, [
      defineAgent({
        role: 'gpu',
        run: async (task, ctx) => {
          ctx.progress(0.5, 'half');
          ctx.updateShared({ embedded: task.id });
          await new Promise((resolve) => setTimeout(resolve, 150));
          return { key: ctx.idempotencyKey, deps: ctx.dependencies, shared: ctx.shared };
        },
      }),
    ]);
    const rt = await owner(url, [defineAgent({ role: 'local', run: () => 'here' })]);
    expect(rt.remoteAgents?.roles()).toEqual(['gpu']);
    const progress: number[] = [];
    rt.engine.on('task.progress', (event) => progress.push(event.progress));
    const result = await rt.orchestrator.executeWorkflow(
      {
        name: 'mixed',
        tasks: [
          { id: 'a', agent: 'local' },
          { id: 'b', agent: 'gpu', dependsOn: ['a'] },
        ],
      },
      { seed: 1 },
    );
    expect(result.status).toBe('completed');
    expect(result.tasks.b?.output).toEqual({
      key: `${result.workflowId}:b`,
      deps: { a: 'here' },
      shared: { seed: 1 },
    });
    expect(result.context).toMatchObject({ seed: 1, embedded: 'b' });
    expect(progress).toContain(0.5);
  });

  it('a worker error fails the attempt and is retried like a local one', async () => {
    const url = await testDatabase('remote-error');
    let calls = 0;
    await worker(url, [
      defineAgent({
        role: 'flaky',
        run: () => {
          calls++;
          if (calls === 1) throw new Error('first time fails');
          return 'ok';
        },
      }),
    ]);
    const rt = await owner(url);
    const result = await rt.orchestrator.executeWorkflow({
      name: 'retry',
      tasks: [{ id: 'a', agent: 'flaky', retry: { maxAttempts: 2, initialDelayMs: 1 } }],
    });
    expect(result.status).toBe('completed');
    expect(result.tasks.a?.attempts).toBe(2);
    expect(calls).toBe(2);
  });

  it('per-role concurrency holds across workers: 2 workers, limit 2, never more than 2 at once', async () => {
    const url = await testDatabase('remote-limit');
    let now = 0;
    let peak = 0;
    const agent = defineAgent({
      role: 'narrow',
      concurrency: 2,
      run: async () => {
        now++;
        peak = Math.max(peak, now);
        await new Promise((resolve) => setTimeout(resolve, 60));
        now--;
        return 'done';
      },
    });
    await worker(url, [agent]);
    await worker(url, [agent]);
    const rt = await owner(url);
    const result = await rt.orchestrator.executeWorkflow({
      name: 'fan',
      tasks: Array.from({ length: 10 }, (_, i) => ({ id: `t${i}`, agent: 'narrow' })),
    });
    expect(result.status).toBe('completed');
    expect(peak).toBe(2);
  });

  it('cancel reaches a running remote task: its signal aborts', async () => {
    const url = await testDatabase('remote-cancel');
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    let aborted: unknown;
    await worker(url, [
      defineAgent({
        role: 'slow',
        run: (_task, ctx) =>
          new Promise((_resolve, reject) => {
            started();
            ctx.signal.addEventListener('abort', () => {
              aborted = ctx.signal.reason;
              reject(ctx.signal.reason);
            });
          }),
      }),
    ]);
    const rt = await owner(url);
    const handle = await rt.engine.start({ name: 'c', tasks: [{ id: 'a', agent: 'slow' }] });
    await running;
    await rt.engine.cancel(handle.workflowId, { reason: 'stop now' });
    const result = await handle.result;
    expect(result.status).toBe('cancelled');
    await expect.poll(() => aborted, { timeout: 5_000 }).toBeInstanceOf(TroupeError);
    expect((aborted as TroupeError).code).toBe('TASK_ABORTED');
  });

  it('a timeout at the owner reaches the remote task: its signal aborts, with the timeout in the reason', async () => {
    const url = await testDatabase('remote-timeout');
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    let aborted: unknown;
    await worker(url, [
      defineAgent({
        role: 'stuck',
        run: (_task, ctx) =>
          new Promise((_resolve, reject) => {
            started();
            ctx.signal.addEventListener('abort', () => {
              aborted = ctx.signal.reason;
              reject(ctx.signal.reason);
            });
          }),
      }),
    ]);
    // The owner's timeout runs on a clock the test moves once the worker runs the task: on a
    // slow machine a wall-clock 300 ms could end before the worker took the task, which then
    // never starts and has no signal to abort.
    const clock = new SimulatedClock();
    clock.set(Date.now());
    const rt = await owner(url, [], clock);
    const result = rt.orchestrator.executeWorkflow({
      name: 't',
      tasks: [{ id: 'a', agent: 'stuck', timeoutMs: 300 }],
    });
    await running;
    clock.increment(300);
    const ended = await result;
    expect(ended.status).toBe('failed');
    expect(ended.tasks.a?.error?.code).toBe('TASK_TIMEOUT');
    await expect
      .poll(() => (aborted as TroupeError | undefined)?.code, { timeout: 5_000 })
      .toBe('TASK_ABORTED');
  });

  it('ctx.send on a worker goes through the cluster communicator: to nobody anywhere it fails with UNKNOWN_RECIPIENT', async () => {
    const url = await testDatabase('remote-unsupported');
    await worker(url, [
      defineAgent({
        role: 'chatty',
        run: (_task, ctx) => ctx.send({ to: 'someone', type: 'notification', payload: 1 }),
      }),
    ]);
    const rt = await owner(url);
    const result = await rt.orchestrator.executeWorkflow({
      name: 'u',
      tasks: [{ id: 'a', agent: 'chatty' }],
    });
    expect(result.status).toBe('failed');
    expect(result.tasks.a?.error).toMatchObject({ code: 'UNKNOWN_RECIPIENT' });
  });

  it('close({ graceful: false }) hands running tasks back: another worker runs them without waiting for the lease', async () => {
    const url = await testDatabase('remote-handback');
    const ran: string[] = [];
    let started: () => void = () => undefined;
    const running = new Promise<void>((resolve) => {
      started = resolve;
    });
    const first = await worker(
      url,
      [
        defineAgent({
          role: 'handed',
          run: (_task, ctx) =>
            new Promise((_resolve, reject) => {
              ran.push('first');
              started();
              ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason));
            }),
        }),
      ],
      { leaseMs: 60_000 },
    );
    const rt = await owner(url);
    const handle = await rt.engine.start({ name: 'h', tasks: [{ id: 'a', agent: 'handed' }] });
    await running;
    await first.close({ graceful: false });
    await worker(url, [
      defineAgent({
        role: 'handed',
        run: () => {
          ran.push('second');
          return 'done';
        },
      }),
    ]);
    const result = await handle.result;
    expect(result.tasks.a?.output).toBe('done');
    expect(ran).toEqual(['first', 'second']);
  });

  it('fencing: a result from a worker whose claim expired and was taken is refused', async () => {
    const { tasks } = await oneQueuedTask('remote-fence');
    const [first] = await tasks.claim('w1', [{ role: 'r', limit: 1, count: 1 }], 1_000, 500);
    // The limit holds while the claim lives, and not after it expired.
    expect(await tasks.claim('w2', [{ role: 'r', limit: 1, count: 1 }], 1_200, 500)).toEqual([]);
    const [second] = await tasks.claim('w2', [{ role: 'r', limit: 1, count: 1 }], 1_600, 500);
    expect(second?.epoch).toBe(first!.epoch + 1);
    expect(await tasks.complete(first!, 'w1', { ok: true, output: 'stale' }, 1_700)).toBe(false);
    expect(await tasks.renew('w1', [first!], 1_700, 500)).toEqual([
      { id: first!.id, outcome: 'lost', cancelReason: null },
    ]);
    expect(await tasks.complete(second!, 'w2', { ok: true, output: 'fresh' }, 1_700)).toBe(true);
    const [state] = await tasks.states([second!.id]);
    expect(state?.result).toEqual({ ok: true, output: 'fresh' });
  });

  it('a renewal that waited for the end of its run deleting the task reports the run ended, not a lost claim', async () => {
    const { url, tasks } = await oneQueuedTask('remote-renew-ended');
    const [claim] = await tasks.claim('w1', [{ role: 'r', limit: 1, count: 1 }], 1_000, 60_000);
    // The run's end deletes its rows in a transaction still open when the renewal comes.
    const end = new pg.Client({ connectionString: url });
    await end.connect();
    closing.push(() => end.end());
    await end.query('BEGIN');
    await end.query("DELETE FROM troupe_remote_tasks WHERE workflow_id = 'wf'");
    const renewing = tasks.renew('w1', [claim!], 1_100, 60_000);
    const waitsForTheEnd = async () =>
      (
        await end.query(
          `SELECT 1 FROM pg_stat_activity
           WHERE datname = current_database() AND wait_event_type = 'Lock'`,
        )
      ).rowCount! > 0;
    await expect.poll(waitsForTheEnd, { timeout: 10_000 }).toBe(true);
    await end.query('COMMIT');
    // A lost claim would tell the worker another claim gives the outcome: none will.
    expect(await renewing).toEqual([{ id: claim!.id, outcome: 'run_ended', cancelReason: null }]);
  });
});
