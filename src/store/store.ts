/**
 * The storage boundary. Kept deliberately narrow (point reads, ordered range
 * reads, atomic batched writes) so that a distributed backend can implement it
 * later without LevelDB-only features leaking into the layers above.
 *
 * Values are plain JSON. Backends wrap every value in a versioned envelope
 * (see `record.ts`) so a record written by an older format can be recognised.
 */

/** The named key spaces; the LevelDB backend maps each to a sublevel. */
export type Collection =
  | 'meta'
  | 'workflows'
  | 'snapshots'
  | 'journal'
  | 'jobs'
  | 'contexts'
  | 'messages'
  | 'evaluations';

export const COLLECTIONS: readonly Collection[] = [
  'meta',
  'workflows',
  'snapshots',
  'journal',
  'jobs',
  'contexts',
  'messages',
  'evaluations',
];

/** One write of an atomic batch: put or delete of a key in a collection. */
export type StoreOp =
  | {
      type: 'put';
      collection: Collection;
      key: string;
      value: unknown;
      /**
       * `JSON.stringify(value)`, when the writer already has it (it checked
       * the value could be stored): the bundled backends store it instead of
       * serialising a large value twice. Others may ignore it.
       */
      json?: string;
    }
  | { type: 'del'; collection: Collection; key: string };

/** Bounds of an ordered range read; keys compare as UTF-8 strings. */
export interface RangeOptions {
  gt?: string;
  gte?: string;
  lt?: string;
  lte?: string;
  /** Newest (largest key) first. @default false */
  reverse?: boolean;
  /** @default unlimited */
  limit?: number;
  /**
   * Reads keys only; values come back `undefined`. Listing the checkpoints
   * of a run this way does not read their (large) contexts.
   * @default false
   */
  keysOnly?: boolean;
}

/** Where troupe keeps everything: atomic batches, point reads and ordered range reads over a few collections. Implemented by `LevelStore` and `MemoryStore`. */
export interface Store {
  /** The value stored under `key`, or `undefined`. Throws `STORE_CORRUPT` naming the key if it cannot be decoded. */
  get<T>(collection: Collection, key: string): Promise<T | undefined>;
  /** Applies every op or none. This is the commit unit: group writes into one batch. */
  batch(ops: readonly StoreOp[]): Promise<void>;
  /** Entries in key order within the bounds. */
  range<T>(collection: Collection, options?: RangeOptions): AsyncIterable<[key: string, value: T]>;
  /** Releases the store; later calls fail with `STORE_CLOSED`. */
  close(): Promise<void>;
}
