/**
 * troupe on PostgreSQL against troupe on LevelDB and DBOS Transact, on one
 * private local PostgreSQL cluster started for the run: durable sequential
 * steps per second and per-step latency; and the time to take over and
 * finish a 1,000-task run after its owner was SIGKILLed.
 *
 * "durable" for troupe comes in two kinds: group commit (the completion of a
 * step is journaled in the same batch as whatever else happened in that turn
 * of the event loop, and the run's result resolves only once everything is
 * written), and strict (each step waits until the previous completion is
 * written, as DBOS writes one row per step before the next starts).
 *
 *   npx tsx --conditions=development bench/postgres.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DBOS } from '@dbos-inc/dbos-sdk';
import { createRuntime, defineAgent, type Runtime } from '../src/index.js';
import { createDatabase, startPostgresCluster } from '../src/testing/index.js';
import { bundleFixture, Worker } from '../test/durability/processes.js';
import { chain, median, printTable, timeIt } from './harness.js';

const STEPS = 500;
const ROUNDS = 3;
const cluster = await startPostgresCluster();

/** Median ms of a `STEPS`-task chain on a runtime, over `ROUNDS` runs. */
async function troupeChain(open: () => Promise<Runtime>, strict: boolean): Promise<number> {
  const rt = await open();
  rt.registerAgent(
    defineAgent({
      role: 'noop',
      run: async () => {
        // Strict: the previous completion is on disk before this step starts.
        if (strict) await rt.engine.flushed();
        return { ok: true };
      },
    }),
  );
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    times.push(await timeIt(() => rt.engine.execute({ name: 'bench', tasks: chain(STEPS) })));
  }
  await rt.close();
  return median(times);
}

async function dbosChain(): Promise<number> {
  DBOS.setConfig({
    name: 'troupe-bench',
    systemDatabaseUrl: await createDatabase(cluster.connectionString, 'dbos'),
    logLevel: 'error',
  });
  const noop = async () => ({ ok: true });
  // DBOS refuses registrations after launch.
  const workflow = DBOS.registerWorkflow(
    async () => {
      for (let i = 0; i < STEPS; i++) await DBOS.runStep(noop, { name: `t${i}` });
    },
    { name: 'benchChain' },
  );
  await DBOS.launch();
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) times.push(await timeIt(() => workflow()));
  await DBOS.shutdown();
  return median(times);
}

const postgres = async () =>
  createRuntime({
    store: { postgres: { connectionString: await createDatabase(cluster.connectionString) } },
  });
const dirs: string[] = [];
const level = async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'troupe-bench-'));
  dirs.push(dir);
  return createRuntime({ dataDir: dir });
};

try {
  const rows: [string, number][] = [
    ['troupe on PostgreSQL, group commit', await troupeChain(postgres, false)],
    [
      'troupe on PostgreSQL, strict (each step written before the next)',
      await troupeChain(postgres, true),
    ],
    ['troupe on LevelDB, group commit', await troupeChain(level, false)],
    ['troupe on LevelDB, strict', await troupeChain(level, true)],
    ['DBOS Transact 5 (one row per step)', await dbosChain()],
  ];
  const dbos = rows.at(-1)![1];
  printTable(
    `Durable sequential steps (${STEPS}-step chain, median of ${ROUNDS}, same local PostgreSQL 15)`,
    ['case', 'steps/s', 'ms per step', 'vs DBOS'],
    rows.map(([name, ms]) => [
      name,
      Math.round((STEPS * 1000) / ms).toLocaleString('en'),
      (ms / STEPS).toFixed(3),
      `${(dbos / ms).toFixed(1)}x`,
    ]),
  );

  // Takeover: A runs a 1,000-task chain, is SIGKILLed a third of the way in;
  // B (already running, default lease 5 s and sweep 1 s) takes over and finishes.
  const fixture = await bundleFixture('pg-owner');
  const counters = await mkdtemp(path.join(tmpdir(), 'troupe-bench-counters-'));
  dirs.push(counters);
  try {
    const url = await createDatabase(cluster.connectionString, 'takeover');
    const env = {
      TASKS: '1000',
      TASK_MS: '0',
      LEASE_MS: '5000',
      HEARTBEAT_MS: '1000',
      SWEEP_MS: '1000',
    };
    const a = new Worker(fixture.file, [url, counters, 'A', '1', 'wf-big'], env);
    const b = new Worker(fixture.file, [url, counters, 'B', '1'], env);
    await b.waitFor('ready');
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (a.signals.filter((s) => s.signal === 'journaled').length >= 333) {
          clearInterval(check);
          resolve();
        }
      }, 2);
    });
    await a.kill();
    const killed = performance.now();
    await b.waitFor('restored');
    const takenOver = performance.now() - killed;
    await b.waitFor('done');
    const ms = performance.now() - killed;
    await b.finished();
    const seconds = (at: number) => `${(at / 1000).toFixed(2)} s`;
    printTable(
      'Takeover of a 1,000-task run after SIGKILL of its owner (lease 5 s, sweep 1 s)',
      ['measure', 'value', 'goal'],
      [
        ['kill -> survivor recovered the run', seconds(takenOver), 'lease + 1 s = 6 s'],
        ['goal met', takenOver <= 6_000 ? 'yes' : 'no', ''],
        ['kill -> survivor finished the remaining ~667 tasks', seconds(ms), ''],
      ],
    );
  } finally {
    await fixture.remove();
  }
} finally {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  await cluster.stop();
}
