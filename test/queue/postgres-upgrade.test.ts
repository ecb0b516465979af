/**
 * Rows of the shared queue written before migration 5 (jsonb columns, the
 * completed attempt kept in the history) read and run the same after it:
 * the database is brought to version 4 by hand, rows go in as troupe wrote
 * them then, and a PostgresStore opening it migrates it.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TaskQueue } from '../../src/runtime/queue/task-queue.js';
import { MIGRATIONS } from '../../src/store/postgres/migrations.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { testDatabase } from '../support/postgres.js';

const spec = (n: number) =>
  JSON.stringify({
    name: 'double',
    handler: 'double',
    args: [n],
    maxRetries: 2,
    timeoutMs: null,
    backoff: { initialDelayMs: 10, factor: 2, maxDelayMs: 1000, jitter: 0 },
    createdAt: 1_000,
  });

const attempt = (n: number, outcome: string, error: { name: string; message: string } | null) => ({
  attempt: n,
  startedAt: 1_000 + n * 100,
  finishedAt: 1_050 + n * 100,
  deadline: null,
  outcome,
  error,
});

let url: string;
let store: PostgresStore | undefined;
let queue: TaskQueue | undefined;

beforeAll(async () => {
  url = await testDatabase('pgqueue_upgrade');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`CREATE TABLE troupe_migrations (
      version integer PRIMARY KEY, name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now())`);
    for (const migration of MIGRATIONS.filter((m) => m.version <= 4)) {
      await client.query(migration.sql);
      await client.query('INSERT INTO troupe_migrations (version, name) VALUES ($1, $2)', [
        migration.version,
        migration.name,
      ]);
    }
    const failed = { name: 'Error', message: 'first try failed' };
    await client.query(
      `INSERT INTO troupe_jobs (queue, id, status, priority, run_at, spec, attempts, attempt,
         started_at, failures, result, finished_at) VALUES
       ('old', 'done', 'completed', 0, 1000, $1, $4, 1, 1100, 0, '{"n": 2}', 1150),
       ('old', 'waiting', 'queued', 0, 1000, $2, '[]', 0, NULL, 0, NULL, NULL),
       ('old', 'retry', 'retrying', 0, 1000, $3, $5, 1, 1100, 1, NULL, NULL)`,
      [
        spec(1),
        spec(2),
        spec(3),
        JSON.stringify([attempt(1, 'completed', null)]),
        JSON.stringify([attempt(1, 'failed', failed)]),
      ],
    );
  } finally {
    await client.end();
  }
});

afterAll(async () => {
  await queue?.stop({ graceful: false });
  await store?.close();
});

describe('shared queue rows from before migration 5', () => {
  it('read the same and run to completion after the migration', async () => {
    store = await PostgresStore.open({ connectionString: url });
    queue = new TaskQueue({ store, name: 'old', pollIntervalMs: 20 });
    queue.register('double', ({ args }) => ({ n: (args[0] as number) * 2 }));

    const done = (await queue.getJob('done'))!;
    expect(done.status).toBe('completed');
    expect(done.result).toEqual({ n: 2 });
    expect(done.attempts).toEqual([attempt(1, 'completed', null)]);

    await queue.start();
    const waiting = await queue.waitForJob('waiting');
    expect(waiting).toMatchObject({ status: 'completed', result: { n: 4 }, attempts: 1 });
    const retry = await queue.waitForJob('retry');
    expect(retry).toMatchObject({ status: 'completed', result: { n: 6 }, attempts: 2 });
    expect(retry.errors.map((error) => error.message)).toEqual(['first try failed']);

    // Completed under the new schema: the history holds only the failure,
    // and the attempt that completed is read from the row.
    const info = (await queue.getJob('retry'))!;
    expect(info.attempts.map((a) => [a.attempt, a.outcome, a.error?.message ?? null])).toEqual([
      [1, 'failed', 'first try failed'],
      [2, 'completed', null],
    ]);
    expect(info.attempts[1]!.finishedAt).toBeGreaterThanOrEqual(info.attempts[1]!.startedAt);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query<{ history: number }>(
        "SELECT json_array_length(attempts) AS history FROM troupe_jobs WHERE id = 'retry'",
      );
      expect(rows[0]!.history).toBe(1);
    } finally {
      await client.end();
    }
  });
});
