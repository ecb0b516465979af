/**
 * Opening the runs' store from a command: the data folder or the PostgreSQL
 * database. LevelDB lets one process at a time open a folder: when another
 * holds it, the error says which process and command, and what to do
 * instead of the command that was refused (`whenLocked`).
 */
import { TroupeError } from '../errors.js';
import type { Runtime } from '../runtime/runtime.js';
import type { RuntimeOptions } from '../runtime/runtime-options.js';
import type { RunRecord } from '../schemas/run-record.js';
import type { PostgresStore } from '../store/postgres/postgres-store.js';
import type { Store } from '../store/store.js';
import { describeStore, runtimeStore, type StoreLocation } from './store-location.js';

/** Opens the store of `location` for `use` and closes it after. */
export async function withStore<T>(
  location: StoreLocation,
  use: (store: Store) => Promise<T>,
  whenLocked: string,
): Promise<T> {
  const store = await openStore(location).catch((error) => {
    throw explainLocked(error, location.dataDir, whenLocked);
  });
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

/**
 * Opens the PostgreSQL database for `use` (which also reads what only it
 * has: leases, workers) and closes it after; fails at once when the server
 * is unreachable instead of retrying.
 */
export async function withDatabase<T>(
  connectionString: string,
  use: (store: PostgresStore) => Promise<T>,
): Promise<T> {
  const { PostgresStore } = await import('../store/postgres/postgres-store.js');
  const store = await PostgresStore.open({ connectionString, reconnectWindowMs: 0 });
  try {
    return await use(store);
  } finally {
    await store.close();
  }
}

async function openStore({ dataDir, databaseUrl }: StoreLocation): Promise<Store> {
  if (databaseUrl === undefined) {
    const { LevelStore } = await import('../store/level/level-store.js');
    return LevelStore.open(dataDir);
  }
  const { PostgresStore } = await import('../store/postgres/postgres-store.js');
  return PostgresStore.open({ connectionString: databaseUrl });
}

/** A runtime over the store of `location` with `options` (agents, inspector...). */
export async function openRuntime(
  location: StoreLocation,
  whenLocked: string,
  options: Omit<RuntimeOptions, 'dataDir' | 'store' | 'ownership'> = {},
): Promise<Runtime> {
  const { createRuntime } = await import('../runtime/runtime.js');
  return createRuntime({ ...options, ...runtimeStore(location) }).catch((error) => {
    throw explainLocked(error, location.dataDir, whenLocked);
  });
}

/**
 * Rewrites `STORE_LOCKED` for a command: names the folder, the process and
 * its command, and `advice` (what to do instead); other errors pass unchanged.
 */
export function explainLocked(error: unknown, dataDir: string, advice: string): unknown {
  if (!(error instanceof TroupeError) || error.code !== 'STORE_LOCKED') return error;
  const owner = error.context.owner as
    | { pid?: number; command?: string; hostname?: string }
    | undefined;
  const holder =
    owner?.pid === undefined
      ? 'another process'
      : `process ${owner.pid}${owner.command ? ` (${owner.command})` : ''}${owner.hostname ? ` on ${owner.hostname}` : ''}`;
  return new TroupeError(
    'STORE_LOCKED',
    `the data folder ${dataDir} is open in ${holder}, and only one process at a time can open it; ${advice}`,
    error.context,
    { cause: error },
  );
}

/** A stored run's status as the CLI shows it: a run neither ended nor paused was interrupted. */
export function shownStatus(record: RunRecord): string {
  if (record.result || record.status === 'paused') return record.status;
  return 'interrupted';
}

/** Reads a run record or fails naming the run and how to list the stored ones. */
export async function storedRun(
  store: Store,
  runId: string,
  location: StoreLocation,
): Promise<RunRecord> {
  const { workflowKey } = await import('../store/keys.js');
  const record = await store.get<RunRecord>('workflows', workflowKey(runId));
  if (!record) {
    throw new TroupeError(
      'WORKFLOW_NOT_FOUND',
      `No run "${runId}" in ${describeStore(location)}; \`troupe list\` shows the stored runs.`,
      { workflowId: runId },
    );
  }
  return record;
}
