/**
 * Locks with leases on PostgreSQL, global to every process on the database.
 * A lock is one row; taking it is one conditional upsert (free, or its lease
 * ran out at the caller's clock time, as for run leases), so two processes
 * never both hold it. Each grant bumps the row's fencing token.
 *
 * A waiter tries again when a release is notified (`LISTEN`), when the
 * holder's lease runs out, and every `pollMs` as the safety net. Waiters of
 * different processes are not queued: whoever tries first after a release
 * gets the lock (first come, first served holds only within a process).
 */
import type { LockLease } from '../../machines/communicator/index.js';
import type { LockRow, PostgresCommunicatorRows } from '../../store/postgres/communicator-rows.js';
import type { Clock } from '../clock.js';
import type { LockInfo } from './communicator.js';
import { closedError, failureError } from './communicator-errors.js';

interface Waiting {
  owner: string;
  wake(): void;
}

const lockId = (workflowId: string, key: string) => `${workflowId}/${key}`;

export class ClusterLocks {
  /** Callers of this process waiting for a lock, by `<workflowId>/<key>`, in arrival order. */
  readonly #waiting = new Map<string, Waiting[]>();
  #closed = false;

  constructor(
    private readonly rows: PostgresCommunicatorRows,
    private readonly clock: Clock,
    private readonly pollMs: number,
  ) {}

  /**
   * @throws TroupeError `LOCK_TIMEOUT` naming the holder, `LOCK_ALREADY_HELD`,
   * `RUNTIME_CLOSED` if the runtime closes while it waits.
   */
  async acquire(
    workflowId: string,
    key: string,
    owner: string,
    ttlMs: number,
    timeoutMs: number | null,
  ): Promise<LockLease> {
    const start = this.clock.now();
    const deadline = timeoutMs === null ? Infinity : start + timeoutMs;
    for (;;) {
      if (this.#closed) throw closedError('acquireLock');
      const now = this.clock.now();
      const granted = await this.rows.acquire({ workflowId, key, owner, now, ttlMs });
      if (granted) return leaseOf(granted);
      const holder = await this.rows.holder(workflowId, key, now);
      if (!holder) continue; // released between the two statements
      if (holder.owner === owner) {
        throw failureError({
          reason: 'lock_already_held',
          workflowId,
          key,
          owner,
          expiresAt: holder.expiresAt,
        });
      }
      const later = this.clock.now();
      if (later >= deadline) {
        throw failureError({
          reason: 'lock_timeout',
          workflowId,
          key,
          owner,
          holder: holder.owner,
          waitedMs: later - start,
        });
      }
      const until = Math.min(deadline, holder.expiresAt, later + this.pollMs);
      await this.#wait(lockId(workflowId, key), owner, Math.max(0, until - later));
    }
  }

  /** @throws TroupeError `LOCK_NOT_HELD` naming the actual holder (also when the lease ran out). */
  async release(workflowId: string, key: string, owner: string): Promise<void> {
    const now = this.clock.now();
    if (await this.rows.release(workflowId, key, owner, now)) return;
    const holder = await this.rows.holder(workflowId, key, now);
    throw failureError({
      reason: 'lock_not_held',
      workflowId,
      key,
      owner,
      holder: holder?.owner ?? null,
    });
  }

  /** The workflow's held locks; `waiting` lists this process's waiters only. */
  async list(workflowId: string): Promise<LockInfo[]> {
    const held = await this.rows.locks(workflowId, this.clock.now());
    return held.map((row) => ({
      ...leaseOf(row),
      waiting: (this.#waiting.get(lockId(workflowId, row.key)) ?? []).map((w) => w.owner),
    }));
  }

  /** A lock was released somewhere (the payload of a `LOCK_CHANNEL` notification): its waiters try again. */
  released(id: string): void {
    for (const waiting of this.#waiting.get(id) ?? []) waiting.wake();
  }

  /** Wakes every waiter, which then fails with `RUNTIME_CLOSED`. */
  close(): void {
    this.#closed = true;
    for (const list of this.#waiting.values()) for (const waiting of list) waiting.wake();
  }

  #wait(id: string, owner: string, ms: number): Promise<void> {
    return new Promise((resolve) => {
      let list = this.#waiting.get(id);
      if (!list) {
        list = [];
        this.#waiting.set(id, list);
      }
      const waiting: Waiting = {
        owner,
        wake: () => {
          this.clock.clearTimeout(timer);
          const current = this.#waiting.get(id);
          const index = current?.indexOf(waiting) ?? -1;
          if (index === -1) return;
          current!.splice(index, 1);
          if (current!.length === 0) this.#waiting.delete(id);
          resolve();
        },
      };
      list.push(waiting);
      const timer = this.clock.setTimeout(() => waiting.wake(), ms);
    });
  }
}

function leaseOf(row: LockRow): LockLease {
  const { workflowId, key, owner, acquiredAt, expiresAt, fence } = row;
  return { workflowId, key, owner, acquiredAt, expiresAt, fencingToken: fence };
}
