import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seqKey } from '../../src/store/keys.js';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { testDatabase } from '../support/postgres.js';
import { describeStoreConformance, expectTroupeError } from './conformance.js';
import { describeStoreFaults } from './faults.js';

let url: string;
beforeAll(async () => {
  url = await testDatabase('store');
});

async function sql<R extends pg.QueryResultRow = pg.QueryResultRow>(
  text: string,
  params: unknown[] = [],
  database = url,
): Promise<R[]> {
  const client = new pg.Client({ connectionString: database });
  await client.connect();
  try {
    return (await client.query<R>(text, params)).rows;
  } finally {
    await client.end();
  }
}

describeStoreConformance('PostgresStore', async () => {
  const store = await PostgresStore.open({ connectionString: url });
  await sql('TRUNCATE troupe_records, troupe_leases, troupe_commands');
  return { store, cleanup: () => store.close() };
});

describeStoreFaults(
  'PostgresStore',
  async () => {
    const database = await testDatabase('faults');
    return {
      open: () => PostgresStore.open({ connectionString: database }),
      // The database is dropped with the test cluster.
      cleanup: async () => undefined,
    };
  },
  { sharedQueue: true },
);

describe('PostgresStore schema', () => {
  it('migrates once under an advisory lock when several processes open a fresh database at once', async () => {
    const fresh = await testDatabase('migrate');
    const stores = await Promise.all(
      Array.from({ length: 4 }, () => PostgresStore.open({ connectionString: fresh })),
    );
    const versions = await sql<{ version: number }>(
      'SELECT version FROM troupe_migrations ORDER BY version',
      [],
      fresh,
    );
    expect(versions.map((row) => row.version)).toEqual(MIGRATIONS.map((m) => m.version));
    await stores[0]!.batch([{ type: 'put', collection: 'meta', key: 'k', value: 1 }]);
    expect(await stores[3]!.get('meta', 'k')).toBe(1);
    await Promise.all(stores.map((store) => store.close()));
  });

  it('refuses a database migrated by a newer troupe with CONFIG_ERROR', async () => {
    const fresh = await testDatabase('newer');
    await (await PostgresStore.open({ connectionString: fresh })).close();
    await sql("INSERT INTO troupe_migrations (version, name) VALUES (999, 'future')", [], fresh);
    await expectTroupeError(
      PostgresStore.open({ connectionString: fresh }),
      'CONFIG_ERROR',
      'version 999',
      'Upgrade troupe',
    );
  });

  it('gives CONFIG_ERROR without a connection string, or when the server cannot be reached', async () => {
    await expectTroupeError(
      PostgresStore.open({ connectionString: '' }),
      'CONFIG_ERROR',
      'TROUPE_DATABASE_URL',
    );
    await expectTroupeError(
      PostgresStore.open({ connectionString: 'postgresql://nobody:secret@127.0.0.1:1/none' }),
      'CONFIG_ERROR',
      'Check that the server runs',
    );
  });
});

describe('PostgresStore fencing', () => {
  let store: PostgresStore;
  beforeAll(async () => {
    store = await PostgresStore.open({ connectionString: url, ownerId: 'me' });
  });
  afterAll(() => store.close());

  it('writes the ops of a run only while the lease holds the fenced epoch; the rest of the batch commits', async () => {
    const lease = await store.leases.acquire('wf-fenced', 'me', Date.now(), 60_000);
    expect(lease).toEqual({ workflowId: 'wf-fenced', epoch: 1 });
    store.fence('wf-fenced', lease!.epoch);
    const lost: string[] = [];
    store.onOwnershipLost((id) => lost.push(id));
    await store.batch([
      { type: 'put', collection: 'journal', key: seqKey('wf-fenced', 1), value: 'mine' },
    ]);
    // Another owner takes the run over (its lease was made to expire).
    await sql(
      "UPDATE troupe_leases SET owner_id = 'other', epoch = epoch + 1 WHERE workflow_id = 'wf-fenced'",
    );
    await store.batch([
      { type: 'put', collection: 'journal', key: seqKey('wf-fenced', 2), value: 'stale' },
      { type: 'del', collection: 'journal', key: seqKey('wf-fenced', 1) },
      { type: 'put', collection: 'workflows', key: 'wf-fenced', value: 'stale' },
      { type: 'put', collection: 'meta', key: 'unfenced', value: 'ok' },
    ]);
    expect(lost).toEqual(['wf-fenced']);
    expect(await store.get('journal', seqKey('wf-fenced', 1))).toBe('mine');
    expect(await store.get('journal', seqKey('wf-fenced', 2))).toBeUndefined();
    expect(await store.get('workflows', 'wf-fenced')).toBeUndefined();
    expect(await store.get('meta', 'unfenced')).toBe('ok');
    expect(store.epochOf('wf-fenced')).toBeUndefined();
    // Writes of the lost run queued before the loss was heard stay refused; no second report.
    await store.batch([
      { type: 'put', collection: 'journal', key: seqKey('wf-fenced', 2), value: 'late' },
    ]);
    expect(await store.get('journal', seqKey('wf-fenced', 2))).toBeUndefined();
    expect(lost).toEqual(['wf-fenced']);
    // Owned again (a new lease): its writes carry the new epoch.
    await sql("UPDATE troupe_leases SET expires_at = 0 WHERE workflow_id = 'wf-fenced'");
    const again = await store.leases.acquire('wf-fenced', 'me', Date.now(), 60_000);
    store.fence('wf-fenced', again!.epoch);
    await store.batch([
      { type: 'put', collection: 'journal', key: seqKey('wf-fenced', 2), value: 'mine again' },
    ]);
    expect(await store.get('journal', seqKey('wf-fenced', 2))).toBe('mine again');
  });
});

describe('PostgresStore and lost connections', () => {
  /** Starts `batch` while a row it writes is locked elsewhere, so it is in flight on the server. */
  async function blockedBatch(store: PostgresStore, key: string) {
    await store.batch([{ type: 'put', collection: 'meta', key, value: 'before' }]);
    const locker = new pg.Client({ connectionString: url });
    await locker.connect();
    await locker.query('BEGIN');
    await locker.query(
      "SELECT 1 FROM troupe_records WHERE collection = 'meta' AND key = $1 FOR UPDATE",
      [Buffer.from(key)],
    );
    const batch = store.batch([
      { type: 'put', collection: 'meta', key, value: 'after' },
      { type: 'put', collection: 'meta', key: `${key}-2`, value: 'after' },
    ]);
    const outcome = batch.then(
      () => 'acknowledged' as const,
      (error: unknown) => error,
    );
    // Wait until the batch's backend waits on the lock, then kill it.
    let pids: { pid: number }[] = [];
    while (pids.length === 0) {
      pids = await sql<{ pid: number }>(
        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%troupe_apply%'",
      );
    }
    await sql('SELECT pg_terminate_backend($1)', [pids[0]!.pid]);
    await locker.query('ROLLBACK');
    await locker.end();
    return outcome;
  }

  it('a backend terminated mid-batch: the batch is repeated on a new connection, then acknowledged and fully written', async () => {
    const store = await PostgresStore.open({ connectionString: url });
    expect(await blockedBatch(store, 'retried')).toBe('acknowledged');
    expect(await store.get('meta', 'retried')).toBe('after');
    expect(await store.get('meta', 'retried-2')).toBe('after');
    await store.close();
  });

  it('without a reconnect window the batch fails and nothing of it is written', async () => {
    const store = await PostgresStore.open({ connectionString: url, reconnectWindowMs: 0 });
    const outcome = await blockedBatch(store, 'dropped');
    expect(outcome).toBeInstanceOf(Error);
    expect(await store.get('meta', 'dropped')).toBe('before');
    expect(await store.get('meta', 'dropped-2')).toBeUndefined();
    await store.close();
  });
});
