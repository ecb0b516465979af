/**
 * The communicator on PostgreSQL, with two runtimes in this process, each on
 * its own PostgresStore (its own pool and endpoint): the rules of the
 * cross-process paths, and that other stores are unaffected.
 * test/communicator/postgres-processes.test.ts runs real processes.
 */
import pg from 'pg';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createRuntime,
  defineAgent,
  type Runtime,
  type RuntimeOptions,
  TroupeError,
} from '../../src/index.js';
import type { AgentMessage } from '../../src/schemas/agent-message.js';
import { PostgresCommunicatorRows } from '../../src/store/postgres/communicator-rows.js';
import { SimulatedClock } from '../../src/testing/index.js';
import { expectTroupeError } from '../core/helpers.js';
import { testDatabase } from '../support/postgres.js';

const open: Runtime[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  await Promise.all(open.splice(0).map((rt) => rt.close()));
});

async function runtime(url: string, options: RuntimeOptions = {}): Promise<Runtime> {
  const rt = await createRuntime({
    store: { postgres: { connectionString: url } },
    remoteAgents: { enabled: false },
    communicator: { pollMs: 100, heartbeatMs: 100, endpointTtlMs: 5_000 },
    ...options,
  });
  open.push(rt);
  return rt;
}

const echo = (role: string, received: AgentMessage[] = []) =>
  defineAgent({
    role,
    run: async () => null,
    onMessage: (message) => {
      received.push(message);
      if (message.type !== 'request') return undefined;
      if (message.payload === 'fail') throw new Error(`${role} refuses`);
      return { by: role };
    },
  });

describe('communicator on PostgreSQL (two runtimes, one process)', () => {
  it('50 writers in two processes with expectedVersion: every conflict is typed, no update is lost', async () => {
    const url = await testDatabase('comm-cas');
    const a = await runtime(url);
    const b = await runtime(url);
    let conflicts = 0;
    const increment = async (rt: Runtime, role: string) => {
      for (;;) {
        const current = await rt.communicator.getSharedContext('wf-c');
        const count = (current.data.count as number | undefined) ?? 0;
        try {
          await rt.communicator.updateSharedContext(
            'wf-c',
            role,
            { count: count + 1 },
            { expectedVersion: current.version },
          );
          return;
        } catch (error) {
          if (!(error instanceof TroupeError && error.code === 'VERSION_CONFLICT')) throw error;
          conflicts++;
        }
      }
    };
    await Promise.all(
      Array.from({ length: 50 }, (_, i) => increment(i % 2 ? a : b, i % 2 ? 'a' : 'b')),
    );
    const final = await b.communicator.getSharedContext('wf-c');
    expect(final.data.count).toBe(50);
    expect(final.version).toBe(50);
    expect(conflicts).toBeGreaterThan(0);
    // Updates without expectedVersion are retried on a fresh read, never lost.
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        (i % 2 ? a : b).communicator.updateSharedContext('wf-c', 'x', { [`k${i}`]: i }),
      ),
    );
    const after = await a.communicator.getSharedContext('wf-c');
    expect(after.version).toBe(70);
    expect(Object.keys(after.data)).toHaveLength(21);
    const history = await a.communicator.getContextHistory('wf-c', 'count');
    expect(history).toHaveLength(20); // bounded per key, as locally
    expect(history.at(-1)).toMatchObject({ version: 50, value: 50 });
  }, 60_000);

  it('a failing responder in another process gives REQUEST_FAILED; a closing requester RUNTIME_CLOSED', async () => {
    const url = await testDatabase('comm-fail');
    const a = await runtime(url, { agents: [echo('alpha')] });
    const hung = defineAgent({
      role: 'slow',
      run: async () => null,
      onMessage: () => new Promise(() => undefined),
    });
    await runtime(url, { agents: [echo('beta'), hung] });
    const failed = await expectTroupeError(
      () =>
        a.communicator.request({ from: 'alpha', to: 'beta', payload: 'fail' }, { timeout: 20_000 }),
      'REQUEST_FAILED',
    );
    expect(failed.message).toContain('beta refuses');

    const waiting = a.communicator.request({ from: 'alpha', to: 'slow', payload: 'x' });
    waiting.catch(() => undefined);
    await a.close();
    await expectTroupeError(() => waiting, 'RUNTIME_CLOSED');
  }, 60_000);

  it('an agent registered later is announced without waiting for a heartbeat; handoffs cross too', async () => {
    const url = await testDatabase('comm-late');
    // Heartbeats far apart: only registerAgent's own announcement can make `late` known.
    const slow = { communicator: { pollMs: 100, heartbeatMs: 600_000, endpointTtlMs: 1_200_000 } };
    const a = await runtime(url, { ...slow, agents: [echo('alpha')] });
    const b = await runtime(url, slow);
    const received: AgentMessage[] = [];
    b.registerAgent(echo('late', received));
    // The announcement is written in the background: ask until it has landed.
    let response: AgentMessage | undefined;
    while (!response) {
      response = await a.communicator
        .request({ from: 'alpha', to: 'late', payload: 'hi' }, { timeout: 20_000 })
        .catch((error: unknown) => {
          if (error instanceof TroupeError && error.code === 'UNKNOWN_RECIPIENT') return undefined;
          throw error;
        });
    }
    expect(response.payload).toEqual({ by: 'late' });

    const handoff = await a.communicator.handoffResult('alpha', 'late', 'wf-h', { rows: 3 });
    expect(handoff.type).toBe('result_handoff');
    const shared = await b.communicator.getSharedContext('wf-h');
    expect(shared.data['handoff:alpha->late']).toMatchObject({
      messageId: handoff.id,
      from: 'alpha',
      to: 'late',
      data: { rows: 3 },
    });
    while (!received.some((m) => m.id === handoff.id)) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }, 60_000);

  it('messages recorded by two processes in one scope keep distinct numbers in the shared history', async () => {
    const url = await testDatabase('comm-history');
    const a = await runtime(url, { agents: [echo('alpha')] });
    const b = await runtime(url, { agents: [echo('beta')] });
    for (let i = 0; i < 5; i++) {
      await a.communicator.request({ from: 'alpha', to: 'beta', payload: i, workflowId: 'wf-m' });
      await b.communicator.request({ from: 'beta', to: 'alpha', payload: i, workflowId: 'wf-m' });
    }
    await a.communicator.flush();
    await b.communicator.flush();
    const history = await a.communicator.getMessageHistory({ workflowId: 'wf-m', type: 'request' });
    expect(history).toHaveLength(10);
  }, 60_000);

  it('two processes recording in one scope at the same instant number alike, and keep every entry, in a stable order', async () => {
    const url = await testDatabase('comm-history-same-ms');
    // One frozen clock: both processes number their messages 1000*T, 1000*T + 1, ...
    const clock = new SimulatedClock();
    clock.set(1_780_000_000_000);
    const a = await runtime(url, { clock, agents: [echo('alpha')] });
    const b = await runtime(url, { clock, agents: [echo('beta')] });
    const send = (rt: Runtime, to: string, i: number) =>
      rt.communicator.sendMessage({
        from: 'user',
        to,
        type: 'notification',
        payload: { to, i },
        workflowId: 'wf-same',
      });
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => [send(a, 'alpha', i), send(b, 'beta', i)]).flat(),
    );
    await a.communicator.flush();
    await b.communicator.flush();
    const read = async () =>
      (await a.communicator.getMessageHistory({ workflowId: 'wf-same', limit: 1_000 })).map(
        (m) => m.payload as { to: string; i: number },
      );
    const history = await read();
    expect(history).toHaveLength(80);
    // Each process's messages in the order it recorded them.
    for (const to of ['alpha', 'beta']) {
      expect(history.filter((p) => p.to === to).map((p) => p.i)).toEqual(
        Array.from({ length: 40 }, (_, i) => i),
      );
    }
    // The same order from the other process, and on every read.
    expect(
      (await b.communicator.getMessageHistory({ workflowId: 'wf-same', limit: 1_000 })).map(
        (m) => m.payload,
      ),
    ).toEqual(history);
    expect(await read()).toEqual(history);
  }, 60_000);

  it('a response taken but not acknowledged is taken again after its lease and settles its request once', async () => {
    const url = await testDatabase('comm-reply-again');
    const errors: unknown[] = [];
    const lease = { pollMs: 50, heartbeatMs: 100, endpointTtlMs: 5_000, messageLeaseMs: 300 };
    // Leases run on this clock, which only the test moves: a slow machine cannot make the
    // lease run out early, and the row is taken again exactly when the test says so.
    const clock = new SimulatedClock();
    clock.set(1_780_000_000_000);
    const start = clock.now();
    // Every take and acknowledgement is observed from the first one: spies installed after
    // the runtimes started would miss a take already on its way to the database.
    const takes = new Map<number, number[]>();
    const claims: { roles: readonly string[]; now: number }[] = [];
    const { ack, claim } = PostgresCommunicatorRows.prototype;
    let dropped: number | undefined;
    vi.spyOn(PostgresCommunicatorRows.prototype, 'claim').mockImplementation(async function (
      this: PostgresCommunicatorRows,
      p,
    ) {
      const rows = await claim.call(this, p);
      for (const row of rows) {
        if (row.role === null) takes.set(row.id, [...(takes.get(row.id) ?? []), row.deliveries]);
      }
      claims.push({ roles: p.roles, now: p.now });
      return rows;
    });
    // The first acknowledgement of a response row is lost, as if its process died before it.
    vi.spyOn(PostgresCommunicatorRows.prototype, 'ack').mockImplementation(async function (
      this: PostgresCommunicatorRows,
      endpointId,
      ids,
    ) {
      const response = ids.find((id) => takes.has(id));
      if (dropped === undefined && response !== undefined) {
        dropped = response;
        return;
      }
      return ack.call(this, endpointId, ids);
    });
    const a = await runtime(url, {
      clock,
      communicator: lease,
      onError: (error) => errors.push(error),
      agents: [echo('alpha')],
    });
    await runtime(url, { clock, communicator: lease, agents: [echo('beta')] });
    const response = await a.communicator.request(
      { from: 'alpha', to: 'beta', payload: 'q' },
      { timeout: 20_000 },
    );
    expect(response.payload).toEqual({ by: 'beta' });
    await vi.waitFor(() => expect(dropped).toBeDefined(), { timeout: 20_000 });
    const pool = new pg.Pool({ connectionString: url });
    const row = async () =>
      (
        await pool.query<{ deliveries: number; lease_expires_at: string }>(
          'SELECT deliveries, lease_expires_at FROM troupe_messages WHERE id = $1',
          [dropped],
        )
      ).rows[0];
    // Wakes alpha's process at once (it serves alpha), whatever its poll timer does.
    const wakeAlpha = () => pool.query("SELECT pg_notify('troupe_messages', 'alpha')");
    try {
      expect(await row()).toEqual({
        deliveries: 1,
        lease_expires_at: String(start + lease.messageLeaseMs),
      });
      // Until its lease runs out, the row is not taken again.
      clock.increment(lease.messageLeaseMs - 1);
      await wakeAlpha();
      // A take of alpha's process that started after the clock moved has returned.
      await vi.waitFor(
        () =>
          expect(claims.some((c) => c.roles.includes('alpha') && c.now === clock.now())).toBe(true),
        { timeout: 20_000 },
      );
      expect(takes.get(dropped!)).toEqual([1]);
      // Then it is: the second take finds no request waiting and drops the answer quietly.
      clock.increment(1);
      await wakeAlpha();
      await vi.waitFor(() => expect(takes.get(dropped!)).toEqual([1, 2]), { timeout: 20_000 });
      await vi.waitFor(async () => expect(await row()).toBeUndefined(), { timeout: 20_000 });
    } finally {
      await pool.end();
    }
    expect(errors).toEqual([]);
  }, 60_000);

  it('a lock waits across processes up to its timeout; owners are not reentrant', async () => {
    const url = await testDatabase('comm-lock-timeout');
    const a = await runtime(url);
    const b = await runtime(url);
    const lease = await a.communicator.acquireLock('wf-l', 'k', 'one', { ttlMs: 60_000 });
    expect(lease.fencingToken).toBe(1);
    await expectTroupeError(
      () => a.communicator.acquireLock('wf-l', 'k', 'one'),
      'LOCK_ALREADY_HELD',
    );
    const timedOut = await expectTroupeError(
      () => b.communicator.acquireLock('wf-l', 'k', 'two', { timeout: 300 }),
      'LOCK_TIMEOUT',
    );
    expect(timedOut.context).toMatchObject({ holder: 'one' });
    const result = await a.communicator.withLock('wf-l', 'other', 'one', () => 'done');
    expect(result).toBe('done');
    expect(await b.communicator.getLocks('wf-l')).toMatchObject([{ key: 'k', owner: 'one' }]);
  }, 60_000);

  it('refuses an endpoint lease no longer than its heartbeat; the options change nothing without PostgreSQL', async () => {
    const error = await expectTroupeError(
      () =>
        createRuntime({
          dataDir: false,
          communicator: { heartbeatMs: 1_000, endpointTtlMs: 1_000 },
        }),
      'CONFIG_ERROR',
    );
    expect(error.message).toContain('endpointTtlMs');
    const rt = await createRuntime({
      dataDir: false,
      communicator: { pollMs: 10 },
      agents: [echo('solo')],
    });
    open.push(rt);
    const _unknown = await expectTroupeError(
      () =>
        rt.communicator.sendMessage({
          from: 'solo',
          to: 'nobody',
          type: 'notification',
          payload: null,
        }),
      'UNKNOWN_RECIPIENT',
    );
  });
});
