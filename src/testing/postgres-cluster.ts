/**
 * A private, throwaway PostgreSQL 15 cluster for tests, benchmarks and
 * examples: `initdb` in a temp folder, `pg_ctl` on a free loopback port with
 * its socket in that folder, stopped (and the folder removed) by `stop()`.
 * Nothing listens beyond 127.0.0.1 and nothing outside the folder changes.
 *
 * `initdb` refuses to run as root, so as root the cluster runs as the
 * `postgres` user (created by Debian's `postgresql` package), which owns the
 * temp folder.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, chown, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { TroupeError } from '../errors.js';

const run = promisify(execFile);

/** Where Debian's `postgresql` package puts the server binaries (not on PATH). */
export const POSTGRES_BIN_DIR = '/usr/lib/postgresql/15/bin';

/** The command that installs them, named in the error when they are missing. */
export const POSTGRES_INSTALL_COMMAND = 'apt-get install -y postgresql';

/** Options of {@link startPostgresCluster}. */
export interface PostgresClusterOptions {
  /** Folder of `initdb` and `pg_ctl`. @default env `TROUPE_POSTGRES_BIN`, else {@link POSTGRES_BIN_DIR} */
  binDir?: string;
  /** Extra `postgres -c name=value` settings. @default {} */
  settings?: Readonly<Record<string, string | number>>;
}

/** A running private cluster. */
export interface PostgresCluster {
  /** `postgresql://troupe@127.0.0.1:<port>/postgres` (trust authentication, loopback only). */
  readonly connectionString: string;
  readonly port: number;
  /** The temp folder holding the data directory, the log and the socket. */
  readonly dir: string;
  /** The postmaster's pid. */
  pid(): Promise<number>;
  /** A connection string to database `name` of this cluster. */
  urlOf(name: string): string;
  /** Creates a fresh database with a unique name and returns its connection string. */
  createDatabase(prefix?: string): Promise<string>;
  /** `pg_ctl restart` (`immediate`: a crash, as after a power loss of the server). */
  restart(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops the server and removes the folder. Idempotent. */
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() =>
        typeof address === 'object' && address
          ? resolve(address.port)
          : reject(new Error('no port')),
      );
    });
  });
}

/**
 * Creates a database with a unique name (`<prefix>_<random>`) on the server of
 * `adminUrl` and returns its connection string: one per test file or suite,
 * so suites sharing a cluster never see each other's rows.
 */
export async function createDatabase(adminUrl: string, prefix = 'troupe'): Promise<string> {
  const name = `${prefix.replace(/[^a-z0-9_]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const { Client } = (await import('pg')).default;
  const client = new Client({ connectionString: adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Starts a private cluster.
 * @throws TroupeError `CONFIG_ERROR` naming the install command when the
 * PostgreSQL binaries are missing, or with the server log when it fails to start.
 */
export async function startPostgresCluster(
  options: PostgresClusterOptions = {},
): Promise<PostgresCluster> {
  const binDir = options.binDir ?? process.env.TROUPE_POSTGRES_BIN ?? POSTGRES_BIN_DIR;
  try {
    await access(join(binDir, 'initdb'));
  } catch {
    throw new TroupeError(
      'CONFIG_ERROR',
      `PostgreSQL server binaries not found in ${binDir}: install them with \`${POSTGRES_INSTALL_COMMAND}\` (Debian/Ubuntu), or set TROUPE_POSTGRES_BIN to the folder holding initdb and pg_ctl.`,
      { binDir },
    );
  }
  const dir = await mkdtemp(join(tmpdir(), 'troupe-pg-'));
  const asRoot = userInfo().uid === 0;
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres']);
    const { stdout: gid } = await run('id', ['-g', 'postgres']);
    await chown(dir, Number(stdout.trim()), Number(gid.trim()));
  }
  const exec = (tool: string, args: string[]) =>
    asRoot
      ? run('runuser', ['-u', 'postgres', '--', join(binDir, tool), ...args])
      : run(join(binDir, tool), args);
  const data = join(dir, 'data');
  const log = join(dir, 'log');
  const settings = Object.entries({
    listen_addresses: '127.0.0.1',
    fsync: 'on',
    ...options.settings,
  }).flatMap(([name, value]) => ['-c', `${name}=${value}`]);
  let port = 0;
  const startArgs = () => [
    '-D',
    data,
    '-l',
    log,
    '-o',
    [`-p ${port}`, `-k ${dir}`, ...settings].join(' '),
    '-w',
    '-t',
    '30',
  ];
  try {
    // --no-sync: a throwaway cluster need not fsync its creation (the server itself does fsync).
    await exec('initdb', [
      '-D',
      data,
      '-A',
      'trust',
      '-U',
      'troupe',
      '-E',
      'UTF8',
      '--locale=C',
      '--no-sync',
    ]);
    // A port taken between freePort() and the server's bind is retried.
    for (let attempt = 0; ; attempt++) {
      port = await freePort();
      try {
        await exec('pg_ctl', [...startArgs(), 'start']);
        break;
      } catch (error) {
        if (attempt >= 3) throw error;
      }
    }
  } catch (error) {
    const serverLog = await readFile(log, 'utf8').catch(() => '');
    await rm(dir, { recursive: true, force: true });
    throw new TroupeError(
      'CONFIG_ERROR',
      `Could not start a private PostgreSQL cluster in ${dir}: ${(error as Error).message}\n${serverLog}`,
      { dir },
      { cause: error },
    );
  }
  const urlOf = (name: string) => `postgresql://troupe@127.0.0.1:${port}/${name}`;
  let stopped: Promise<void> | undefined;
  return {
    connectionString: urlOf('postgres'),
    port,
    dir,
    urlOf,
    async pid() {
      const text = await readFile(join(data, 'postmaster.pid'), 'utf8');
      return Number(text.split('\n')[0]);
    },
    createDatabase(prefix) {
      return createDatabase(urlOf('postgres'), prefix);
    },
    async restart(mode = 'fast') {
      await exec('pg_ctl', [...startArgs(), '-m', mode, 'restart']);
    },
    stop() {
      stopped ??= (async () => {
        await exec('pg_ctl', ['-D', data, '-m', 'fast', '-w', 'stop']).catch(() => undefined);
        await rm(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
