/**
 * Remote agents: the round trip of a task served by a worker process
 * (dispatch at the owner -> row -> NOTIFY -> claim -> run -> result ->
 * NOTIFY -> the owner continues), against the same task served by a local
 * agent, on one private local PostgreSQL cluster started for the run. Each
 * is a chain, so every task waits for the one before: the time from a task's
 * start (its dispatch) to its completion at the owner is the round trip.
 *
 *   npx tsx --conditions=development bench/workers.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRuntime, defineAgent } from '../src/index.js';
import { createDatabase, startPostgresCluster } from '../src/testing/index.js';
import { bundleFixture, Worker } from '../test/durability/processes.js';
import { chain, median, printTable } from './harness.js';

const TASKS = 200;
const cluster = await startPostgresCluster();
const fixture = await bundleFixture('pg-worker');
const counters = await mkdtemp(path.join(tmpdir(), 'troupe-bench-workers-'));

/** Per-task ms from dispatch (`task.started`) to completion at the owner, over one chain. */
async function roundTrips(remote: boolean): Promise<{ trips: number[]; totalMs: number }> {
  const url = await createDatabase(cluster.connectionString, 'workers');
  const worker = remote
    ? new Worker(fixture.file, [url, counters, 'W1'], { TASK_MS: '0' })
    : undefined;
  await worker?.waitFor('ready');
  const rt = await createRuntime({
    store: { postgres: { connectionString: url } },
    agents: remote ? [] : [defineAgent({ role: 'remote', run: () => ({ ok: true }) })],
  });
  const started = new Map<string, number>();
  const trips: number[] = [];
  rt.engine.on('task.started', (event) => started.set(event.taskId, performance.now()));
  rt.engine.on('task.completed', (event) =>
    trips.push(performance.now() - started.get(event.taskId)!),
  );
  const begin = performance.now();
  const result = await rt.engine.execute({ name: 'bench', tasks: chain(TASKS, 'remote') });
  const totalMs = performance.now() - begin;
  if (result.status !== 'completed') throw new Error(`bench run ${result.status}`);
  await rt.close();
  worker?.child.kill('SIGTERM');
  await worker?.finished();
  return { trips, totalMs };
}

const percentile = (values: number[], p: number) =>
  [...values].sort((a, b) => a - b)[Math.min(values.length - 1, Math.floor(values.length * p))]!;

try {
  const local = await roundTrips(false);
  const remote = await roundTrips(true);
  printTable(
    `Task round trip, dispatch to completion at the owner (${TASKS}-task chain, same local PostgreSQL 15; the worker is another process)`,
    ['agent', 'p50 ms', 'p95 ms', 'tasks/s in the chain', 'vs local'],
    [
      ['local agent (in the owner)', local],
      ['remote agent (worker process, LISTEN/NOTIFY)', remote],
    ].map(([name, run]) => {
      const { trips, totalMs } = run as typeof local;
      return [
        name as string,
        median(trips).toFixed(2),
        percentile(trips, 0.95).toFixed(2),
        Math.round((TASKS * 1000) / totalMs).toLocaleString('en'),
        `${(totalMs / local.totalMs).toFixed(1)}x the time`,
      ];
    }),
  );
} finally {
  await fixture.remove();
  await rm(counters, { recursive: true, force: true });
  await cluster.stop();
}
