/**
 * The communicator across real processes on one PostgreSQL database: this
 * process runs agent `alpha`; child processes (test/fixtures/pg-comm-peer.ts)
 * run `beta`, `gamma`, ... and are driven through their stdin.
 */
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, defineAgent, type Runtime } from '../../src/index.js';
import type { AgentMessage } from '../../src/schemas/agent-message.js';
import { expectTroupeError } from '../core/helpers.js';
import { bundleFixture, killAll, Worker as Process, type Signal } from '../durability/processes.js';
import { testDatabase } from '../support/postgres.js';

let peer: { file: string; remove: () => Promise<void> };
beforeAll(async () => {
  peer = await bundleFixture('pg-comm-peer');
});
afterAll(() => peer.remove());
afterEach(() => killAll());

const FAST = 200;

/** This process's runtime, with agent `alpha` recording what it receives. */
async function local(url: string, received: AgentMessage[] = []): Promise<Runtime> {
  return createRuntime({
    store: { postgres: { connectionString: url } },
    remoteAgents: { enabled: false },
    communicator: { pollMs: FAST, heartbeatMs: FAST, endpointTtlMs: 10 * FAST },
    agents: [
      defineAgent({
        role: 'alpha',
        run: async () => null,
        onMessage: (message) => {
          received.push(message);
          return message.type === 'request' ? { echo: message.payload, by: 'alpha' } : undefined;
        },
      }),
    ],
  });
}

async function start(url: string, roles: string, env: Record<string, string> = {}) {
  const child = new Process(peer.file, [url, roles], env);
  await child.waitFor('ready');
  return child;
}

/**
 * A fresh database, child processes running `peers` (each a comma-separated
 * role list) and this process's runtime; closes the runtime after `body`.
 */
async function scenario<const P extends readonly string[]>(
  name: string,
  peers: P,
  body: (
    rt: Runtime,
    children: { [K in keyof P]: Process },
    received: AgentMessage[],
  ) => Promise<void>,
  env: Record<string, string> = {},
): Promise<void> {
  const url = await testDatabase(name);
  const children = await Promise.all(peers.map((roles) => start(url, roles, env)));
  const received: AgentMessage[] = [];
  const rt = await local(url, received);
  try {
    await body(rt, children as { [K in keyof P]: Process }, received);
  } finally {
    await rt.close();
  }
}

let commands = 0;
/** Runs `rt.communicator[op](...args)` in the child; its result line. */
async function command(child: Process, op: string, ...args: unknown[]): Promise<Signal> {
  const n = ++commands;
  child.writeLine(JSON.stringify({ n, op, args }));
  return child.waitFor('result', String(n));
}

/** Waits until `check` holds, looking again every 50 ms. */
async function until(check: () => boolean | Promise<boolean>): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 50));
}

describe('communicator across processes (PostgreSQL)', () => {
  it('a request-response between agents in two processes, both ways', async () => {
    await scenario('comm-request', ['beta'], async (rt, [beta]) => {
      const response = await rt.communicator.request(
        { from: 'alpha', to: 'beta', payload: { q: 1 }, workflowId: 'wf-1' },
        { timeout: 20_000 },
      );
      expect(response.type).toBe('response');
      expect(response.from).toBe('beta');
      expect(response.to).toBe('alpha');
      expect(response.payload).toEqual({ echo: { q: 1 }, by: 'beta', pid: beta.pid });
      // beta's process recorded the request in its history, as if sent there.
      const seen = await beta.waitFor('message');
      expect(seen).toMatchObject({ role: 'beta', type: 'request', from: 'alpha' });

      const back = await command(
        beta,
        'request',
        {
          from: 'beta',
          to: 'alpha',
          payload: 'ping',
        },
        { timeout: 20_000 },
      );
      expect(back.ok).toBe(true);
      expect((back.value as AgentMessage).payload).toEqual({ echo: 'ping', by: 'alpha' });
    });
  }, 60_000);

  it('a direct message and a broadcast reach agents of other processes, each once', async () => {
    await scenario(
      'comm-broadcast',
      ['beta', 'gamma,team:x'],
      async (rt, [beta, gamma], received) => {
        const sent = await rt.communicator.sendMessage({
          from: 'alpha',
          to: 'gamma',
          type: 'notification',
          payload: { n: 1 },
        });
        const direct = await gamma.waitFor('message');
        expect(direct).toMatchObject({ role: 'gamma', id: sent.id, payload: { n: 1 } });

        const receipt = await rt.communicator.broadcast({
          from: 'alpha',
          type: 'notification',
          payload: 'all',
        });
        expect([...receipt.recipients].sort()).toEqual(['beta', 'gamma', 'team:x']);
        const byRole = async (child: Process, role: string) => {
          await until(() =>
            child.signals.some((s) => s.role === role && s.id === receipt.message.id),
          );
        };
        await Promise.all([byRole(beta, 'beta'), byRole(gamma, 'gamma'), byRole(gamma, 'team:x')]);

        // A broadcast from another process reaches alpha here, and a role group only its members.
        const fromBeta = await command(
          beta,
          'broadcast',
          { from: 'beta', type: 'notification', payload: 'hi' },
          { role: 'team' },
        );
        expect(fromBeta).toMatchObject({ ok: true });
        expect((fromBeta.value as { recipients: string[] }).recipients).toEqual(['team:x']);
        const everyone = await command(beta, 'broadcast', {
          from: 'beta',
          type: 'notification',
          payload: 'all',
        });
        expect((everyone.value as { recipients: string[] }).recipients.sort()).toEqual([
          'alpha',
          'gamma',
          'team:x',
        ]);
        const everyoneId = (everyone.value as { message: AgentMessage }).message.id;
        await until(() => received.some((m) => m.id === everyoneId));
        await until(
          () =>
            gamma.signals.filter((s) => s.signal === 'message' && s.id === everyoneId).length === 2,
        );

        // Exactly once each: nothing more arrives for any of these messages.
        await rt.communicator.request({ from: 'alpha', to: 'gamma', payload: 'sync' });
        const count = (id: string) =>
          gamma.signals.filter((s) => s.signal === 'message' && s.id === id).length;
        expect(count(sent.id)).toBe(1);
        expect(count(receipt.message.id)).toBe(2);
        expect(count(everyoneId)).toBe(2);
        expect(received.filter((m) => m.id === everyoneId)).toHaveLength(1);

        // Nobody anywhere serves `nobody`.
        const unknown = await expectTroupeError(
          () =>
            rt.communicator.sendMessage({
              from: 'alpha',
              to: 'nobody',
              type: 'notification',
              payload: null,
            }),
          'UNKNOWN_RECIPIENT',
        );
        // The roles it lists are those of every process.
        expect(unknown.context).toMatchObject({
          agent: 'nobody',
          known: ['alpha', 'beta', 'gamma', 'team:x'],
        });
      },
    );
  }, 60_000);

  it('an expectedVersion conflict between two processes is detected whichever wrote first', async () => {
    await scenario('comm-version', ['beta'], async (rt, [beta]) => {
      // This process first.
      const mine = await rt.communicator.updateSharedContext(
        'wf-v',
        'alpha',
        { a: 1 },
        {
          expectedVersion: 0,
        },
      );
      expect(mine.version).toBe(1);
      const theirs = await command(
        beta,
        'updateSharedContext',
        'wf-v',
        'beta',
        { b: 1 },
        {
          expectedVersion: 0,
        },
      );
      expect(theirs).toMatchObject({
        ok: false,
        code: 'VERSION_CONFLICT',
        context: { workflowId: 'wf-v', expectedVersion: 0, actualVersion: 1 },
      });

      // The other process first.
      const first = await command(
        beta,
        'updateSharedContext',
        'wf-v',
        'beta',
        { b: 2 },
        {
          expectedVersion: 1,
        },
      );
      expect(first).toMatchObject({ ok: true, value: { version: 2, data: { a: 1, b: 2 } } });
      const late = await expectTroupeError(
        () =>
          rt.communicator.updateSharedContext('wf-v', 'alpha', { a: 2 }, { expectedVersion: 1 }),
        'VERSION_CONFLICT',
      );
      expect(late.context).toMatchObject({ expectedVersion: 1, actualVersion: 2 });

      // Both see the same context and history.
      const shared = await rt.communicator.getSharedContext('wf-v');
      expect(shared).toMatchObject({ version: 2, data: { a: 1, b: 2 }, updatedBy: 'beta' });
      const read = await command(beta, 'getSharedContext', 'wf-v');
      expect(read.value).toMatchObject({ version: 2, data: { a: 1, b: 2 } });
      const history = await rt.communicator.getContextHistory('wf-v', 'b');
      expect(history.map((change) => [change.version, change.value])).toEqual([[2, 2]]);
    });
  }, 60_000);

  it('a global lock held in one process blocks the other until release, then until its lease runs out', async () => {
    await scenario('comm-locks', ['beta'], async (rt, [beta]) => {
      const held = await command(beta, 'acquireLock', 'wf-l', 'db', 'beta', { ttlMs: 60_000 });
      expect(held.ok).toBe(true);
      const heldLease = held.value as { fencingToken: number; owner: string };
      expect(heldLease.owner).toBe('beta');

      const busy = await expectTroupeError(
        () => rt.communicator.acquireLock('wf-l', 'db', 'alpha', { timeout: 0 }),
        'LOCK_TIMEOUT',
      );
      expect(busy.context).toMatchObject({ holder: 'beta' });
      await expectTroupeError(
        () => rt.communicator.releaseLock('wf-l', 'db', 'alpha'),
        'LOCK_NOT_HELD',
      );

      let granted = false;
      const waiting = rt.communicator
        .acquireLock('wf-l', 'db', 'alpha', { timeout: 60_000, ttlMs: 60_000 })
        .then((lease) => {
          granted = true;
          return lease;
        });
      await until(async () => {
        const [lock] = await rt.communicator.getLocks('wf-l');
        return lock?.waiting.includes('alpha') === true;
      });
      const locks = await rt.communicator.getLocks('wf-l');
      expect(locks).toMatchObject([{ key: 'db', owner: 'beta', waiting: ['alpha'] }]);
      expect(granted).toBe(false);
      const released = await command(beta, 'releaseLock', 'wf-l', 'db', 'beta');
      expect(released.ok).toBe(true);
      const lease = await waiting;
      expect(lease.owner).toBe('alpha');
      expect(lease.fencingToken).toBeGreaterThan(heldLease.fencingToken);
      await rt.communicator.releaseLock('wf-l', 'db', 'alpha');

      // A holder that dies keeps the lock only until its lease runs out.
      const short = await command(beta, 'acquireLock', 'wf-l', 'db', 'beta', { ttlMs: 1_500 });
      const shortLease = short.value as { expiresAt: number; fencingToken: number };
      await beta.kill();
      const after = await rt.communicator.acquireLock('wf-l', 'db', 'alpha', { timeout: 60_000 });
      expect(after.acquiredAt).toBeGreaterThanOrEqual(shortLease.expiresAt);
      expect(after.fencingToken).toBeGreaterThan(shortLease.fencingToken);
    });
  }, 60_000);

  it('a request whose responder process is SIGKILLed times out with REQUEST_TIMEOUT', async () => {
    await scenario(
      'comm-kill',
      ['beta'],
      async (rt, [beta]) => {
        const request = rt.communicator.request(
          { from: 'alpha', to: 'beta', payload: 'are you there' },
          { timeout: 3_000 },
        );
        request.catch(() => undefined);
        await beta.waitFor('request');
        await beta.kill();
        const error = await expectTroupeError(() => request, 'REQUEST_TIMEOUT');
        expect(error.context).toMatchObject({ agent: 'beta', timeoutMs: 3_000 });
      },
      { HANG: '1' },
    );
  }, 60_000);
  it('two processes writing history into one workflow at once: no entry lost, one stable order', async () => {
    await scenario('comm-history-two', ['beta', 'gamma'], async (rt, [beta, gamma]) => {
      const burst = (child: Process, role: string) =>
        Promise.all(
          Array.from({ length: 100 }, (_, i) =>
            command(child, 'sendMessage', {
              from: 'user',
              to: role,
              type: 'notification',
              payload: { role, i },
              workflowId: 'wf-h',
            }),
          ),
        );
      const results = (await Promise.all([burst(beta, 'beta'), burst(gamma, 'gamma')])).flat();
      expect(results.every((result) => result.ok)).toBe(true);
      const sent = results.map((result) => (result.value as AgentMessage).id);
      // Both children's writes are in the store once their sends resolved and they flushed.
      await Promise.all([command(beta, 'flush'), command(gamma, 'flush')]);
      const read = () => rt.communicator.getMessageHistory({ workflowId: 'wf-h', limit: 1_000 });
      const history = await read();
      expect(history.map((m) => m.id).sort()).toEqual([...sent].sort());
      // Time order across the processes; each process's own order kept.
      const stamps = history.map((m) => m.timestamp);
      expect(stamps).toEqual([...stamps].sort((x, y) => x - y));
      for (const role of ['beta', 'gamma']) {
        expect(
          history
            .map((m) => m.payload as { role: string; i: number })
            .filter((p) => p.role === role)
            .map((p) => p.i),
        ).toEqual(Array.from({ length: 100 }, (_, i) => i));
      }
      // Every reader, every time, sees the same order.
      expect((await read()).map((m) => m.id)).toEqual(history.map((m) => m.id));
      const fromChild = await command(beta, 'getMessageHistory', {
        workflowId: 'wf-h',
        limit: 1_000,
      });
      expect((fromChild.value as AgentMessage[]).map((m) => m.id)).toEqual(
        history.map((m) => m.id),
      );
    });
  }, 60_000);

  it('at-least-once: a receiver SIGKILLed after taking a message, before delivering it; the next one gets it once, same id, marked redelivered', async () => {
    const url = await testDatabase('comm-redeliver');
    // Dies right after the statement that leased the rows, before any delivery.
    const doomed = await start(url, 'beta', { DIE_AFTER_CLAIM: '1', LEASE_MS: '1500' });
    const rt = await local(url);
    try {
      const sent = await rt.communicator.sendMessage({
        from: 'alpha',
        to: 'beta',
        type: 'notification',
        payload: { n: 1 },
        workflowId: 'wf-r',
      });
      const claimed = await doomed.waitFor('claimed');
      expect(claimed.ids).toContain(sent.id);
      await expect(doomed.finished()).rejects.toThrow(/SIGKILL/);
      // The row is still there, leased by the dead process.
      const pool = new pg.Pool({ connectionString: url });
      try {
        const rows = async () =>
          (
            await pool.query<{ deliveries: number; lease_owner: string | null }>(
              "SELECT deliveries, lease_owner FROM troupe_messages WHERE message->>'id' = $1",
              [sent.id],
            )
          ).rows;
        expect(await rows()).toEqual([{ deliveries: 1, lease_owner: expect.any(String) }]);

        const heir = await start(url, 'beta', { LEASE_MS: '1500' });
        const request = rt.communicator.request(
          { from: 'alpha', to: 'beta', payload: 'after', workflowId: 'wf-r' },
          { timeout: 30_000 },
        );
        await until(() => heir.signals.some((s) => s.signal === 'message' && s.id === sent.id));
        const response = await request;
        expect(response.payload).toEqual({ echo: 'after', by: 'beta', pid: heir.pid });
        // Acknowledged: the row is gone, so nothing can deliver it again.
        await until(async () => (await rows()).length === 0);
        const seen = heir.signals.filter((s) => s.signal === 'message' && s.id === sent.id);
        expect(seen).toEqual([
          expect.objectContaining({
            role: 'beta',
            id: sent.id,
            payload: { n: 1 },
            redelivered: true,
            deliveries: 2,
          }),
        ]);
        // The heir's history holds it once, under its id.
        const history = await command(heir, 'getMessageHistory', { workflowId: 'wf-r' });
        const ids = (history.value as AgentMessage[]).map((m) => m.id);
        expect(ids.filter((id) => id === sent.id)).toHaveLength(1);
      } finally {
        await pool.end();
      }
    } finally {
      await rt.close();
    }
  }, 60_000);
});
