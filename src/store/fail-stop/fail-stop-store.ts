/**
 * Fail-stop in front of any {@link Store}: the first batch that fails (disk
 * full, I/O error, read-only file system, a lost connection) latches the
 * store into a failed state, and every later batch is refused with the same
 * cause, until the store is opened again.
 *
 * Why latch: after a failed write the backend's state is indeterminate.
 * LevelDB, for one, keeps appending to a log that now holds a torn record,
 * and on reopen drops everything after it ("dropping N bytes; checksum
 * mismatch"), so writes it reported as successful after the failure would
 * silently vanish. Refusing them instead means nothing is acknowledged that a
 * reopen could lose.
 *
 * Batches are handed to the backend one at a time, in call order: a batch
 * issued while an earlier one is failing must not be acknowledged by the
 * backend (LevelDB may append it after the torn record).
 *
 * Invariants:
 * - a batch that resolved is durable (to the backend's sync level);
 * - a batch rejected with `STORE_WRITE_FAILED` may or may not be in the
 *   backend (a write can fail after it was applied), but was never
 *   acknowledged;
 * - caller errors (a value that is not JSON, a closed store) reject only
 *   their own batch: the backend validates a batch in full before writing.
 */
import { TroupeError } from '../../errors.js';
import type { Collection, RangeOptions, Store, StoreOp } from '../store.js';

/** Codes of errors that are the caller's, not the storage's: they do not latch. */
const CALLER_ERRORS: ReadonlySet<string> = new Set([
  'INVALID_INPUT',
  'INVALID_VALUE',
  'STORE_CLOSED',
  'RUNTIME_CLOSED',
]);

/** Errno names recognised in a backend's error code or message (LevelDB reports only text). */
const ERRNO_TEXT: readonly (readonly [string, RegExp])[] = [
  ['ENOSPC', /no space left on device/i],
  ['EROFS', /read-only file system/i],
  ['EIO', /input\/output error/i],
  ['EDQUOT', /disk quota exceeded/i],
  ['EACCES', /permission denied/i],
];

/** The errno-like name of a storage error (`ENOSPC`, `EIO`, ...), else its code, else `UNKNOWN`. */
export function storageErrorReason(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && /^E[A-Z]+$/.test(code)) return code;
  const text = error instanceof Error ? `${error.message} ${String(error.cause ?? '')}` : '';
  for (const [name, pattern] of ERRNO_TEXT) if (pattern.test(text)) return name;
  return typeof code === 'string' ? code : 'UNKNOWN';
}

export class FailStopStore implements Store {
  readonly #inner: Store;
  readonly #description: string;
  #failure: TroupeError | undefined;
  /** Settles (never rejects) when the last batch handed in is done. */
  #tail: Promise<unknown> = Promise.resolve();
  readonly #listeners = new Set<(error: TroupeError) => void>();

  /** @param description names the store in errors (a data folder, "memory"). */
  constructor(inner: Store, description: string) {
    this.#inner = inner;
    this.#description = description;
  }

  /** The wrapped store. */
  get inner(): Store {
    return this.#inner;
  }

  /** The latched failure, once a write failed. */
  get failure(): TroupeError | undefined {
    return this.#failure;
  }

  /** Called once, with the first write failure. Returns an unsubscribe function. */
  onFailure(listener: (error: TroupeError) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** {@inheritDoc Store.get} */
  get<T>(collection: Collection, key: string): Promise<T | undefined> {
    return this.#inner.get<T>(collection, key);
  }

  /** {@inheritDoc Store.range} */
  range<T>(collection: Collection, options?: RangeOptions): AsyncIterable<[key: string, value: T]> {
    return this.#inner.range<T>(collection, options);
  }

  /**
   * {@inheritDoc Store.batch}
   * @throws TroupeError `STORE_WRITE_FAILED` naming the cause if this batch or
   * an earlier one failed in the backend.
   */
  batch(ops: readonly StoreOp[]): Promise<void> {
    const written = this.#tail.then(() => this.#write(ops));
    this.#tail = written.catch(() => undefined);
    return written;
  }

  /** Closes the wrapped store (after the batches handed in are done). */
  async close(): Promise<void> {
    await this.#tail;
    await this.#inner.close();
  }

  async #write(ops: readonly StoreOp[]): Promise<void> {
    if (this.#failure) throw this.#refused();
    try {
      await this.#inner.batch(ops);
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      if (error instanceof TroupeError && CALLER_ERRORS.has(code as string)) throw error;
      if (this.#failure) throw this.#refused();
      this.#failure = this.#failed(error);
      for (const listener of this.#listeners) listener(this.#failure);
      throw this.#failure;
    }
  }

  #failed(cause: unknown): TroupeError {
    const reason = storageErrorReason(cause);
    const detail = cause instanceof Error ? cause.message : String(cause);
    return new TroupeError(
      'STORE_WRITE_FAILED',
      `A write to the store (${this.#description}) failed: ${reason} (${detail}). Nothing in that write is acknowledged, and no further write to this store is acknowledged until it is opened again. Remove the cause (free disk space, fix permissions or the device), then close the runtime and create it again: every run recovers to what was acknowledged.`,
      { reason, store: this.#description },
      { cause },
    );
  }

  #refused(): TroupeError {
    const first = this.#failure!;
    return new TroupeError(
      'STORE_WRITE_FAILED',
      `Not written: writes to the store (${this.#description}) stopped after an earlier write failed with ${String(first.context.reason)}. Remove the cause, then close the runtime and create it again: every run recovers to what was acknowledged.`,
      { ...first.context, latched: true },
      { cause: first },
    );
  }
}
