/**
 * An in-memory {@link Store}, for `createRuntime({ dataDir: false })` and tests.
 *
 * Invariants, so it behaves exactly like the LevelDB backend:
 * - values are kept as the encoded envelope string, so a caller mutating an
 *   object after `put` (or after `get`) never changes what is stored;
 * - keys are kept sorted in LevelDB's byte order ({@link compareKeys});
 * - a batch is validated and encoded in full before the first write;
 * - a range read sees the data as it was when iteration began.
 */
import { TroupeError } from '../../errors.js';
import { assertCollection, assertKey, compareKeys, normalizeRange } from '../keys.js';
import { decodeRecord, encodeOps } from '../record.js';
import {
  COLLECTIONS,
  type Collection,
  type RangeOptions,
  type Store,
  type StoreOp,
} from '../store.js';

/**
 * The first index whose key is `> key` when `strict`, else `>= key`
 * (`keys.length` if there is none).
 */
function bisect(keys: readonly string[], key: string, strict: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const order = compareKeys(keys[mid]!, key);
    if (order < 0 || (strict && order === 0)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Largest chunk before it is split in two. */
const CHUNK_SIZE = 512;

/** A place in a {@link SortedKeys}: chunk number, then index in the chunk. */
type Position = readonly [chunk: number, index: number];

/**
 * A sorted set of keys as a list of sorted chunks of at most CHUNK_SIZE keys.
 * One flat sorted array would make every insert in the middle move half the
 * keys (seconds for 100k interleaved journal keys); here an insert or delete
 * moves at most one chunk, and a bound is found by two binary searches.
 */
class SortedKeys {
  readonly #chunks: string[][] = [];

  /** Adds a key that is not present yet. */
  insert(key: string): void {
    const chunks = this.#chunks;
    if (chunks.length === 0) {
      chunks.push([key]);
      return;
    }
    // The first chunk whose last key is >= key, else the last chunk.
    const c = Math.min(this.#chunkOf(key, false), chunks.length - 1);
    const chunk = chunks[c]!;
    const last = chunk[chunk.length - 1]!;
    // Appending in order is the common case (sequence keys): skip the search.
    if (compareKeys(last, key) < 0) chunk.push(key);
    else chunk.splice(bisect(chunk, key, false), 0, key);
    if (chunk.length > CHUNK_SIZE) chunks.splice(c + 1, 0, chunk.splice(CHUNK_SIZE / 2));
  }

  /** Removes a key that is present. */
  delete(key: string): void {
    const [c, i] = this.seek(key, false);
    const chunk = this.#chunks[c]!;
    chunk.splice(i, 1);
    if (chunk.length === 0) this.#chunks.splice(c, 1);
  }

  /** The position of the first key `> key` when `strict`, else `>= key`. */
  seek(key: string, strict: boolean): Position {
    const c = this.#chunkOf(key, strict);
    const chunk = this.#chunks[c];
    return chunk === undefined ? this.end() : [c, bisect(chunk, key, strict)];
  }

  /** The position of the first key. */
  start(): Position {
    return [0, 0];
  }

  /** The position after the last key. */
  end(): Position {
    return [this.#chunks.length, 0];
  }

  /** Up to `limit` keys in `[from, to)`, from the end backwards when `reverse`. */
  slice(from: Position, to: Position, limit: number, reverse: boolean): string[] {
    const out: string[] = [];
    if (reverse) {
      let [c, i] = to;
      while (out.length < limit) {
        if (i === 0) {
          if (c === 0) break;
          c -= 1;
          i = this.#chunks[c]!.length;
        }
        i -= 1;
        if (c < from[0] || (c === from[0] && i < from[1])) break;
        out.push(this.#chunks[c]![i]!);
      }
    } else {
      let [c, i] = from;
      while (out.length < limit && (c < to[0] || (c === to[0] && i < to[1]))) {
        const chunk = this.#chunks[c];
        if (chunk === undefined) break;
        if (i < chunk.length) out.push(chunk[i++]!);
        else [c, i] = [c + 1, 0];
      }
    }
    return out;
  }

  /** The first chunk whose last key is `> key` (`strict`) or `>= key`. */
  #chunkOf(key: string, strict: boolean): number {
    let lo = 0;
    let hi = this.#chunks.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const chunk = this.#chunks[mid]!;
      const order = compareKeys(chunk[chunk.length - 1]!, key);
      if (order < 0 || (strict && order === 0)) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}

/** One collection: sorted keys beside a hash map of encoded values. */
interface KeySpace {
  keys: SortedKeys;
  values: Map<string, string>;
}

/** A store in memory with the same behaviour as `LevelStore` (one conformance suite runs on both); nothing survives the process. */
export class MemoryStore implements Store {
  readonly #spaces = new Map<Collection, KeySpace>(
    COLLECTIONS.map((collection) => [collection, { keys: new SortedKeys(), values: new Map() }]),
  );
  #closed = false;

  /** {@inheritDoc Store.get} */
  async get<T>(collection: Collection, key: string): Promise<T | undefined> {
    const space = this.#open('get', collection);
    assertKey(collection, key);
    const raw = space.values.get(key);
    return raw === undefined ? undefined : decodeRecord<T>(collection, key, raw);
  }

  /** {@inheritDoc Store.batch} */
  async batch(ops: readonly StoreOp[]): Promise<void> {
    this.#assertOpen('batch');
    // Everything that can throw happens here, before the first write.
    const encoded = encodeOps(ops);
    for (const op of encoded) {
      const space = this.#spaces.get(op.collection)!;
      if (op.type === 'put') {
        if (!space.values.has(op.key)) space.keys.insert(op.key);
        space.values.set(op.key, op.raw);
      } else if (space.values.delete(op.key)) {
        space.keys.delete(op.key);
      }
    }
  }

  /** {@inheritDoc Store.range} */
  async *range<T>(
    collection: Collection,
    options?: RangeOptions,
  ): AsyncIterable<[key: string, value: T]> {
    const { keys, values } = this.#open('range', collection);
    const range = normalizeRange(collection, options);
    const from = range.lower ? keys.seek(range.lower.key, !range.lower.inclusive) : keys.start();
    const to = range.upper ? keys.seek(range.upper.key, range.upper.inclusive) : keys.end();
    // Copy the selected entries now: a LevelDB iterator reads from a snapshot,
    // so writes made while the caller iterates must not show up here either.
    const entries = keys
      .slice(from, to, range.limit, range.reverse)
      .map((key) => [key, values.get(key)!] as const);
    for (const [key, raw] of entries) {
      this.#assertOpen('range');
      yield [key, options?.keysOnly ? (undefined as T) : decodeRecord<T>(collection, key, raw)];
    }
  }

  /** Idempotent. Later operations throw `STORE_CLOSED`; the data is dropped. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#spaces.clear();
  }

  #assertOpen(operation: string): void {
    if (this.#closed) {
      throw new TroupeError(
        'STORE_CLOSED',
        `MemoryStore.${operation}() was called after close(). Create a new store (or runtime) to keep working.`,
        { operation },
      );
    }
  }

  #open(operation: string, collection: Collection): KeySpace {
    this.#assertOpen(operation);
    assertCollection(collection);
    return this.#spaces.get(collection)!;
  }
}
