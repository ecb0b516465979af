import { afterEach, describe, expect, it } from 'vitest';
import { createActor } from 'xstate';
import type { Runtime } from '../../src/index.js';
import {
  type CommunicatorEmitted,
  createCommunicatorMachine,
} from '../../src/machines/communicator/index.js';
import { expectTroupeError } from '../core/helpers.js';
import { advance, EPOCH, memoryRuntime, settle, simulatedClock } from './helpers.js';

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

describe('ORCH-014 context locking', () => {
  it('ORCH-014 gives mutual exclusion: one holder at a time, no lost update', async () => {
    ({ rt } = await memoryRuntime());
    const c = rt.communicator;
    let inside = 0;
    let maxInside = 0;
    let counter = 0;
    const worker = (i: number) =>
      c.withLock('wf', 'schema', `worker-${i}`, async () => {
        inside++;
        maxInside = Math.max(maxInside, inside);
        const read = counter;
        await settle(1); // a yield inside the section: others must not get in
        counter = read + 1;
        inside--;
      });
    await Promise.all(Array.from({ length: 20 }, (_, i) => worker(i)));
    expect(maxInside).toBe(1);
    expect(counter).toBe(20);
    expect(await c.getLocks('wf')).toEqual([]);
  });

  it('ORCH-014 serves waiters first come, first served under contention', async () => {
    ({ rt } = await memoryRuntime());
    const c = rt.communicator;
    await c.acquireLock('wf', 'k', 'holder');
    const order: string[] = [];
    const waiters = ['w1', 'w2', 'w3', 'w4', 'w5'].map((owner) =>
      c.acquireLock('wf', 'k', owner, { timeout: Infinity }).then(async (lease) => {
        order.push(lease.owner);
        await settle(1);
        await c.releaseLock('wf', 'k', owner);
      }),
    );
    await settle();
    expect(await c.getLocks('wf')).toEqual([
      expect.objectContaining({ owner: 'holder', waiting: ['w1', 'w2', 'w3', 'w4', 'w5'] }),
    ]);
    // A latecomer queues behind them even though it asks while the lock changes hands.
    const late = c.acquireLock('wf', 'k', 'late', { timeout: Infinity }).then((lease) => {
      order.push(lease.owner);
      return c.releaseLock('wf', 'k', 'late');
    });
    await c.releaseLock('wf', 'k', 'holder');
    await Promise.all([...waiters, late]);
    expect(order).toEqual(['w1', 'w2', 'w3', 'w4', 'w5', 'late']);
  });

  it('ORCH-014 takes the lock from a crashed holder when its lease runs out (simulated clock)', async () => {
    let clock: Awaited<ReturnType<typeof memoryRuntime>>['clock'];
    ({ rt, clock } = await memoryRuntime());
    const c = rt.communicator;
    const expired: string[] = [];
    c.on('lock.expired', (notice) => expired.push(`${notice.owner}@${notice.expiresAt - EPOCH}`));

    const crashed = await c.acquireLock('wf', 'k', 'crashed', { ttlMs: 1_000 });
    expect(crashed).toEqual({
      workflowId: 'wf',
      key: 'k',
      owner: 'crashed',
      acquiredAt: EPOCH,
      expiresAt: EPOCH + 1_000,
    });
    let granted = false;
    const next = c.acquireLock('wf', 'k', 'next', { ttlMs: 500, timeout: 10_000 }).then((lease) => {
      granted = true;
      return lease;
    });
    await advance(clock, 999);
    expect(granted).toBe(false);
    await advance(clock, 1);
    expect(await next).toMatchObject({
      owner: 'next',
      acquiredAt: EPOCH + 1_000,
      expiresAt: EPOCH + 1_500,
    });
    expect(expired).toEqual(['crashed@1000']);

    // The crashed holder comes back and tries to release: it no longer holds the lock.
    const error = await expectTroupeError(
      () => c.releaseLock('wf', 'k', 'crashed'),
      'LOCK_NOT_HELD',
    );
    expect(error.message).toContain('"crashed" does not hold this lock; "next" does');
    await advance(clock, 500);
    expect(await c.getLocks('wf')).toEqual([]);
    expect(expired).toEqual(['crashed@1000', 'next@1500']);
  });

  it('ORCH-014 rejects a release by someone who does not hold the lock', async () => {
    ({ rt } = await memoryRuntime());
    const c = rt.communicator;
    const free = await expectTroupeError(() => c.releaseLock('wf', 'k', 'anyone'), 'LOCK_NOT_HELD');
    expect(free.message).toContain('"anyone" does not hold this lock; it is free');
    await c.acquireLock('wf', 'k', 'owner');
    const other = await expectTroupeError(
      () => c.releaseLock('wf', 'k', 'intruder'),
      'LOCK_NOT_HELD',
    );
    expect(other.context).toMatchObject({ owner: 'intruder', holder: 'owner', key: 'k' });
    expect(await c.getLocks('wf')).toEqual([expect.objectContaining({ owner: 'owner' })]);
  });

  it('ORCH-014 withLock releases the lock when fn throws, and rethrows its error', async () => {
    ({ rt } = await memoryRuntime());
    const c = rt.communicator;
    await expect(
      c.withLock('wf', 'k', 'a', () => {
        throw new Error('migration failed');
      }),
    ).rejects.toThrow('migration failed');
    expect(await c.getLocks('wf')).toEqual([]);
    // Free at once: a try-once acquire succeeds.
    expect(await c.withLock('wf', 'k', 'b', (lease) => lease.owner, { timeout: 0 })).toBe('b');
  });

  it('withLock reports a lease that ran out before fn finished', async () => {
    let clock: Awaited<ReturnType<typeof memoryRuntime>>['clock'];
    ({ rt, clock } = await memoryRuntime());
    const c = rt.communicator;
    const slow = c.withLock('wf', 'k', 'slow', () => advance(clock, 2_000), { ttlMs: 1_000 });
    const error = await expectTroupeError(() => slow, 'LOCK_NOT_HELD');
    expect(error.message).toContain('the lease of "slow" (ttlMs 1000) ran out before fn finished');
  });

  it('a waiter gives up after its timeout with LOCK_TIMEOUT naming the holder; the queue moves on', async () => {
    let clock: Awaited<ReturnType<typeof memoryRuntime>>['clock'];
    ({ rt, clock } = await memoryRuntime());
    const c = rt.communicator;
    await c.acquireLock('wf', 'k', 'holder', { ttlMs: 60_000 });
    // Caught at once: it rejects while the clock advances, before anyone awaits it.
    const impatient = c.acquireLock('wf', 'k', 'impatient', { timeout: 100 }).catch((e) => e);
    const patient = c.acquireLock('wf', 'k', 'patient', { timeout: 10_000 });
    await advance(clock, 100);
    const error = await expectTroupeError(async () => {
      throw await impatient;
    }, 'LOCK_TIMEOUT');
    expect(error.message).toContain(
      '"impatient" gave up after 100 ms; the lock is held by "holder"',
    );
    expect((await c.getLocks('wf'))[0]!.waiting).toEqual(['patient']);
    await c.releaseLock('wf', 'k', 'holder');
    expect((await patient).owner).toBe('patient');

    await expectTroupeError(() => c.acquireLock('wf', 'k', 'now', { timeout: 0 }), 'LOCK_TIMEOUT');
    const again = await expectTroupeError(
      () => c.acquireLock('wf', 'k', 'patient'),
      'LOCK_ALREADY_HELD',
    );
    expect(again.message).toContain('Locks are not reentrant');
    await expectTroupeError(() => c.acquireLock('wf', 'k', 'x', { ttlMs: 0 }), 'INVALID_INPUT');
    await expectTroupeError(() => c.acquireLock('wf', '', 'x'), 'INVALID_INPUT');
  });
});

describe('communicator machine restore', () => {
  it('re-arms lease timers from their deadlines after a JSON round trip of its snapshot', async () => {
    const clock = simulatedClock();
    const machine = createCommunicatorMachine();
    const first = createActor(machine, { clock }).start();
    const now = clock.now();
    first.send({
      type: 'lock.acquire',
      op: 1,
      workflowId: 'wf',
      key: 'k',
      owner: 'a',
      ttlMs: 1_000,
      timeoutMs: null,
      now,
    });
    first.send({
      type: 'lock.acquire',
      op: 2,
      workflowId: 'wf',
      key: 'k',
      owner: 'b',
      ttlMs: 1_000,
      timeoutMs: null,
      now,
    });
    const persisted = JSON.parse(JSON.stringify(first.getPersistedSnapshot()));
    first.stop();

    clock.increment(400);
    const restored = createActor(machine, { clock, snapshot: persisted });
    const emitted: CommunicatorEmitted[] = [];
    restored.on('*', (event) => emitted.push(event));
    restored.start();
    restored.send({ type: 'communicator.recover', now: clock.now() });
    // The waiter lived in the old process: it is dropped, not granted later.
    expect(restored.getSnapshot().context.workflows.wf!.locks.k).toMatchObject({
      owner: 'a',
      waiters: [],
    });

    clock.increment(599);
    expect(emitted.filter((e) => e.type === 'lock.expired')).toEqual([]);
    clock.increment(1);
    expect(emitted.filter((e) => e.type === 'lock.expired')).toEqual([
      { type: 'lock.expired', workflowId: 'wf', key: 'k', owner: 'a', expiresAt: EPOCH + 1_000 },
    ]);
    expect(restored.getSnapshot().context.workflows.wf!.locks).toEqual({});
    restored.stop();
  });
});
