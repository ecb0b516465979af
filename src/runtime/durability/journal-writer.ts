import { type Deferred, deferred } from '../../store/deferred.js';
import { workflowSeqKey } from '../../store/keys.js';
import type { Store, StoreOp } from '../../store/store.js';

/**
 * Group commit for the journal and checkpoints. Writes requested during one
 * turn of the event loop go to the store as one atomic batch, so a burst of
 * task completions costs one write. `flushed()` resolves once everything
 * requested so far is durable, and rejects if a batch failed: nothing is
 * acknowledged that was not written.
 *
 * Order is preserved: batches are written one after another, never
 * concurrently, so a checkpoint can never land before the journal entries it
 * covers. After a failed batch every later `flushed()` rejects with its error
 * (the store refuses later writes too, see `FailStopStore`).
 */
export class JournalWriter {
  private pending: StoreOp[] = [];
  /** Settles when the ops in `pending` are written. */
  private gathering: Deferred | undefined;
  /** Settles when the batch in flight is written. */
  private inflight: Deferred | undefined;
  private scheduled = false;
  private failure: unknown;
  /** Counts the batches handed to the store: `pending` goes with number `batchNumber`. */
  private batchNumber = 0;
  /** Ops of `pending` withdrawn before it was written (see {@link withdraw}). */
  private withdrawn = new Set<StoreOp>();

  constructor(
    private readonly store: Store,
    private readonly onError: (error: unknown) => void,
  ) {}

  /**
   * Queues one journal entry of a workflow, already serialised (so a value
   * that cannot be stored fails its producer, never the batch it would
   * share). Returns its op, which {@link withdraw} can take back while it
   * waits in the batch being gathered ({@link gatheringBatch}). A failed
   * write is reported to `onError` and to the batch's waiters.
   */
  append(workflowId: string, seq: number, entry: unknown): StoreOp {
    const op: StoreOp = {
      type: 'put',
      collection: 'journal',
      key: workflowSeqKey(workflowId, seq),
      value: entry,
    };
    // No promise per entry: the batch's waiters (the run's result,
    // `flushed()`) and onError hear of a failed write.
    this.pending.push(op);
    this.gather();
    return op;
  }

  /** The number of the batch being gathered: what is queued now is written with it. */
  get gatheringBatch(): number {
    return this.batchNumber;
  }

  /**
   * Takes back journal entries queued in batch `batch`, if it is still being
   * gathered (returns false once it went to the store). A checkpoint queued in
   * the same batch covers them: they would be written and deleted in one
   * atomic write, and being first writes of their keys (a run's entries
   * follow the last one stored), they need no delete either.
   */
  withdraw(ops: readonly StoreOp[], batch: number): boolean {
    if (batch !== this.batchNumber) return false;
    for (const op of ops) this.withdrawn.add(op);
    return true;
  }

  /**
   * Queues arbitrary ops (checkpoints, compaction, run records) behind what
   * is already queued. Resolves when the batch holding them is written;
   * rejects if it failed.
   */
  enqueue(...ops: StoreOp[]): Promise<void> {
    for (const op of ops) this.pending.push(op);
    return this.gather();
  }

  /** The batch being gathered (what `pending` goes to the store with), its write scheduled. */
  private gather(): Promise<void> {
    this.gathering ??= deferred();
    this.schedule();
    return this.gathering.promise;
  }

  /**
   * Resolves when every op queued before the call is written; rejects if one
   * of them failed, or any batch before. It looks one microtask later: an
   * engine event handler runs while the run is still processing the event,
   * which is journaled right after, synchronously. So `await engine.flushed()`
   * in a `task.completed` handler covers that completion, and events the
   * handler sent (a pause).
   */
  flushed(): Promise<void> {
    return Promise.resolve().then(() => {
      if (this.failure !== undefined) throw this.failure;
      if (this.pending.length > 0) return this.gathering!.promise;
      return this.inflight?.promise;
    });
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => void this.drain());
  }

  private async drain(): Promise<void> {
    if (this.inflight) await this.inflight.promise.catch(() => undefined);
    this.scheduled = false;
    const withdrawn = this.withdrawn;
    const ops =
      withdrawn.size === 0 ? this.pending : this.pending.filter((op) => !withdrawn.has(op));
    const batch = this.gathering;
    this.pending = [];
    this.gathering = undefined;
    this.batchNumber++;
    if (withdrawn.size > 0) this.withdrawn = new Set();
    if (!batch) return;
    if (ops.length === 0) {
      batch.resolve();
      return;
    }
    this.inflight = batch;
    try {
      if (this.failure !== undefined) throw this.failure;
      await this.store.batch(withoutSuperseded(ops));
      batch.resolve();
    } catch (error) {
      if (this.failure === undefined) {
        this.failure = error;
        this.onError(error);
      }
      batch.reject(error);
    }
    this.inflight = undefined;
    if (this.pending.length > 0) this.schedule();
  }
}

/**
 * The ops of a batch that deletes keys, without the puts a later op of the
 * same batch on the same key overrides: the batch is atomic, so what is
 * stored is the same. A burst that runs past a checkpoint (agents that do not
 * yield: a whole chain in one group commit) would otherwise write every
 * journal entry the checkpoint then deletes, bytes LevelDB reads again at its
 * next open. Deletes are all kept: their key may be stored by an earlier batch.
 */
export function withoutSuperseded(ops: StoreOp[]): StoreOp[] {
  if (!ops.some((op) => op.type === 'del')) return ops;
  const later = new Set<string>();
  const kept: StoreOp[] = [];
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i]!;
    // Collection names have no '/', so this is unique per collection and key.
    const id = `${op.collection}/${op.key}`;
    if (op.type === 'put' && later.has(id)) continue;
    later.add(id);
    kept.push(op);
  }
  return kept.reverse();
}
