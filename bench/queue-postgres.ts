/**
 * The shared task queue on PostgreSQL against pg-boss (same PostgreSQL
 * cluster, a database each) and BullMQ (a local redis-server started and
 * stopped here), with 1, 2 and 4 worker processes: jobs per second from the
 * first enqueue until every job is completed. Every worker process holds 500
 * no-op jobs at a time (troupe `maxWorkers`, pg-boss `batchSize`, BullMQ
 * `concurrency`): pg-boss waits out its polling interval (0.5 s at least)
 * after every fetch, so its batch sets its pace, and 500 is where it is at
 * its best here. The jobs are enqueued in bulk by this process.
 *
 *   npx tsx --conditions=development bench/queue-postgres.ts
 *   QUEUE_BENCH_JOBS=20000 npx tsx --conditions=development bench/queue-postgres.ts
 */
import { Queue } from 'bullmq';
import pg from 'pg';
import PgBoss from 'pg-boss';
import { TaskQueue } from '../src/runtime/queue/task-queue.js';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { createDatabase, startPostgresCluster } from '../src/testing/index.js';
import { bundleFixture, Worker } from '../test/durability/processes.js';
import { printTable, processTreeCpuMs, reportRatio, startRedis } from './harness.js';

const JOBS = Number(process.env.QUEUE_BENCH_JOBS ?? 10_000);
/** Jobs each worker process holds at once: troupe `maxWorkers`, pg-boss `batchSize`, BullMQ `concurrency`. */
const PER_WORKER = Number(process.env.QUEUE_BENCH_PER_WORKER ?? 500);
const SYSTEMS = (process.env.QUEUE_BENCH_SYSTEMS ?? 'troupe,pg-boss,bullmq').split(',');
const WORKER_COUNTS = (process.env.QUEUE_BENCH_WORKERS ?? '1,2,4').split(',').map(Number);

/**
 * Polls `done()` every 100 ms (the same for every system; cheap queries, so
 * the polling does not take the database's CPU from the workers).
 */
async function untilDone(done: () => Promise<boolean>): Promise<void> {
  while (!(await done())) await new Promise((resolve) => setTimeout(resolve, 100));
}

/**
 * Jobs per second from the first enqueue until every job is completed, how
 * long the enqueue took, and the CPU time per job of every process involved
 * (this one, the workers, PostgreSQL's and Redis's).
 */
interface Rate {
  jobsPerSecond: number;
  enqueueMs: number;
  cpuMsPerJob: number;
  /** Of which the database server's (PostgreSQL or Redis). */
  serverCpuMsPerJob: number;
}

/** Starts the workers, then times bulk enqueue + drain. */
async function measure(
  workers: () => Worker[],
  enqueue: () => Promise<void>,
  done: () => Promise<boolean>,
): Promise<Rate> {
  const started = workers();
  let rate: Pick<Rate, 'jobsPerSecond' | 'enqueueMs'>;
  let cpuBefore: number;
  let serverBefore: number;
  try {
    await Promise.all(started.map((worker) => worker.waitFor('ready')));
    cpuBefore = processTreeCpuMs(cpuRoots);
    serverBefore = processTreeCpuMs(serverRoots);
    const start = performance.now();
    await enqueue();
    const enqueueMs = performance.now() - start;
    await untilDone(done);
    rate = { jobsPerSecond: (JOBS * 1000) / (performance.now() - start), enqueueMs };
  } finally {
    await Promise.all(started.map((worker) => worker.kill().catch(() => undefined)));
  }
  return {
    ...rate,
    cpuMsPerJob: (processTreeCpuMs(cpuRoots) - cpuBefore) / JOBS,
    serverCpuMsPerJob: (processTreeCpuMs(serverRoots) - serverBefore) / JOBS,
  };
}

async function troupe(cluster: string, file: string, workers: number): Promise<Rate> {
  const url = await createDatabase(cluster, 'bench_troupe');
  const store = await PostgresStore.open({ connectionString: url });
  const queue = new TaskQueue({ store, name: 'bench' });
  try {
    return await measure(
      () =>
        Array.from(
          { length: workers },
          () =>
            new Worker(file, [url, 'bench'], {
              QUIET: '1',
              MAX_WORKERS: String(PER_WORKER),
              // troupe's default, as pg-boss polls here: an idle worker looks
              // every 0.5 s, and LISTEN/NOTIFY wakes it at once on an enqueue.
              POLL_MS: '500',
            }),
        ),
      async () => {
        await Promise.all(
          Array.from({ length: JOBS }, (_, i) =>
            queue.enqueue({ name: 'noop', handler: 'work', args: [i] }),
          ),
        );
      },
      // Nothing queued, running or retrying (an EXISTS on the partial indexes).
      async () => !(await store.jobs.busy('bench', Date.now())),
    );
  } finally {
    await store.close();
  }
}

async function pgBoss(cluster: string, file: string, workers: number): Promise<Rate> {
  const url = await createDatabase(cluster, 'bench_pgboss');
  const boss = new PgBoss({ connectionString: url, supervise: false, schedule: false });
  boss.on('error', () => undefined);
  await boss.start();
  await boss.createQueue('bench');
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  try {
    return await measure(
      () =>
        Array.from(
          { length: workers },
          () => new Worker(file, ['pg-boss', url, 'bench', String(PER_WORKER)]),
        ),
      () => boss.insert(Array.from({ length: JOBS }, (_, i) => ({ name: 'bench', data: { i } }))),
      async () => {
        const { rows } = await pool.query<{ n: string }>(
          "SELECT count(*) AS n FROM pgboss.job WHERE name = 'bench' AND state = 'completed'",
        );
        return Number(rows[0]!.n) >= JOBS;
      },
    );
  } finally {
    await pool.end();
    await boss.stop({ graceful: false, wait: true });
  }
}

async function bullmq(port: number, file: string, workers: number): Promise<Rate> {
  const name = `bench-${workers}`;
  const queue = new Queue(name, { connection: { host: '127.0.0.1', port } });
  try {
    return await measure(
      () =>
        Array.from(
          { length: workers },
          () => new Worker(file, ['bullmq', String(port), name, String(PER_WORKER)]),
        ),
      async () => {
        for (let from = 0; from < JOBS; from += 1000) {
          const size = Math.min(1000, JOBS - from);
          await queue.addBulk(
            Array.from({ length: size }, (_, i) => ({ name: 'noop', data: { i: from + i } })),
          );
        }
      },
      async () => (await queue.getCompletedCount()) >= JOBS,
    );
  } finally {
    await queue.close();
  }
}

const cluster = await startPostgresCluster();
const redis = await startRedis();
/** This process (with the workers and redis-server, its children) and the PostgreSQL server. */
const cpuRoots = [process.pid, await cluster.pid()];
const serverRoots = [await cluster.pid(), redis.pid];
const troupeWorker = await bundleFixture('pg-queue-worker');
const peerWorker = await bundleFixture('peer-queue-worker', 'bench/workers');
try {
  const rows: string[][] = [];
  const skipped: Rate = {
    jobsPerSecond: Number.NaN,
    enqueueMs: Number.NaN,
    cpuMsPerJob: Number.NaN,
    serverCpuMsPerJob: Number.NaN,
  };
  for (const workers of WORKER_COUNTS) {
    const ours = SYSTEMS.includes('troupe')
      ? await troupe(cluster.connectionString, troupeWorker.file, workers)
      : skipped;
    const boss = SYSTEMS.includes('pg-boss')
      ? await pgBoss(cluster.connectionString, peerWorker.file, workers)
      : skipped;
    const bull = SYSTEMS.includes('bullmq')
      ? await bullmq(redis.port, peerWorker.file, workers)
      : skipped;
    const cell = ({ jobsPerSecond, enqueueMs, cpuMsPerJob, serverCpuMsPerJob }: Rate) =>
      `${Math.round(jobsPerSecond).toLocaleString('en')} (${(enqueueMs / 1000).toFixed(1)} s; ${cpuMsPerJob.toFixed(2)} / ${serverCpuMsPerJob.toFixed(2)} ms)`;
    reportRatio(`queue-postgres.over-pgboss.w${workers}`, ours.jobsPerSecond / boss.jobsPerSecond);
    reportRatio(`queue-postgres.over-bullmq.w${workers}`, ours.jobsPerSecond / bull.jobsPerSecond);
    rows.push([
      String(workers),
      cell(ours),
      cell(boss),
      cell(bull),
      `${(ours.jobsPerSecond / boss.jobsPerSecond).toFixed(1)}x`,
      `${(ours.jobsPerSecond / bull.jobsPerSecond).toFixed(1)}x`,
    ]);
  }
  printTable(
    `Shared queue throughput, ${JOBS.toLocaleString('en')} no-op jobs, enqueue in bulk + drain (jobs/s; in brackets: the seconds the enqueue took; CPU ms per job of every process involved / of the database server alone; ${PER_WORKER} jobs at a time per worker process; one PostgreSQL 15 cluster, local redis-server; 2 cores for everything)`,
    [
      'worker processes',
      'troupe on PostgreSQL',
      'pg-boss 10 (same server)',
      'BullMQ 6 (Redis)',
      'troupe / pg-boss',
      'troupe / BullMQ',
    ],
    rows,
  );
} finally {
  await troupeWorker.remove();
  await peerWorker.remove();
  await redis.stop();
  await cluster.stop();
}
