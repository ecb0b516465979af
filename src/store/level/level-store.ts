/**
 * The LevelDB {@link Store}: one embedded database at `<dataDir>/db`, one
 * sublevel per {@link Collection}.
 *
 * Invariants:
 * - every value goes through `record.ts` (a versioned JSON envelope, stored as
 *   a utf8 string), so both backends store and decode the same bytes;
 * - a batch is one `db.batch` with a `sublevel` on each op, hence atomic across
 *   collections; it is validated and encoded in full before LevelDB sees it;
 * - LevelDB's lock file allows one process per folder. `<dataDir>/owner.json`
 *   records who holds it, so a second process gets a `STORE_LOCKED` error
 *   naming the holder instead of LevelDB's bare "lock already held".
 */
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Level } from 'level';
import { TroupeError } from '../../errors.js';
import { assertCollection, assertKey, normalizeRange } from '../keys.js';
import { decodeRecord, encodeOps } from '../record.js';
import {
  COLLECTIONS,
  type Collection,
  type RangeOptions,
  type Store,
  type StoreOp,
} from '../store.js';

/** Options of {@link LevelStore.open}. */
export interface LevelStoreOptions {
  /**
   * fsync every batch. Without it every acknowledged batch survives a process
   * crash (even SIGKILL) but not a power loss; with it batches are ~10x slower.
   * @default false
   */
  sync?: boolean;
}

/** Contents of `<dataDir>/owner.json`: the process that has the folder open. */
export interface StoreOwner {
  pid: number;
  hostname: string;
  /** ISO 8601 time of the open. */
  startedAt: string;
  /** The process's title, e.g. `troupe demo` (the CLI sets it) or `node`. */
  command?: string;
}

function openSublevel(db: Level, name: Collection) {
  return db.sublevel<string, string>(name, { valueEncoding: 'utf8' });
}
type Sublevel = ReturnType<typeof openSublevel>;

/** An op of classic-level's native batch: keys already prefixed, values already encoded. */
type LevelOp = { type: 'put'; key: string; value: string } | { type: 'del'; key: string };

/** classic-level's implementation of batch (abstract-level's private API, untyped there). */
interface NativeBatch {
  _batch(ops: LevelOp[], options: { sync: boolean }): Promise<void>;
}

function errorCode(error: unknown): unknown {
  return typeof error === 'object' && error !== null
    ? (error as { code?: unknown }).code
    : undefined;
}

function causeOf(error: unknown): unknown {
  return error instanceof Error ? error.cause : undefined;
}

/** The embedded store: LevelDB in a folder (`.troupe/` by default), one process at a time. Open it with `LevelStore.open(dir)`. */
export class LevelStore implements Store {
  readonly #db: Level;
  readonly #sublevels: ReadonlyMap<Collection, Sublevel>;
  /** Each collection's key prefix in the root database (`!jobs!`), for {@link LevelStore.batch}. */
  readonly #prefixes: ReadonlyMap<Collection, string>;
  readonly #sync: boolean;
  #closing: Promise<void> | undefined;

  private constructor(
    /** Absolute path of the data folder. */
    readonly dataDir: string,
    db: Level,
    options: LevelStoreOptions,
  ) {
    this.#db = db;
    this.#sublevels = new Map(COLLECTIONS.map((name) => [name, openSublevel(db, name)]));
    this.#prefixes = new Map(COLLECTIONS.map((name) => [name, this.#sublevels.get(name)!.prefix]));
    this.#sync = options.sync ?? false;
  }

  /**
   * Opens (creating if needed) the store in `dataDir`.
   * @throws TroupeError `STORE_LOCKED` if another process has the folder open,
   * `CONFIG_ERROR` if the folder cannot be created or opened.
   */
  static async open(dataDir: string, options: LevelStoreOptions = {}): Promise<LevelStore> {
    const dir = resolve(dataDir);
    let db: Level | undefined;
    try {
      await mkdir(dir, { recursive: true });
      db = new Level(join(dir, 'db'), { valueEncoding: 'utf8' });
      await db.open();
      await writeOwner(dir);
    } catch (error) {
      // A failed open leaves nothing behind: no handle, no lock.
      await db?.close().catch(() => undefined);
      if (
        errorCode(error) === 'LEVEL_DATABASE_NOT_OPEN' &&
        errorCode(causeOf(error)) === 'LEVEL_LOCKED'
      ) {
        throw await lockedError(dir, error);
      }
      const reason = error instanceof Error ? error.message : String(error);
      throw new TroupeError(
        'CONFIG_ERROR',
        `Cannot open the troupe data folder ${dir}: ${reason}. Check that it is a writable folder, or pass another dataDir.`,
        { dataDir: dir },
        { cause: error },
      );
    }
    return new LevelStore(dir, db, options);
  }

  /** {@inheritDoc Store.get} */
  async get<T>(collection: Collection, key: string): Promise<T | undefined> {
    const sublevel = this.#sublevel('get', collection);
    assertKey(collection, key);
    let raw: string | undefined;
    try {
      raw = await sublevel.get(key);
    } catch (error) {
      throw this.#closedOr('get', error);
    }
    return raw === undefined ? undefined : decodeRecord<T>(collection, key, raw);
  }

  /** {@inheritDoc Store.batch} */
  async batch(ops: readonly StoreOp[]): Promise<void> {
    this.#assertOpen('batch');
    const encoded = encodeOps(ops);
    if (encoded.length === 0) return;
    // Straight to classic-level's native batch, with the sublevel prefix added
    // here: abstract-level's public batch (chained or array) clones each op,
    // looks its encodings up and prefixes its key one op at a time, about 3x
    // LevelDB's own CPU per op, which was most of a queue job's write cost.
    // The keys and values are the same bytes the public path writes, it is one
    // atomic LevelDB write as before, and close() still waits for it.
    const raw = new Array<LevelOp>(encoded.length);
    for (let i = 0; i < encoded.length; i++) {
      const op = encoded[i]!;
      const key = this.#prefixes.get(op.collection)! + op.key;
      raw[i] = op.type === 'put' ? { type: 'put', key, value: op.raw } : { type: 'del', key };
    }
    try {
      await (this.#db as unknown as NativeBatch)._batch(raw, { sync: this.#sync });
    } catch (error) {
      throw this.#closedOr('batch', error);
    }
  }

  /** {@inheritDoc Store.range} */
  async *range<T>(
    collection: Collection,
    options?: RangeOptions,
  ): AsyncIterable<[key: string, value: T]> {
    const sublevel = this.#sublevel('range', collection);
    const range = normalizeRange(collection, options);
    if (range.limit === 0) return;
    // Only defined bounds are passed: LevelDB treats a present key as a bound.
    const bounds: { gt?: string; gte?: string; lt?: string; lte?: string } = {};
    if (range.lower) bounds[range.lower.inclusive ? 'gte' : 'gt'] = range.lower.key;
    if (range.upper) bounds[range.upper.inclusive ? 'lte' : 'lt'] = range.upper.key;
    const iterator = sublevel.iterator({
      ...bounds,
      reverse: range.reverse,
      limit: range.limit === Infinity ? -1 : range.limit,
      values: options?.keysOnly !== true,
    });
    try {
      // Entries are fetched in chunks; the iterator reads from an implicit
      // snapshot taken when it was created.
      while (true) {
        this.#assertOpen('range');
        let entry: [string, string] | undefined;
        try {
          entry = await iterator.next();
        } catch (error) {
          throw this.#closedOr('range', error);
        }
        if (entry === undefined) return;
        yield [
          entry[0],
          options?.keysOnly ? (undefined as T) : decodeRecord<T>(collection, entry[0], entry[1]),
        ];
      }
    } finally {
      // Closing twice (or after the db closed) is harmless; never mask the
      // error that got us here.
      await iterator.close().catch(() => undefined);
    }
  }

  /**
   * Closes the database and removes `owner.json`. Idempotent; later operations
   * throw `STORE_CLOSED`.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      // Remove owner.json while the lock is still ours: after db.close()
      // another process may already have opened the folder and written its own.
      await unlink(join(this.dataDir, 'owner.json')).catch(() => undefined);
      await this.#db.close();
    })();
    return this.#closing;
  }

  #assertOpen(operation: string): void {
    if (this.#closing !== undefined) throw this.#closedError(operation);
  }

  #sublevel(operation: string, collection: Collection): Sublevel {
    this.#assertOpen(operation);
    assertCollection(collection);
    return this.#sublevels.get(collection)!;
  }

  #closedError(operation: string): TroupeError {
    return new TroupeError(
      'STORE_CLOSED',
      `LevelStore.${operation}() was called after close() of the store in ${this.dataDir}. Open the store (or create a runtime) again to keep working.`,
      { operation, dataDir: this.dataDir },
    );
  }

  /** A LevelDB error caused by a concurrent close() becomes `STORE_CLOSED`. */
  #closedOr(operation: string, error: unknown): unknown {
    return this.#closing === undefined ? error : this.#closedError(operation);
  }
}

async function writeOwner(dir: string): Promise<void> {
  const owner: StoreOwner = {
    pid: process.pid,
    hostname: hostname(),
    startedAt: new Date().toISOString(),
    command: process.title,
  };
  // Write then rename, so a process reading owner.json never sees half a file.
  const ownerPath = join(dir, 'owner.json');
  await writeFile(`${ownerPath}.tmp`, `${JSON.stringify(owner, null, 2)}\n`);
  await rename(`${ownerPath}.tmp`, ownerPath);
}

async function lockedError(dir: string, cause: unknown): Promise<TroupeError> {
  const ownerPath = join(dir, 'owner.json');
  let owner: Partial<StoreOwner> | undefined;
  try {
    owner = JSON.parse(await readFile(ownerPath, 'utf8')) as Partial<StoreOwner>;
  } catch {
    owner = undefined;
  }
  const holder =
    owner && typeof owner.pid === 'number'
      ? `process ${owner.pid}${owner.command ? ` (${owner.command})` : ''} on host ${owner.hostname ?? 'unknown'} (since ${owner.startedAt ?? 'an unknown time'})`
      : `another process (${ownerPath} is missing or unreadable, so which one is unknown)`;
  return new TroupeError(
    'STORE_LOCKED',
    `Cannot open the troupe data folder ${dir}: it is in use by ${holder}. Close that process, or pass a different dataDir.`,
    { dataDir: dir, ...(owner ? { owner } : {}) },
    { cause },
  );
}
