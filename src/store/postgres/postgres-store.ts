/**
 * The PostgreSQL {@link Store}: every collection in one table
 * (`troupe_records`, see migrations.ts), on a `pg` connection pool, shared by
 * any number of troupe processes.
 *
 * Invariants:
 * - values go through `record.ts` like every backend's, and are read back
 *   with the same decoder, so a record means the same thing everywhere;
 * - a batch is one statement (`troupe_apply`), hence one transaction and one
 *   round trip; it is validated and encoded in full before it is sent, and
 *   acknowledged only once the server has committed it;
 * - fencing: for a run this process owns ({@link fence}), the batch applies
 *   the run's ops only if the lease still carries this owner's epoch, checked
 *   in the same transaction; otherwise those ops are dropped, the rest of the
 *   batch commits, and the ownership listener hears that the run was lost.
 *   A lost run stays fenced ({@link refuse}): its writes still queued when the
 *   loss was learnt are dropped too, never sent unfenced;
 * - a statement that fails because the connection was lost (a server restart,
 *   a terminated backend) is repeated on a new connection until
 *   `reconnectWindowMs` has passed: batches are idempotent (the final state of
 *   each key), so repeating one that did commit changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type pg from 'pg';
import { TroupeError } from '../../errors.js';
import { assertCollection, assertKey, normalizeRange, workflowIdOfKey } from '../keys.js';
import { decodeRecord, type EncodedOp, encodeOps } from '../record.js';
import type { Collection, RangeOptions, Store, StoreOp } from '../store.js';
import { PostgresCommunicatorRows } from './communicator-rows.js';
import { isConnectionError } from './connection-errors.js';
import { PostgresJobs } from './jobs.js';
import { PostgresLeases } from './leases.js';
import { migrate } from './migrations.js';
import { redactConnectionString } from './redact.js';
import { PostgresRemoteTasks } from './remote-tasks.js';

/** Options of {@link PostgresStore.open}; also `createRuntime({ store: { postgres } })`. */
export interface PostgresStoreOptions {
  /** `postgresql://user:password@host:port/database`. */
  connectionString: string;
  /** Connections in the pool. @default 10 */
  maxConnections?: number;
  /**
   * How long a read or a batch keeps retrying on new connections after the
   * connection to the server was lost (a restart, a failover) before it
   * fails; 0 fails at once.
   * @default 30000
   */
  reconnectWindowMs?: number;
  /**
   * This process's id as a run owner, recorded in the leases.
   * @default `<hostname>:<pid>:<random>`
   */
  ownerId?: string;
  /** Receives errors of idle pooled connections (they are replaced on next use). @default ignored */
  onError?: (error: unknown, context: string) => void;
}

/** Collections whose records belong to one run and are fenced by its lease. */
const FENCED: ReadonlySet<Collection> = new Set(['workflows', 'snapshots', 'journal']);

/** The fence of a run this process lost: no lease has epoch 0, so its writes are always dropped. */
const REFUSED = 0;

const DEFAULT_MAX_CONNECTIONS = 10;
const DEFAULT_RECONNECT_WINDOW_MS = 30_000;

export class PostgresStore implements Store {
  /** This process's id as a run owner. */
  readonly ownerId: string;
  /** Lease and command rows, for the ownership module. */
  readonly leases: PostgresLeases;
  /** Worker and remote task rows, for remote agents (src/runtime/workers/). */
  readonly remoteTasks: PostgresRemoteTasks;
  /** Rows of the shared task queue, for TaskQueue on this store. */
  readonly jobs: PostgresJobs;
  /** Endpoint, message, shared-context and lock rows, for the communicator across processes. */
  readonly communicator: PostgresCommunicatorRows;
  readonly #pool: pg.Pool;
  readonly #reconnectWindowMs: number;
  /** Runs this process owns, and the epoch its writes must carry ({@link REFUSED}: lost). */
  readonly #fences = new Map<string, number>();
  readonly #lostListeners = new Set<(workflowId: string) => void>();
  /** False for a {@link borrow}ed store: closing it leaves the pool to its lender. */
  readonly #ownsPool: boolean;
  #closing: Promise<void> | undefined;

  private constructor(pool: pg.Pool, options: PostgresStoreOptions, ownsPool = true) {
    this.#pool = pool;
    this.#ownsPool = ownsPool;
    this.#reconnectWindowMs = options.reconnectWindowMs ?? DEFAULT_RECONNECT_WINDOW_MS;
    this.ownerId = options.ownerId ?? `${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    const retry = <R>(operation: string, run: () => Promise<R>) => this.#retry(operation, run);
    this.leases = new PostgresLeases(pool, retry);
    this.remoteTasks = new PostgresRemoteTasks(pool, retry);
    this.jobs = new PostgresJobs(pool, retry);
    this.communicator = new PostgresCommunicatorRows(pool, retry);
  }

  /**
   * Connects, and creates or migrates the schema (under an advisory lock).
   * @throws TroupeError `CONFIG_ERROR` if the server cannot be reached or the
   * schema was written by a newer troupe.
   */
  static async open(options: PostgresStoreOptions): Promise<PostgresStore> {
    if (typeof options?.connectionString !== 'string' || options.connectionString === '') {
      throw new TroupeError(
        'CONFIG_ERROR',
        'PostgresStore needs a connectionString (postgresql://user@host:port/database): pass store.postgres.connectionString or set TROUPE_DATABASE_URL.',
        { issues: ['connectionString: must be a non-empty string'] },
      );
    }
    // Loaded here, not at import: most programs that import troupe never open PostgreSQL.
    const { Pool } = (await import('pg')).default;
    const pool = new Pool({
      connectionString: options.connectionString,
      max: options.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
    });
    // An idle connection that dies (server restart) emits here; without a
    // listener the process would crash. The pool replaces it on next use.
    pool.on('error', (error) => options.onError?.(error, 'an idle PostgreSQL connection'));
    try {
      const client = await pool.connect();
      try {
        await migrate(client);
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end().catch(() => undefined);
      if (error instanceof TroupeError) throw error;
      throw new TroupeError(
        'CONFIG_ERROR',
        `Cannot open the PostgreSQL store at ${redactConnectionString(options.connectionString)}: ${(error as Error).message}. Check that the server runs and the connection string is right.`,
        {},
        { cause: error },
      );
    }
    return new PostgresStore(pool, options);
  }

  /** {@inheritDoc Store.get} */
  async get<T>(collection: Collection, key: string): Promise<T | undefined> {
    this.#assertOpen('get');
    assertCollection(collection);
    assertKey(collection, key);
    const { rows } = await this.#retry('get', () =>
      this.#pool.query<{ value: string }>(
        'SELECT value FROM troupe_records WHERE collection = $1 AND key = $2',
        [collection, Buffer.from(key, 'utf8')],
      ),
    );
    const raw = rows[0]?.value;
    return raw === undefined ? undefined : decodeRecord<T>(collection, key, raw);
  }

  /** {@inheritDoc Store.batch} */
  async batch(ops: readonly StoreOp[]): Promise<void> {
    this.#assertOpen('batch');
    const encoded = encodeOps(ops);
    if (encoded.length === 0) return;
    // Later ops on a key win (as in LevelDB): send each key's final op once.
    const finals = new Map<Collection, Map<string, EncodedOp>>();
    for (const op of encoded) {
      let keys = finals.get(op.collection);
      if (!keys) {
        keys = new Map();
        finals.set(op.collection, keys);
      }
      keys.delete(op.key);
      keys.set(op.key, op);
    }
    const put = { collections: [] as string[], keys: [] as Buffer[], values: [] as string[] };
    const putRuns: (string | null)[] = [];
    const del = { collections: [] as string[], keys: [] as Buffer[] };
    const delRuns: (string | null)[] = [];
    const runs = new Map<string, number>();
    for (const [collection, keys] of finals) {
      for (const op of keys.values()) {
        const run = FENCED.has(collection) ? workflowIdOfKey(collection, op.key) : undefined;
        const epoch = run === undefined ? undefined : this.#fences.get(run);
        const fencedRun = epoch === undefined ? null : run!;
        if (fencedRun !== null) runs.set(fencedRun, epoch!);
        if (op.type === 'put') {
          put.collections.push(collection);
          put.keys.push(Buffer.from(op.key, 'utf8'));
          put.values.push(op.raw);
          putRuns.push(fencedRun);
        } else {
          del.collections.push(collection);
          del.keys.push(Buffer.from(op.key, 'utf8'));
          delRuns.push(fencedRun);
        }
      }
    }
    const { rows } = await this.#retry('batch', () =>
      this.#pool.query<{ lost: string[] }>(
        'SELECT troupe_apply($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) AS lost',
        [
          this.ownerId,
          [...runs.keys()],
          [...runs.values()],
          put.collections,
          put.keys,
          put.values,
          putRuns,
          del.collections,
          del.keys,
          delRuns,
        ],
      ),
    );
    for (const workflowId of rows[0]?.lost ?? []) this.#lose(workflowId);
  }

  /** {@inheritDoc Store.range} */
  async *range<T>(
    collection: Collection,
    options?: RangeOptions,
  ): AsyncIterable<[key: string, value: T]> {
    this.#assertOpen('range');
    assertCollection(collection);
    const range = normalizeRange(collection, options);
    if (range.limit === 0) return;
    const keysOnly = options?.keysOnly === true;
    const params: unknown[] = [collection];
    const where = ['collection = $1'];
    if (range.lower) {
      params.push(Buffer.from(range.lower.key, 'utf8'));
      where.push(`key ${range.lower.inclusive ? '>=' : '>'} $${params.length}`);
    }
    if (range.upper) {
      params.push(Buffer.from(range.upper.key, 'utf8'));
      where.push(`key ${range.upper.inclusive ? '<=' : '<'} $${params.length}`);
    }
    let sql = `SELECT key${keysOnly ? '' : ', value'} FROM troupe_records WHERE ${where.join(' AND ')} ORDER BY key ${range.reverse ? 'DESC' : 'ASC'}`;
    if (range.limit !== Infinity) {
      params.push(range.limit);
      sql += ` LIMIT $${params.length}`;
    }
    // One statement, one snapshot: writes made while the caller iterates are
    // not seen, as with a LevelDB iterator.
    const { rows } = await this.#retry('range', () =>
      this.#pool.query<{ key: Buffer; value?: string }>(sql, params),
    );
    for (const row of rows) {
      this.#assertOpen('range');
      const key = row.key.toString('utf8');
      yield [key, keysOnly ? (undefined as T) : decodeRecord<T>(collection, key, row.value!)];
    }
  }

  /**
   * Makes this process's writes to `workflowId` conditional on holding its
   * lease at `epoch` (see the class notes). Called by the ownership module.
   */
  fence(workflowId: string, epoch: number): void {
    this.#fences.set(workflowId, epoch);
  }

  /** Stops fencing a run (it ended here, or its lease was given up). */
  unfence(workflowId: string): void {
    this.#fences.delete(workflowId);
  }

  /**
   * Drops every later write of a run this process lost (another process owns
   * it now), until {@link fence} gives it a lease again.
   */
  refuse(workflowId: string): void {
    this.#fences.set(workflowId, REFUSED);
  }

  /** The epoch this process's writes to a run carry, if it owns the run. */
  epochOf(workflowId: string): number | undefined {
    const epoch = this.#fences.get(workflowId);
    return epoch === REFUSED ? undefined : epoch;
  }

  /** Calls `listener` with each run whose writes were refused because another owner holds it now. */
  onOwnershipLost(listener: (workflowId: string) => void): () => void {
    this.#lostListeners.add(listener);
    return () => this.#lostListeners.delete(listener);
  }

  /** A dedicated connection (for LISTEN); the caller releases it. */
  connect(): Promise<pg.PoolClient> {
    this.#assertOpen('connect');
    return this.#pool.connect();
  }

  /** Ends the pool. Idempotent; later operations throw `STORE_CLOSED`. */
  close(): Promise<void> {
    this.#closing ??= this.#ownsPool ? this.#pool.end().catch(() => undefined) : Promise.resolve();
    return this.#closing;
  }

  /**
   * Another store on this one's connections and owner id, for a part that
   * closes the store it is given (a worker's messaging runtime): closing it
   * refuses its own later calls and leaves the connections open.
   */
  borrow(): PostgresStore {
    return new PostgresStore(
      this.#pool,
      { connectionString: '', ownerId: this.ownerId, reconnectWindowMs: this.#reconnectWindowMs },
      false,
    );
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  #lose(workflowId: string): void {
    const epoch = this.#fences.get(workflowId);
    if (epoch === undefined || epoch === REFUSED) return;
    this.refuse(workflowId);
    for (const listener of this.#lostListeners) listener(workflowId);
  }

  /** Runs `statement`, again on a new connection while the server is unreachable. */
  async #retry<R>(operation: string, statement: () => Promise<R>): Promise<R> {
    const deadline = Date.now() + this.#reconnectWindowMs;
    for (let delay = 50; ; delay = Math.min(delay * 2, 1_000)) {
      try {
        return await statement();
      } catch (error) {
        if (this.#closing) throw this.#closedError(operation);
        if (!isConnectionError(error) || Date.now() + delay > deadline) throw error;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      this.#assertOpen(operation);
    }
  }

  #assertOpen(operation: string): void {
    if (this.#closing !== undefined) throw this.#closedError(operation);
  }

  #closedError(operation: string): TroupeError {
    return new TroupeError(
      'STORE_CLOSED',
      `PostgresStore.${operation}() was called after close(). Open the store (or create a runtime) again to keep working.`,
      { operation },
    );
  }
}
