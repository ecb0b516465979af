/**
 * Range reads that step over damaged records instead of failing as a whole,
 * for listings (runs, jobs) where one bad record must not hide every other
 * one. Each record skipped is reported with its key and the reason.
 */
import { TroupeError } from '../errors.js';
import type { Collection, RangeOptions, Store } from './store.js';

/** A record a listing skipped because it cannot be read. */
export interface CorruptRecord {
  key: string;
  /** Why it cannot be read, as the `STORE_CORRUPT` error says it. */
  reason: string;
  error: TroupeError;
}

/**
 * The entries of `store.range(collection, options)` that can be decoded, in
 * key order. A record that fails with `STORE_CORRUPT` (backends name its key
 * in `error.context.key`) is passed to `onCorrupt` and the range continues
 * after it; any other error is thrown.
 */
export async function* rangeSkippingCorrupt<T>(
  store: Store,
  collection: Collection,
  onCorrupt: (record: CorruptRecord) => void,
  options: Omit<RangeOptions, 'limit' | 'keysOnly'> = {},
): AsyncIterable<[key: string, value: T]> {
  let bounds = options;
  while (true) {
    try {
      yield* store.range<T>(collection, bounds);
      return;
    } catch (error) {
      const key = error instanceof TroupeError ? error.context.key : undefined;
      if (
        !(error instanceof TroupeError && error.code === 'STORE_CORRUPT') ||
        typeof key !== 'string'
      )
        throw error;
      onCorrupt({ key, reason: error.message, error });
      // Entries before the bad one were yielded already: go on after it.
      bounds = continueAfter(bounds, key);
    }
  }
}

/** The same bounds, starting after `key` in the direction of the read. */
function continueAfter(
  bounds: Omit<RangeOptions, 'limit' | 'keysOnly'>,
  key: string,
): Omit<RangeOptions, 'limit' | 'keysOnly'> {
  if (bounds.reverse) {
    const { lte: _lte, ...rest } = bounds;
    return { ...rest, lt: key };
  }
  const { gte: _gte, ...rest } = bounds;
  return { ...rest, gt: key };
}
