/**
 * Lock tables: one holder per (workflow, key), a lease after which the lock
 * is taken from a holder that crashed or hangs, and waiters served strictly
 * first come first served. A lock is never free while someone waits: a
 * release or an expiry hands it straight to the first waiter.
 *
 * Every deadline is data (`expiresAt`, `deadline`); the timers that act on
 * them are XState delayed events, armed here and re-armed by {@link rearmLocks}
 * after a restore or a load from the store.
 */
import type { Outbox } from './effects.js';
import type { CommunicatorStats, LockState, LockWaiter, WorkflowSlot } from './types.js';

/** Timer ids: a workflow id never contains '/', so these are unique. */
export const leaseTimer = (workflowId: string, key: string) => `lease:${workflowId}/${key}`;
export const waitTimer = (op: number) => `lock-wait:${op}`;

export interface AcquireParams {
  op: number;
  workflowId: string;
  key: string;
  owner: string;
  ttlMs: number;
  timeoutMs: number | null;
  now: number;
}

export function acquireLock(
  slot: WorkflowSlot,
  p: AcquireParams,
  stats: CommunicatorStats,
  out: Outbox,
): void {
  const { op, workflowId, key, owner, now } = p;
  let lock = slot.locks[key];
  // A lease that ran out but whose timer has not fired yet (a busy event loop) is over all the same.
  if (lock && lock.expiresAt <= now) {
    expireLock(slot, workflowId, key, lock.expiresAt, stats, out);
    lock = slot.locks[key];
  }
  if (!lock) {
    const fresh: LockState = { owner, acquiredAt: now, expiresAt: now + p.ttlMs, waiters: [] };
    slot.locks[key] = fresh;
    granted(workflowId, key, fresh, op, stats, out);
    return;
  }
  if (lock.owner === owner) {
    out.failed(op, {
      reason: 'lock_already_held',
      workflowId,
      key,
      owner,
      expiresAt: lock.expiresAt,
    });
    return;
  }
  if (p.timeoutMs === 0) {
    out.failed(op, {
      reason: 'lock_timeout',
      workflowId,
      key,
      owner,
      holder: lock.owner,
      waitedMs: 0,
    });
    return;
  }
  const deadline = p.timeoutMs === null ? null : now + p.timeoutMs;
  lock.waiters.push({ op, owner, ttlMs: p.ttlMs, since: now, deadline });
  if (deadline !== null) {
    out.arm(
      waitTimer(op),
      { type: 'lock.giveUp', op, workflowId, key, now: deadline },
      deadline - now,
    );
  }
}

export interface ReleaseParams {
  op: number;
  workflowId: string;
  key: string;
  owner: string;
  now: number;
}

export function releaseLock(
  slot: WorkflowSlot,
  p: ReleaseParams,
  stats: CommunicatorStats,
  out: Outbox,
): void {
  const { op, workflowId, key, owner, now } = p;
  const lock = slot.locks[key];
  if (!lock || lock.owner !== owner || lock.expiresAt <= now) {
    if (lock && lock.expiresAt <= now)
      expireLock(slot, workflowId, key, lock.expiresAt, stats, out);
    const holder = slot.locks[key]?.owner ?? null;
    out.failed(op, { reason: 'lock_not_held', workflowId, key, owner, holder });
    return;
  }
  out.cancel(leaseTimer(workflowId, key));
  handOver(slot, workflowId, key, lock, now, stats, out);
  out.done(op, { kind: 'released' });
}

/** The lease ran out: the lock goes to the first waiter, or becomes free. Stale timers are ignored. */
export function expireLock(
  slot: WorkflowSlot,
  workflowId: string,
  key: string,
  expiresAt: number,
  stats: CommunicatorStats,
  out: Outbox,
): void {
  const lock = slot.locks[key];
  if (!lock || lock.expiresAt !== expiresAt) return;
  out.cancel(leaseTimer(workflowId, key));
  stats.lockExpiries++;
  out.notice({ type: 'lock.expired', workflowId, key, owner: lock.owner, expiresAt });
  handOver(slot, workflowId, key, lock, expiresAt, stats, out);
}

/** A waiter's timeout passed before the lock came to it. */
export function giveUp(
  slot: WorkflowSlot,
  workflowId: string,
  key: string,
  op: number,
  now: number,
  out: Outbox,
): void {
  const lock = slot.locks[key];
  const index = lock ? lock.waiters.findIndex((w) => w.op === op) : -1;
  if (!lock || index === -1) return;
  const [waiter] = lock.waiters.splice(index, 1) as [LockWaiter];
  out.failed(op, {
    reason: 'lock_timeout',
    workflowId,
    key,
    owner: waiter.owner,
    holder: lock.owner,
    waitedMs: now - waiter.since,
  });
}

/**
 * Arms the timers of a slot's locks from their deadlines, after a restore or a
 * load. With `dropWaiters` (restore), waiters are dropped: their callers lived
 * in the process that is gone.
 */
export function rearmLocks(
  slot: WorkflowSlot,
  workflowId: string,
  now: number,
  dropWaiters: boolean,
  stats: CommunicatorStats,
  out: Outbox,
): void {
  for (const key of Object.keys(slot.locks)) {
    const lock = slot.locks[key]!;
    if (dropWaiters) lock.waiters = [];
    if (lock.expiresAt <= now) {
      expireLock(slot, workflowId, key, lock.expiresAt, stats, out);
      continue;
    }
    armLease(workflowId, key, lock.expiresAt, now, out);
    for (const waiter of lock.waiters) {
      if (waiter.deadline === null) continue;
      out.arm(
        waitTimer(waiter.op),
        { type: 'lock.giveUp', op: waiter.op, workflowId, key, now: waiter.deadline },
        Math.max(0, waiter.deadline - now),
      );
    }
  }
}

/** Passes a lock whose holder is done (released or expired) to the first waiter, else frees it. */
function handOver(
  slot: WorkflowSlot,
  workflowId: string,
  key: string,
  lock: LockState,
  now: number,
  stats: CommunicatorStats,
  out: Outbox,
): void {
  const next = lock.waiters.shift();
  if (!next) {
    delete slot.locks[key];
    out.changed(workflowId);
    return;
  }
  out.cancel(waitTimer(next.op));
  lock.owner = next.owner;
  lock.acquiredAt = now;
  lock.expiresAt = now + next.ttlMs;
  granted(workflowId, key, lock, next.op, stats, out);
}

function granted(
  workflowId: string,
  key: string,
  lock: LockState,
  op: number,
  stats: CommunicatorStats,
  out: Outbox,
): void {
  stats.lockGrants++;
  armLease(workflowId, key, lock.expiresAt, lock.acquiredAt, out);
  out.changed(workflowId);
  const { owner, acquiredAt, expiresAt } = lock;
  out.done(op, { kind: 'lock', lease: { workflowId, key, owner, acquiredAt, expiresAt } });
}

function armLease(
  workflowId: string,
  key: string,
  expiresAt: number,
  now: number,
  out: Outbox,
): void {
  out.arm(
    leaseTimer(workflowId, key),
    { type: 'lock.expire', workflowId, key, expiresAt },
    Math.max(0, expiresAt - now),
  );
}
