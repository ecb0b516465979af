/**
 * The PostgreSQL database of a command (`--database-url`, else the env
 * `TROUPE_DATABASE_URL`): commands that see a whole cluster of processes
 * (`worker`, `workers`, `list`) read it there.
 */
import type { PostgresStore } from '../store/postgres/postgres-store.js';
import type { OptionSpec, OptionValues } from './command.js';
import { stringOption } from './command.js';

export const DATABASE_URL_OPTION: OptionSpec = {
  type: 'string',
  value: '<url>',
  description: 'the PostgreSQL database of the cluster (default: env TROUPE_DATABASE_URL)',
};

/** The connection string given, if any. */
export function databaseUrl(values: OptionValues): string | undefined {
  return stringOption(values, 'database-url') ?? (process.env.TROUPE_DATABASE_URL || undefined);
}

/** Opens the database for `use` and closes it after. */
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
