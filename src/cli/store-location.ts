/**
 * Where a command finds the runs: the LevelDB data folder (the default), or
 * a PostgreSQL database many troupe processes share (`--database-url`, or
 * `TROUPE_DATABASE_URL` when `--data-dir` is not given; see docs/postgres.md).
 */
import type { RuntimeOptions } from '../runtime/runtime-options.js';
import { redactConnectionString } from '../store/postgres/redact.js';
import { type OptionValues, stringOption } from './command.js';

export interface StoreLocation {
  /** `--data-dir`. @default '.troupe' */
  dataDir: string;
  /** `--database-url`, else `TROUPE_DATABASE_URL` unless `--data-dir` is given; when set, runs live in PostgreSQL. */
  databaseUrl: string | undefined;
}

/** The location the parsed common options and the environment name. */
export function storeLocationOf(values: OptionValues, env = process.env): StoreLocation {
  const dataDir = stringOption(values, 'data-dir');
  return {
    dataDir: dataDir ?? '.troupe',
    databaseUrl:
      stringOption(values, 'database-url') ??
      (dataDir === undefined ? env.TROUPE_DATABASE_URL || undefined : undefined),
  };
}

/**
 * The store options of a runtime the CLI opens. On PostgreSQL it owns the
 * runs it starts or resumes but never takes over other processes' runs: it
 * may not have their agents, and it exits when its command is done.
 */
export function runtimeStore(
  location: StoreLocation,
): Pick<RuntimeOptions, 'dataDir' | 'store' | 'ownership'> {
  return location.databaseUrl === undefined
    ? { dataDir: location.dataDir }
    : {
        store: { postgres: { connectionString: location.databaseUrl } },
        ownership: { takeover: false },
      };
}

/** "the data folder .troupe" or "the database postgresql://…", for messages. */
export function describeStore(location: StoreLocation): string {
  return location.databaseUrl === undefined
    ? `the data folder ${location.dataDir}`
    : `the database ${redactConnectionString(location.databaseUrl)}`;
}

/** The options that point another command at the same store, e.g. ` --data-dir runs`. */
export function storeArguments(location: StoreLocation, env = process.env): string {
  if (location.databaseUrl !== undefined) {
    return env.TROUPE_DATABASE_URL === location.databaseUrl
      ? ''
      : ` --database-url ${redactConnectionString(location.databaseUrl)}`;
  }
  return location.dataDir === '.troupe' ? '' : ` --data-dir ${location.dataDir}`;
}
