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
import { attemptKey, attemptRecordOf } from '../../machines/queue/stored-job.js';
import { type Deferred, deferred } from '../../store/deferred.js';
import type { Store, StoreOp } from '../../store/store.js';

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
  /** Keys in the store (as far as committed batches tell). */
  readonly #stored = new Set<string>();
  /** Keys put by the batch in flight. */
  #inflightPuts = new Set<string>();
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
      if (this.#written(id) || this.#written(attemptKey(id))) this.#pending.set(id, null);
      else this.#pending.delete(id);
    }
    // Scheduled even if all cancelled out: a flush() may wait on this turn.
    this.#schedule();
  }

  /** Keys read back from the store are in it (so deleting them must be written). */
  markStored(keys: Iterable<string>): void {
    for (const key of keys) this.#stored.add(key);
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

  /** The key is in the store or being put there. */
  #written(key: string): boolean {
    return this.#stored.has(key) || this.#inflightPuts.has(key);
  }

  #schedule(): void {
    if (this.#scheduled || this.#inflight !== null) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: let the whole turn's transitions pile up first.
    setImmediate(() => this.#commit());
  }

  /** Puts `value` under `key`, noting the key as written. */
  #put(ops: StoreOp[], key: string, value: unknown): void {
    ops.push({ type: 'put', collection: 'jobs', key, value });
    this.#inflightPuts.add(key);
  }

  /** Deletes the key if it was written. */
  #deleteWritten(ops: StoreOp[], deleted: string[], key: string): void {
    if (!this.#written(key)) return;
    ops.push({ type: 'del', collection: 'jobs', key });
    deleted.push(key);
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
    const deleted: string[] = [];
    for (const [id, record] of this.#pending) {
      if (record === null) this.#deleteWritten(ops, deleted, id);
      else this.#put(ops, id, record);
      this.#deleteWritten(ops, deleted, attemptKey(id));
    }
    // Made now, from the job's state at this moment, as the full records are encoded now.
    for (const [id, record] of this.#attempts) {
      this.#put(ops, attemptKey(id), attemptRecordOf(record));
    }
    const put = this.#inflightPuts;
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
      () => this.#settle(batch, put, deleted, undefined),
      (error: unknown) =>
        this.#settle(batch, put, deleted, error ?? new Error('store batch failed')),
    );
  }

  #settle(batch: Deferred, put: Set<string>, deleted: string[], error: unknown): void {
    this.#inflight = null;
    this.#inflightPuts = new Set();
    if (error === undefined) {
      for (const key of deleted) this.#stored.delete(key);
      for (const key of put) this.#stored.add(key);
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
