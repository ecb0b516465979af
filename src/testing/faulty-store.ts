/**
 * A {@link Store} wrapper that injects storage faults into the batches of any
 * store, for tests of what a runtime does when a write fails. Reads always
 * pass through.
 *
 * ```ts
 * const faulty = new FaultyStore(await LevelStore.open(dir));
 * faulty.inject({ after: 3, code: 'ENOSPC' });            // the 4th batch fails
 * faulty.inject({ after: 0, count: 5, code: 'EIO' });     // the next 5 fail, then writes recover
 * const rt = await createRuntime({ store: faulty });
 * ```
 */
import type { Collection, RangeOptions, Store, StoreOp } from '../store/store.js';

/** Errno names a fault can carry. */
export type StoreFaultCode = 'ENOSPC' | 'EIO' | 'EROFS';

/**
 * How a faulty batch behaves:
 * - `reject`: nothing is written; the batch rejects (a write that failed);
 * - `applied`: the batch is written, then rejects (a commit whose
 *   acknowledgment was lost, or an fsync that failed after the write);
 * - `partial`: the first half of the ops is written, then it rejects (a torn
 *   write; breaks the atomicity every backend promises, so only recovery's
 *   corruption checks can be tested with it);
 * - `dropped`: nothing is written but the batch resolves (a write a backend
 *   silently lost; also outside the Store contract, for the same tests).
 */
export type StoreFaultMode = 'reject' | 'applied' | 'partial' | 'dropped';

/** One planned fault. */
export interface StoreFault {
  /** Batches to let through first, counted from when the fault is injected. @default 0 */
  after?: number;
  /** Consecutive batches to fail; `Infinity` until {@link FaultyStore.heal}. @default 1 */
  count?: number;
  /** @default 'ENOSPC' */
  code?: StoreFaultCode;
  /** @default 'reject' */
  mode?: StoreFaultMode;
  /** Only batches that touch this collection count and fail. @default every batch */
  collection?: Collection;
}

const MESSAGES: Record<StoreFaultCode, [errno: number, text: string]> = {
  ENOSPC: [-28, 'no space left on device'],
  EIO: [-5, 'i/o error'],
  EROFS: [-30, 'read-only file system'],
};

/** An error shaped like the one Node's fs gives for `code`. */
export function storageError(code: StoreFaultCode): NodeJS.ErrnoException {
  const [errno, text] = MESSAGES[code];
  return Object.assign(new Error(`${code}: ${text}, write (injected by FaultyStore)`), {
    code,
    errno,
    syscall: 'write',
  });
}

interface Planned {
  skip: number;
  left: number;
  code: StoreFaultCode;
  mode: StoreFaultMode;
  collection: Collection | undefined;
}

/** A store that wraps another and fails writes on cue (disk full, I/O error...), to test what happens when storage fails. */
export class FaultyStore implements Store {
  readonly #inner: Store;
  #plans: Planned[] = [];
  #batches = 0;
  #faults = 0;

  constructor(inner: Store) {
    this.#inner = inner;
  }

  /** Batches handed to this store so far (failed or not). */
  get batches(): number {
    return this.#batches;
  }

  /** Faults injected so far. */
  get faults(): number {
    return this.#faults;
  }

  /** Plans a fault; several plans run side by side, the first that applies wins. */
  inject(fault: StoreFault = {}): this {
    this.#plans.push({
      skip: fault.after ?? 0,
      left: fault.count ?? 1,
      code: fault.code ?? 'ENOSPC',
      mode: fault.mode ?? 'reject',
      collection: fault.collection,
    });
    return this;
  }

  /** Drops every planned fault: later batches go through. */
  heal(): this {
    this.#plans = [];
    return this;
  }

  get<T>(collection: Collection, key: string): Promise<T | undefined> {
    return this.#inner.get<T>(collection, key);
  }

  range<T>(collection: Collection, options?: RangeOptions): AsyncIterable<[key: string, value: T]> {
    return this.#inner.range<T>(collection, options);
  }

  async batch(ops: readonly StoreOp[]): Promise<void> {
    this.#batches++;
    const fault = this.#next(ops);
    if (!fault) return this.#inner.batch(ops);
    this.#faults++;
    switch (fault.mode) {
      case 'reject':
        throw storageError(fault.code);
      case 'applied':
        await this.#inner.batch(ops);
        throw storageError(fault.code);
      case 'partial':
        await this.#inner.batch(ops.slice(0, Math.ceil(ops.length / 2)));
        throw storageError(fault.code);
      case 'dropped':
        return;
    }
  }

  /** Closes the wrapped store. */
  close(): Promise<void> {
    return this.#inner.close();
  }

  /** The fault this batch gets, if any; advances every plan the batch counts for. */
  #next(ops: readonly StoreOp[]): Planned | undefined {
    let chosen: Planned | undefined;
    for (const plan of this.#plans) {
      if (plan.collection && !ops.some((op) => op.collection === plan.collection)) continue;
      if (plan.skip > 0) {
        plan.skip--;
        continue;
      }
      if (plan.left > 0 && !chosen) {
        plan.left--;
        chosen = plan;
      }
    }
    this.#plans = this.#plans.filter((plan) => plan.left > 0);
    return chosen;
  }
}
