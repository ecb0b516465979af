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
  /**
   * The journal puts of {@link append}: each the first write of its key (a
   * run's entries follow the last one stored), so a delete of it later in the
   * same batch has nothing stored to remove either.
   */
  private readonly firstWrites = new WeakSet<StoreOp>();

  constructor(
    private readonly store: Store,
    private readonly onError: (error: unknown) => void,
  ) {}

  /**
   * Queues one journal entry of a workflow, already serialised (so a value
   * that cannot be stored fails its producer, never the batch it would share).
   */
  append(workflowId: string, seq: number, entry: unknown): Promise<void> {
    const op: StoreOp = {
      type: 'put',
      collection: 'journal',
      key: workflowSeqKey(workflowId, seq),
      value: entry,
    };
    this.firstWrites.add(op);
    return this.enqueue(op);
  }

  /**
   * Queues arbitrary ops (checkpoints, compaction, run records) behind what
   * is already queued. Resolves when the batch holding them is written;
   * rejects if it failed.
   */
  enqueue(...ops: StoreOp[]): Promise<void> {
    for (const op of ops) this.pending.push(op);
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
    const ops = this.pending;
    const batch = this.gathering;
    this.pending = [];
    this.gathering = undefined;
    if (!batch) return;
    if (ops.length === 0) {
      batch.resolve();
      return;
    }
    this.inflight = batch;
    try {
      if (this.failure !== undefined) throw this.failure;
      await this.store.batch(withoutSuperseded(ops, (op) => this.firstWrites.has(op)));
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
 * next open. A delete is kept (its key may be stored by an earlier batch)
 * unless it directly follows a put that `isFirstWrite` says is the first
 * write of its key ever: then nothing stored is there to remove, and LevelDB
 * is spared a tombstone per compacted entry.
 */
export function withoutSuperseded(
  ops: StoreOp[],
  isFirstWrite: (op: StoreOp) => boolean = () => false,
): StoreOp[] {
  if (!ops.some((op) => op.type === 'del')) return ops;
  /** Per key, where in `kept` the next op of the batch on it is. */
  const next = new Map<string, number>();
  const kept: (StoreOp | undefined)[] = [];
  for (let i = ops.length - 1; i >= 0; i--) {
    const op = ops[i]!;
    // Collection names have no '/', so this is unique per collection and key.
    const id = `${op.collection}/${op.key}`;
    const after = next.get(id);
    if (op.type === 'put' && after !== undefined) {
      if (kept[after]!.type === 'del' && isFirstWrite(op)) kept[after] = undefined;
      continue;
    }
    next.set(id, kept.length);
    kept.push(op);
  }
  const batch: StoreOp[] = [];
  for (let i = kept.length - 1; i >= 0; i--) if (kept[i]) batch.push(kept[i]!);
  return batch;
}
