/**
 * Writes job records to the store in batches.
 *
 * The queue machine sends every changed durable record to ONE persister
 * child; the {@link JobWriteBuffer} behind it keeps only the latest state per
 * job id and writes everything gathered during one turn of the event loop as
 * one atomic `store.batch` (a job that is enqueued, run and finished within a
 * turn costs one write, not three). One batch is in flight at a time, so the
 * writes of one job reach the store in order.
 *
 * Records are passed by reference and encoded when the batch is handed to
 * the store (both backends encode synchronously inside `batch()`), so what is
 * written is the record's state at that moment, never a torn one.
 *
 * A job that comes and goes between two batches (enqueued, run, finished and
 * dropped by `keepFinishedJobs`) costs no write at all: a delete of a key that
 * was never written is skipped.
 */
import { type CallbackActorLogic, fromCallback, type NonReducibleUnknown } from 'xstate';
import type { JobRecord } from '../../machines/queue/job.js';
import type { PersisterCommand } from '../../machines/queue/queue-types.js';
import { attemptKey, attemptRecordOf, parseJobKey } from '../../machines/queue/stored-job.js';
import { type Deferred, deferred } from '../../store/deferred.js';
import type { Store, StoreOp } from '../../store/store.js';

/** Which of a job's keys are written, as bits: its full record, its attempt record. */
const RECORD = 1;
const ATTEMPT = 2;

export class JobWriteBuffer {
  readonly #store: Store | null;
  /** Job id -> latest full record, or null to delete the job's records. */
  #pending = new Map<string, JobRecord | null>();
  /** Jobs whose attempt record to write (when no full record of theirs is pending). */
  #attempts = new Map<string, JobRecord>();
  /** Settles when the pending writes are committed. */
  #next: Deferred | null = null;
  #inflight: Deferred | null = null;
  #scheduled = false;
  /** Job id -> its keys in the store (as far as committed batches tell): bits. */
  readonly #stored = new Map<string, number>();
  /** Job id -> its keys put by the batch in flight. */
  #putting = new Map<string, number>();
  readonly #errorListeners = new Set<(error: unknown) => void>();

  constructor(store: Store | null) {
    this.#store = store;
  }

  /**
   * Full records to put, attempt records to put, jobs to delete. A full
   * record covers the job's attempt record: a pending one is dropped, a
   * stored one is deleted in the same batch.
   */
  write(command: Pick<PersisterCommand, 'puts' | 'attempts' | 'deletes'>): void {
    if (this.#store === null) return;
    for (const record of command.puts) {
      this.#pending.set(record.id, record);
      this.#attempts.delete(record.id);
    }
    for (const record of command.attempts) {
      if (!this.#pending.get(record.id)) this.#attempts.set(record.id, record);
    }
    for (const id of command.deletes) {
      this.#attempts.delete(id);
      if (this.#written(id) !== 0) this.#pending.set(id, null);
      else this.#pending.delete(id);
    }
    // Scheduled even if all cancelled out: a flush() may wait on this turn.
    this.#schedule();
  }

  /** Keys read back from the store are in it (so deleting them must be written). */
  markStored(keys: Iterable<string>): void {
    for (const key of keys) {
      const { id, attempt } = parseJobKey(key);
      this.#stored.set(id, (this.#stored.get(id) ?? 0) | (attempt ? ATTEMPT : RECORD));
    }
  }

  /** Resolves once every write handed in so far is committed; rejects if its batch failed. */
  flush(): Promise<void> {
    if (this.#hasPending()) {
      this.#next ??= deferred();
      this.#schedule();
      return this.#next.promise;
    }
    return this.#inflight?.promise ?? Promise.resolve();
  }

  /** Called with each failed batch's error. Returns an unsubscribe function. */
  onError(listener: (error: unknown) => void): () => void {
    this.#errorListeners.add(listener);
    return () => this.#errorListeners.delete(listener);
  }

  #hasPending(): boolean {
    return this.#pending.size > 0 || this.#attempts.size > 0;
  }

  /** The job's keys that are in the store or being put there. */
  #written(id: string): number {
    return (this.#stored.get(id) ?? 0) | (this.#putting.get(id) ?? 0);
  }

  #schedule(): void {
    if (this.#scheduled || this.#inflight !== null) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: let the whole turn's transitions pile up first.
    setImmediate(() => this.#commit());
  }

  #commit(): void {
    this.#scheduled = false;
    const store = this.#store;
    if (store === null || !this.#hasPending()) {
      // Everything pending cancelled out (written and dropped in one turn).
      this.#next?.resolve();
      this.#next = null;
      return;
    }
    const ops: StoreOp[] = [];
    const putting = this.#putting;
    /** Job id -> its keys this batch deletes. */
    const deleted = new Map<string, number>();
    for (const [id, record] of this.#pending) {
      const written = this.#written(id);
      let deletes = written & ATTEMPT;
      if (record !== null) {
        ops.push({ type: 'put', collection: 'jobs', key: id, value: record });
        putting.set(id, (putting.get(id) ?? 0) | RECORD);
      } else {
        deletes |= written & RECORD;
        if (deletes & RECORD) ops.push({ type: 'del', collection: 'jobs', key: id });
      }
      if (deletes & ATTEMPT) ops.push({ type: 'del', collection: 'jobs', key: attemptKey(id) });
      if (deletes !== 0) deleted.set(id, deletes);
    }
    // Made now, from the job's state at this moment, as the full records are encoded now.
    for (const [id, record] of this.#attempts) {
      ops.push({
        type: 'put',
        collection: 'jobs',
        key: attemptKey(id),
        value: attemptRecordOf(record),
      });
      putting.set(id, (putting.get(id) ?? 0) | ATTEMPT);
    }
    this.#pending = new Map();
    this.#attempts = new Map();
    const batch = this.#next ?? deferred();
    this.#next = null;
    this.#inflight = batch;
    let committed: Promise<void>;
    try {
      committed = store.batch(ops);
    } catch (error) {
      committed = Promise.reject(error);
    }
    committed.then(
      () => this.#settle(batch, putting, deleted, undefined),
      (error: unknown) =>
        this.#settle(batch, putting, deleted, error ?? new Error('store batch failed')),
    );
  }

  #settle(
    batch: Deferred,
    put: Map<string, number>,
    deleted: Map<string, number>,
    error: unknown,
  ): void {
    this.#inflight = null;
    this.#putting = new Map();
    if (error === undefined) {
      const stored = this.#stored;
      for (const [id, keys] of deleted) {
        const left = (stored.get(id) ?? 0) & ~keys;
        if (left === 0) stored.delete(id);
        else stored.set(id, left);
      }
      for (const [id, keys] of put) stored.set(id, (stored.get(id) ?? 0) | keys);
      batch.resolve();
    } else {
      batch.reject(error);
      for (const listener of this.#errorListeners) listener(error);
    }
    if (this.#hasPending() || this.#next !== null) this.#schedule();
  }
}

/** The persister child: hands the machine's writes to the buffer. */
export function createJobPersister(
  buffer: JobWriteBuffer,
): CallbackActorLogic<PersisterCommand, NonReducibleUnknown> {
  return fromCallback<PersisterCommand>(({ receive }) => {
    receive((command) => buffer.write(command));
  });
}
