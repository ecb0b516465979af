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
import { type Deferred, deferred } from '../../store/deferred.js';
import type { Store, StoreOp } from '../../store/store.js';

export class JobWriteBuffer {
  readonly #store: Store | null;
  /** Job id -> latest record, or null to delete. */
  #pending = new Map<string, JobRecord | null>();
  /** Settles when the pending writes are committed. */
  #next: Deferred | null = null;
  #inflight: Deferred | null = null;
  #scheduled = false;
  /** Ids whose record is in the store (as far as committed batches tell). */
  readonly #stored = new Set<string>();
  /** Ids put by the batch in flight. */
  #inflightPuts = new Set<string>();
  readonly #errorListeners = new Set<(error: unknown) => void>();

  constructor(store: Store | null) {
    this.#store = store;
  }

  /** Records to put and ids to delete, in that order. */
  write(puts: readonly JobRecord[], deletes: readonly string[]): void {
    if (this.#store === null) return;
    for (const record of puts) this.#pending.set(record.id, record);
    for (const id of deletes) {
      if (this.#stored.has(id) || this.#inflightPuts.has(id)) this.#pending.set(id, null);
      else this.#pending.delete(id);
    }
    // Scheduled even if all cancelled out: a flush() may wait on this turn.
    this.#schedule();
  }

  /** Records read back from the store are in it (so deleting them must be written). */
  markStored(ids: Iterable<string>): void {
    for (const id of ids) this.#stored.add(id);
  }

  /** Resolves once every write handed in so far is committed; rejects if its batch failed. */
  flush(): Promise<void> {
    if (this.#pending.size > 0) {
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

  #schedule(): void {
    if (this.#scheduled || this.#inflight !== null) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: let the whole turn's transitions pile up first.
    setImmediate(() => this.#commit());
  }

  #commit(): void {
    this.#scheduled = false;
    const store = this.#store;
    if (store === null || this.#pending.size === 0) {
      // Everything pending cancelled out (written and dropped in one turn).
      this.#next?.resolve();
      this.#next = null;
      return;
    }
    const ops: StoreOp[] = [];
    const written = this.#pending;
    for (const [key, record] of written) {
      ops.push(
        record === null
          ? { type: 'del', collection: 'jobs', key }
          : { type: 'put', collection: 'jobs', key, value: record },
      );
      if (record !== null) this.#inflightPuts.add(key);
    }
    this.#pending = new Map();
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
      () => this.#settle(batch, written, undefined),
      (error: unknown) => this.#settle(batch, written, error ?? new Error('store batch failed')),
    );
  }

  #settle(batch: Deferred, written: Map<string, JobRecord | null>, error: unknown): void {
    this.#inflight = null;
    this.#inflightPuts = new Set();
    if (error === undefined) {
      for (const [id, record] of written) {
        if (record === null) this.#stored.delete(id);
        else this.#stored.add(id);
      }
      batch.resolve();
    } else {
      batch.reject(error);
      for (const listener of this.#errorListeners) listener(error);
    }
    if (this.#pending.size > 0 || this.#next !== null) this.#schedule();
  }
}

/** The persister child: hands the machine's writes to the buffer. */
export function createJobPersister(
  buffer: JobWriteBuffer,
): CallbackActorLogic<PersisterCommand, NonReducibleUnknown> {
  return fromCallback<PersisterCommand>(({ receive }) => {
    receive((command) => buffer.write(command.puts, command.deletes));
  });
}
