/**
 * Run ownership on PostgreSQL, in one process with two runtimes (each its
 * own owner) and injected clocks, so lease expiry is decided by the test,
 * not by sleeping. The real-process tests (SIGKILL, SIGSTOP) are in
 * takeover.test.ts.
 */
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime, defineAgent, type Runtime, TroupeError } from '../../src/index.js';
import { testDatabase } from '../support/postgres.js';

const LEASE_MS = 5_000;

interface Gate {
  open(): void;
  promise: Promise<void>;
}
function gate(): Gate {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { open, promise };
}

let url: string;
const runtimes: Runtime[] = [];
/** taskId -> idempotency keys of every run of it, whichever runtime ran it. */
let counters: Map<string, string[]>;
let gates: Map<string, Gate>;

beforeEach(async () => {
  url = await testDatabase('ownership');
  counters = new Map();
  gates = new Map();
});
afterEach(async () => {
  for (const gate of gates.values()) gate.open();
  await Promise.all(runtimes.splice(0).map((rt) => rt.close()));
});

async function runtime(
  name: string,
  options: { roles?: string[]; maxRecoveryAttempts?: number } = {},
): Promise<{ rt: Runtime; clock: SimulatedClock; errors: unknown[] }> {
  const clock = new SimulatedClock();
  const errors: unknown[] = [];
  const rt = await createRuntime({
    store: { postgres: { connectionString: url, ownerId: name } },
    clock,
    ownership: {
      leaseMs: LEASE_MS,
      takeover: false,
      maxRecoveryAttempts: options.maxRecoveryAttempts ?? 3,
    },
    onError: (error) => errors.push(error),
  });
  runtimes.push(rt);
  for (const role of options.roles ?? ['worker']) {
    rt.registerAgent(
      defineAgent({
        role,
        run: async (task, ctx) => {
          counters.set(task.id, [
            ...(counters.get(task.id) ?? []),
            `${name}:${ctx.idempotencyKey}`,
          ]);
          await gates.get(task.id)?.promise;
          return { task: task.id };
        },
      }),
    );
  }
  return { rt, clock, errors };
}

const chain = (agent = 'worker') => ({
  name: 'chain',
  tasks: ['a', 'b', 'c'].map((id, i, all) => ({
    id,
    agent,
    dependsOn: i === 0 ? [] : [all[i - 1]!],
  })),
});

async function rows<R extends pg.QueryResultRow>(text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('run ownership on PostgreSQL', () => {
  it('a run holds a lease while it runs and releases it when its result is stored', async () => {
    const { rt } = await runtime('solo');
    gates.set('b', gate());
    const handle = await rt.engine.start(chain(), { workflowId: 'wf-solo' });
    await until(() => counters.has('b'));
    expect(await rows('SELECT workflow_id, owner_id, epoch FROM troupe_leases')).toEqual([
      { workflow_id: 'wf-solo', owner_id: 'solo', epoch: '1' },
    ]);
    expect(rt.ownership?.owned()).toEqual(['wf-solo']);
    gates.get('b')!.open();
    expect((await handle.result).status).toBe('completed');
    await until(async () => (await rows('SELECT 1 FROM troupe_leases')).length === 0);
    expect(rt.ownership?.owned()).toEqual([]);
  });

  it('everything the runtime stores lands in the database: runs, checkpoints, jobs, contexts, messages', async () => {
    const { rt } = await runtime('store');
    rt.queue.register('noop', () => 'done');
    await rt.queue.start();
    const job = await rt.queue.enqueue({ name: 'noop', handler: 'noop' });
    await rt.queue.waitForJob(job, { timeoutMs: 5_000 });
    await rt.communicator.updateSharedContext('wf-ctx', 'worker', { note: 1 });
    await rt.communicator.sendMessage({
      from: 'worker',
      to: 'worker',
      type: 'notification',
      workflowId: 'wf-ctx',
    });
    await rt.engine.execute(chain(), { workflowId: 'wf-ctx' });
    await rt.close();
    const collections = await rows<{ collection: string }>(
      'SELECT DISTINCT collection FROM troupe_records ORDER BY collection',
    );
    expect(collections.map((row) => row.collection)).toEqual(
      expect.arrayContaining(['messages', 'snapshots', 'workflows']),
    );
    // Shared contexts are shared by every process: they have their own table.
    expect(await rows('SELECT workflow_id, version FROM troupe_shared_contexts')).toEqual([
      { workflow_id: 'wf-ctx', version: 1 },
    ]);
    // The queue on PostgreSQL is the shared queue: its jobs have their own table.
    expect(await rows('SELECT id, status FROM troupe_jobs')).toEqual([
      { id: job, status: 'completed' },
    ]);
  });

  it('an expired lease is taken over: the in-flight task runs again with the same key, completed ones never; the stale owner is fenced and stopped with RUN_OWNERSHIP_LOST', async () => {
    const a = await runtime('A');
    const b = await runtime('B');
    gates.set('b', gate());
    const handleA = await a.rt.engine.start(chain(), { workflowId: 'wf-take' });
    await until(() => counters.has('b'));
    await a.rt.engine.flushed();

    // A stops renewing (its clock stands still); B's clock passes the expiry.
    b.clock.increment(LEASE_MS + 1);
    expect(await b.rt.ownership!.sweep()).toEqual(['wf-take']);
    // A second sweep finds nothing: the run is B's now.
    expect(await b.rt.ownership!.sweep()).toEqual([]);
    await until(() => (counters.get('b')?.length ?? 0) === 2);
    expect(await rows('SELECT owner_id, epoch FROM troupe_leases')).toEqual([
      { owner_id: 'B', epoch: '2' },
    ]);

    // A's task finishes late: its completion is refused and A stops the run.
    const lost = handleA.result.then(
      () => undefined,
      (error: unknown) => error,
    );
    gates.get('b')!.open();
    const error = (await lost) as TroupeError;
    expect(error).toBeInstanceOf(TroupeError);
    expect(error.code).toBe('RUN_OWNERSHIP_LOST');
    expect(error.message).toContain('wf-take');
    expect(a.rt.engine.liveRuns()).toEqual([]);

    const handleB = await b.rt.engine.recover('wf-take');
    const result = await handleB!.result;
    expect(result.status).toBe('completed');
    expect(counters.get('a')).toEqual(['A:wf-take:a']);
    expect(counters.get('b')).toEqual(['A:wf-take:b', 'B:wf-take:b']);
    // A may have dispatched c before its refused write told it of the loss;
    // only B's run of c counts, and it ran once.
    expect(counters.get('c')!.filter((run) => run.startsWith('B:'))).toEqual(['B:wf-take:c']);
    const stored = await b.rt.engine.getState('wf-take');
    expect(stored?.status).toBe('completed');
  });

  it('a stale owner learns from its heartbeat that it lost the run, before it writes anything', async () => {
    const a = await runtime('A');
    const b = await runtime('B');
    gates.set('a', gate());
    const handleA = await a.rt.engine.start(chain(), { workflowId: 'wf-beat' });
    await until(() => counters.has('a'));
    // A sweep skips a lease row locked by a batch in flight: let A's finish.
    await a.rt.engine.flushed();
    b.clock.increment(LEASE_MS + 1);
    expect(await b.rt.ownership!.sweep()).toEqual(['wf-beat']);
    const lost = handleA.result.catch((error: unknown) => error);
    await a.rt.ownership!.heartbeat();
    expect(((await lost) as TroupeError).code).toBe('RUN_OWNERSHIP_LOST');
    expect(a.rt.ownership!.owned()).toEqual([]);
    gates.get('a')!.open();
    const result = await (await b.rt.engine.recover('wf-beat'))!.result;
    expect(result.status).toBe('completed');
  });

  it('a start whose lease expired before its record was stored fails with RUN_OWNERSHIP_LOST and runs nothing; the sweeper found no run', async () => {
    const a = await runtime('A');
    const b = await runtime('B');
    // A stalls between taking the new run's lease and storing its record.
    const stalled = gate();
    const batch = a.rt.store.batch.bind(a.rt.store);
    a.rt.store.batch = async (ops) => {
      if (ops.some((op) => op.collection === 'workflows' && op.key === 'wf-stalled')) {
        await stalled.promise;
      }
      return batch(ops);
    };
    const started = a.rt.engine.start(chain(), { workflowId: 'wf-stalled' });
    await until(async () => (await rows('SELECT 1 FROM troupe_leases')).length === 1);
    // The lease expires meanwhile; B takes it over, finds no stored run and lets it go.
    b.clock.increment(LEASE_MS + 1);
    expect(await b.rt.ownership!.sweep()).toEqual(['wf-stalled']);
    await until(async () => (await rows('SELECT 1 FROM troupe_leases')).length === 0);
    stalled.open();
    const error = (await started.catch((caught: unknown) => caught)) as TroupeError;
    expect(error).toBeInstanceOf(TroupeError);
    expect(error.code).toBe('RUN_OWNERSHIP_LOST');
    expect(error.message).toContain('was not started');
    await a.rt.engine.flushed();
    // Nothing ran and nothing of the run was written: no process has it.
    expect(counters.has('a')).toBe(false);
    expect(
      await rows("SELECT collection FROM troupe_records WHERE key LIKE 'wf-stalled%'"),
    ).toEqual([]);
    expect(a.rt.engine.liveRuns()).toEqual([]);
    expect(a.rt.ownership!.owned()).toEqual([]);
    // Nothing is left in the way of starting it again.
    const result = await a.rt.engine.execute(chain(), { workflowId: 'wf-stalled' });
    expect(result.status).toBe('completed');
  });

  it('recover of a run a live process owns fails with RUN_OWNED_ELSEWHERE', async () => {
    const a = await runtime('A');
    const b = await runtime('B');
    gates.set('a', gate());
    await a.rt.engine.start(chain(), { workflowId: 'wf-owned' });
    await until(() => counters.has('a'));
    const error = await b.rt.engine.recover('wf-owned').catch((caught: unknown) => caught);
    expect((error as TroupeError).code).toBe('RUN_OWNED_ELSEWHERE');
    expect((error as TroupeError).message).toContain('process A owns it');
    await expect(b.rt.engine.start(chain(), { workflowId: 'wf-owned' })).rejects.toThrow(
      /already exists/,
    );
  });

  it('pause, resume and cancel sent from another process reach the owner', async () => {
    const a = await runtime('A');
    const b = await runtime('B');
    gates.set('a', gate());
    const handle = await a.rt.engine.start(chain(), { workflowId: 'wf-remote' });
    await until(() => counters.has('a'));
    const paused = new Promise((resolve) => a.rt.engine.on('workflow.paused', resolve));
    b.rt.engine.pause('wf-remote');
    await paused;
    gates.get('a')!.open();
    await a.rt.engine.flushed();
    expect(counters.has('b')).toBe(false);
    const resumed = new Promise((resolve) => a.rt.engine.on('workflow.resumed', resolve));
    b.rt.engine.resume('wf-remote');
    await resumed;
    gates.set('c', gate());
    await until(() => counters.has('c'));
    b.rt.engine.cancel('wf-remote', 'from B');
    expect((await handle.result).status).toBe('cancelled');
    expect(b.errors).toEqual([]);
  });

  it('a wait is answered from another process: checked there, applied and journaled by the owner', async () => {
    const a = await runtime('A');
    const b = await runtime('B');
    const handle = await a.rt.engine.start(
      {
        name: 'gated',
        tasks: [
          { id: 'approve', kind: 'approval', wait: { prompt: 'Ship it?' } },
          { id: 'a', agent: 'worker', dependsOn: ['approve'] },
        ],
      },
      { workflowId: 'wf-gated' },
    );
    await until(async () => (await b.rt.engine.waiting()).length === 1);
    // Checked against the wait's schema in the sending process: nothing is queued.
    await expect(
      b.rt.engine.signal('wf-gated', 'approve', { approved: 'yes' }),
    ).rejects.toMatchObject({
      code: 'INVALID_SIGNAL',
    });
    await b.rt.engine.signal('wf-gated', 'approve', { approved: true });
    const result = await handle.result;
    expect(result.status).toBe('completed');
    expect(result.waits?.[0]).toMatchObject({ name: 'approve', status: 'answered' });
    expect(counters.get('a')).toHaveLength(1);
    expect(await rows('SELECT id FROM troupe_commands')).toEqual([]);
    expect([...a.errors, ...b.errors]).toEqual([]);
  });

  it('a command for a run no process has fails with WORKFLOW_NOT_FOUND', async () => {
    const b = await runtime('B');
    await expect(b.rt.engine.pause('wf-nowhere')).rejects.toMatchObject({
      code: 'WORKFLOW_NOT_FOUND',
    });
  });

  it('a run that fails recovery maxRecoveryAttempts times is parked as recovery_failed with the reason', async () => {
    const a = await runtime('A', { roles: ['rare'] });
    const b = await runtime('B', { maxRecoveryAttempts: 2 });
    gates.set('a', gate());
    await a.rt.engine.start(chain('rare'), { workflowId: 'wf-poison' });
    await until(() => counters.has('a'));
    // A sweep skips a lease row locked by a batch in flight: let A's finish.
    await a.rt.engine.flushed();
    b.clock.increment(LEASE_MS + 1);
    expect(await b.rt.ownership!.sweep()).toEqual(['wf-poison']);
    // The failed recovery gave the lease up at once: the next sweep retries.
    await until(
      async () => (await rows('SELECT 1 FROM troupe_leases WHERE reason IS NOT NULL')).length === 1,
    );
    expect(await b.rt.ownership!.sweep()).toEqual(['wf-poison']);
    await until(async () => (await b.rt.ownership!.parked()).length === 1);
    const [parked] = await b.rt.ownership!.parked();
    expect(parked).toMatchObject({ workflowId: 'wf-poison', attempts: 2 });
    expect(parked!.reason).toContain('rare');
    expect(await b.rt.ownership!.sweep()).toEqual([]);
    // Fixed (the agent is registered now) and unparked: the next sweep recovers it.
    b.rt.registerAgent(defineAgent({ role: 'rare', run: async (task) => ({ task: task.id }) }));
    expect(await b.rt.ownership!.unpark('wf-poison')).toBe(true);
    expect(await b.rt.ownership!.sweep()).toEqual(['wf-poison']);
    gates.get('a')!.open();
    await until(async () => (await b.rt.engine.getState('wf-poison'))?.status === 'completed');
    expect(b.errors.map((error) => (error as TroupeError).code)).toEqual([
      'UNKNOWN_AGENT',
      'UNKNOWN_AGENT',
    ]);
  });
});
