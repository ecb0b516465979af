import { workflowSeqKey } from '../../store/keys.js';
import type { Store, StoreOp } from '../../store/store.js';

/**
 * Group commit for the journal and checkpoints. Writes requested during one
 * turn of the event loop go to the store as one atomic batch, so a burst of
 * task completions costs one write. `flushed()` resolves once everything
 * requested so far is durable.
 *
 * Order is preserved: batches are written one after another, never
 * concurrently, so a checkpoint can never land before the journal entries it
 * covers.
 */
export class JournalWriter {
  private pending: StoreOp[] = [];
  private waiting: (() => void)[] = [];
  private writing: Promise<void> | undefined;
  private scheduled = false;

  constructor(
    private readonly store: Store,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Queues one journal entry of a workflow. */
  append(workflowId: string, seq: number, entry: unknown): void {
    this.enqueue({
      type: 'put',
      collection: 'journal',
      key: workflowSeqKey(workflowId, seq),
      value: entry,
    });
  }

  /** Queues arbitrary ops (checkpoints, compaction, run records) behind what is already queued. */
  enqueue(...ops: StoreOp[]): void {
    for (const op of ops) this.pending.push(op);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.drain());
  }

  /**
   * Resolves when every op queued before the call is written (or failed and
   * reported). It looks one microtask later: an engine event handler runs
   * while the run is still processing the event, which is journaled right
   * after, synchronously. So `await engine.flushed()` in a `task.completed`
   * handler covers that completion, and events the handler sent (a pause).
   */
  flushed(): Promise<void> {
    return Promise.resolve().then(() => {
      if (this.pending.length === 0) return this.writing;
      return new Promise<void>((resolve) => this.waiting.push(resolve));
    });
  }

  private async drain(): Promise<void> {
    if (this.writing) await this.writing;
    this.scheduled = false;
    const ops = this.pending;
    const waiting = this.waiting;
    this.pending = [];
    this.waiting = [];
    if (ops.length > 0) {
      this.writing = this.store.batch(ops).catch((error) => this.onError(error));
      await this.writing;
      this.writing = undefined;
    }
    for (const resolve of waiting) resolve();
    if (this.pending.length > 0 && !this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.drain());
    }
  }
}
