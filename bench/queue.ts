/**
 * Task queue benchmark: troupe's TaskQueue against p-queue 9, in one process.
 *
 *   npx tsx --conditions=development bench/queue.ts [--jobs 100000] [--runs 3]
 *
 * 1. Throughput: N no-op jobs with mixed priorities (LOW..URGENT round-robin)
 *    at concurrency 5 and 50, timed from the first enqueue until the queue is
 *    idle. troupe in memory (named handler, and a function per job like
 *    p-queue), p-queue with priorities and without. Median of `--runs` runs.
 * 2. Persisted: the same with a LevelStore in a temp folder; timed until every
 *    job has finished and every write is committed. Twice: no-op jobs (most
 *    finish before their first write, so coalesced batches write almost
 *    nothing) and jobs that yield to the event loop once (so every job's
 *    states are really written); the store writes per job are printed.
 *    BullMQ 6 beside each, on a redis-server started and stopped here.
 * 3. Enqueue cost: µs per enqueue into a stopped queue already holding 1,000 /
 *    100,000 / 1,000,000 jobs (median of 7 windows of 10,000 enqueues), and
 *    p-queue's at 1,000 and 100,000.
 *
 * Prints a Markdown table, wall clock and CPU time side by side. Numbers
 * depend on the machine and on what else runs on it; compare rows.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue, Worker } from 'bullmq';
import PQueue from 'p-queue';
import { JobPriority } from '../src/machines/queue/job.js';
import { TaskQueue } from '../src/runtime/queue/task-queue.js';
import { LevelStore } from '../src/store/level/level-store.js';
import { reportRatio, startRedis } from './harness.js';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number): number => {
  const at = args.indexOf(`--${name}`);
  return at === -1 ? fallback : Number(args[at + 1]);
};
const JOBS = flag('jobs', 100_000);
const RUNS = flag('runs', 3);
const PRIORITIES = [JobPriority.LOW, JobPriority.NORMAL, JobPriority.HIGH, JobPriority.URGENT];
const noop = async (): Promise<void> => {};

interface Row {
  what: string;
  concurrency: number | string;
  wall: string;
  cpu: string;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

const perSecond = (jobs: number, ms: number): number => Math.round((jobs * 1000) / ms);

/** Wall-clock and CPU time of one run, in ms. */
interface Timing {
  wall: number;
  cpu: number;
}

/**
 * Times `body`. CPU time (this process, all threads) is reported too: on a
 * shared machine it moves far less than wall time when other processes load
 * the cores, so ratios between contenders are steadier in CPU time.
 */
async function time(body: () => Promise<void>): Promise<Timing> {
  const cpu = process.cpuUsage();
  const start = performance.now();
  await body();
  const used = process.cpuUsage(cpu);
  return { wall: performance.now() - start, cpu: (used.user + used.system) / 1000 };
}

async function troupeRun(
  concurrency: number,
  jobs: number,
  style: 'named' | 'function',
): Promise<Timing> {
  const queue = new TaskQueue({ maxWorkers: concurrency, keepFinishedJobs: 1000 });
  queue.register('noop', noop);
  const timing = await time(async () => {
    await queue.start();
    for (let i = 0; i < jobs; i++) {
      void queue.enqueue({
        name: 'noop',
        handler: style === 'named' ? 'noop' : noop,
        priority: PRIORITIES[i % 4],
      });
    }
    await queue.onIdle();
  });
  await queue.stop();
  return timing;
}

async function pQueueRun(concurrency: number, jobs: number, priorities: boolean): Promise<Timing> {
  const queue = new PQueue({ concurrency });
  return time(async () => {
    for (let i = 0; i < jobs; i++) {
      void queue.add(noop, priorities ? { priority: i % 4 } : undefined);
    }
    await queue.onIdle();
  });
}

/** Yields to the event loop once, so the job's stored state is written before it ends. */
const yielding = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

let storeOps = 0;

async function persistedRun(
  concurrency: number,
  jobs: number,
  handler: () => Promise<void>,
): Promise<Timing> {
  const dir = await mkdtemp(join(tmpdir(), 'troupe-bench-'));
  const store = await LevelStore.open(dir);
  const batch = store.batch.bind(store);
  store.batch = (ops) => {
    storeOps += ops.length;
    return batch(ops);
  };
  try {
    const queue = new TaskQueue({ maxWorkers: concurrency, store, keepFinishedJobs: 1000 });
    queue.register('noop', handler);
    const timing = await time(async () => {
      await queue.start();
      const enqueued: Promise<string>[] = [];
      for (let i = 0; i < jobs; i++) {
        enqueued.push(
          queue.enqueue({ name: 'noop', handler: 'noop', priority: PRIORITIES[i % 4] }),
        );
      }
      await Promise.all(enqueued);
      await queue.onIdle();
      await queue.flush();
    });
    await queue.stop();
    return timing;
  } finally {
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

let bullRuns = 0;

/**
 * The same jobs on BullMQ 6, queue and worker in this process, on the
 * redis-server the benchmark started (append-only file without fsync, like
 * the LevelStore without `sync`); timed from the first add until the worker
 * completed every job. Completed jobs beyond 1,000 are removed, as troupe
 * keeps 1,000 finished jobs here.
 */
async function bullmqRun(
  port: number,
  concurrency: number,
  jobs: number,
  handler: () => Promise<void>,
): Promise<Timing> {
  const connection = { host: '127.0.0.1', port };
  const name = `bench-${bullRuns++}`;
  const queue = new Queue(name, { connection });
  let completed = 0;
  let allDone!: () => void;
  const done = new Promise<void>((resolve) => {
    allDone = resolve;
  });
  const worker = new Worker(name, handler, { connection, concurrency, autorun: false });
  worker.on('completed', () => {
    if (++completed === jobs) allDone();
  });
  await worker.waitUntilReady();
  try {
    return await time(async () => {
      void worker.run();
      for (let from = 0; from < jobs; from += 1000) {
        const size = Math.min(1000, jobs - from);
        await queue.addBulk(
          Array.from({ length: size }, (_, i) => ({
            name: 'noop',
            data: {},
            opts: { priority: 1 + ((from + i) % 4), removeOnComplete: 1000 },
          })),
        );
      }
      await done;
    });
  } finally {
    await worker.close(true);
    await queue.obliterate({ force: true });
    await queue.close();
  }
}

/** µs per enqueue (median of 7 windows of `measured` enqueues) into a queue holding `held` jobs. */
async function enqueueCost(held: number, measured: number): Promise<Timing> {
  const queue = new TaskQueue({ maxWorkers: 1 });
  queue.register('noop', noop);
  const fill = (count: number, offset: number): void => {
    for (let i = 0; i < count; i++) {
      void queue.enqueue({ name: 'noop', handler: 'noop', priority: PRIORITIES[(offset + i) % 4] });
      // Hand batches over as an application enqueuing over time would.
      if (i % 1000 === 999) queue.stats();
    }
    queue.stats();
  };
  fill(held, 0);
  const windows: Timing[] = [];
  for (let i = 0; i < 7; i++) {
    windows.push(await time(async () => fill(measured, held + i * measured)));
  }
  // ms per window of `measured` enqueues -> µs per enqueue.
  return {
    wall: (median(windows.map((w) => w.wall)) * 1000) / measured,
    cpu: (median(windows.map((w) => w.cpu)) * 1000) / measured,
  };
}

/** The same for p-queue (not started, priorities on): its sorted-array insert is O(n). */
async function pQueueEnqueueCost(held: number, measured: number): Promise<Timing> {
  const queue = new PQueue({ concurrency: 1, autoStart: false });
  for (let i = 0; i < held; i++) void queue.add(noop, { priority: i % 4 });
  const windows: Timing[] = [];
  for (let i = 0; i < 7; i++) {
    windows.push(
      await time(async () => {
        for (let j = 0; j < measured; j++) void queue.add(noop, { priority: j % 4 });
      }),
    );
  }
  queue.clear();
  return {
    wall: (median(windows.map((w) => w.wall)) * 1000) / measured,
    cpu: (median(windows.map((w) => w.cpu)) * 1000) / measured,
  };
}

/** Median ms of each contender, running them in turn `runs` times. */
async function interleaved(
  runs: number,
  contenders: Array<() => Promise<Timing>>,
): Promise<Timing[]> {
  const results: Timing[][] = contenders.map(() => []);
  for (let run = 0; run < runs; run++) {
    for (const [i, once] of contenders.entries()) results[i]!.push(await once());
  }
  return results.map((timings) => ({
    wall: median(timings.map((timing) => timing.wall)),
    cpu: median(timings.map((timing) => timing.cpu)),
  }));
}

async function main(): Promise<void> {
  const rows: Row[] = [];
  // Warm both libraries up so the first measured run is not the JIT's.
  await troupeRun(5, 20_000, 'named');
  await troupeRun(5, 20_000, 'function');
  await pQueueRun(5, 20_000, true);
  for (const concurrency of [5, 50]) {
    // Runs interleaved, so a burst of load on the machine hits every contender alike.
    const [named, fn, pPrio, pPlain] = (await interleaved(RUNS, [
      () => troupeRun(concurrency, JOBS, 'named'),
      () => troupeRun(concurrency, JOBS, 'function'),
      () => pQueueRun(concurrency, JOBS, true),
      () => pQueueRun(concurrency, JOBS, false),
    ])) as [Timing, Timing, Timing, Timing];
    reportRatio(`queue.priorities-over-pqueue.c${concurrency}`, pPrio.wall / named.wall);
    const wall = (t: Timing, vs?: Timing): string =>
      `${perSecond(JOBS, t.wall)} jobs/s${vs ? ` (${(vs.wall / t.wall).toFixed(1)}x)` : ''}`;
    const cpu = (t: Timing, vs?: Timing): string =>
      `${perSecond(JOBS, t.cpu)} jobs/CPU-s${vs ? ` (${(vs.cpu / t.cpu).toFixed(1)}x)` : ''}`;
    rows.push(
      {
        what: 'troupe, in memory, named handler, priorities (x p-queue with priorities)',
        concurrency,
        wall: wall(named, pPrio),
        cpu: cpu(named, pPrio),
      },
      {
        what: 'troupe, in memory, a function per job, priorities',
        concurrency,
        wall: wall(fn, pPrio),
        cpu: cpu(fn, pPrio),
      },
      { what: 'p-queue 9, priorities', concurrency, wall: wall(pPrio), cpu: cpu(pPrio) },
      { what: 'p-queue 9, no priorities', concurrency, wall: wall(pPlain), cpu: cpu(pPlain) },
    );
  }
  const redis = await startRedis({ appendOnly: true });
  try {
    for (const [label, handler] of [
      ['no-op jobs', noop],
      ['jobs that yield once (every job written)', yielding],
    ] as const) {
      for (const concurrency of [5, 50]) {
        storeOps = 0;
        // Alternating, so a burst of load on the machine hits both alike.
        const [t, bull] = (await interleaved(RUNS, [
          () => persistedRun(concurrency, JOBS, handler),
          () => bullmqRun(redis.port, concurrency, JOBS, handler),
        ])) as [Timing, Timing];
        const opsPerJob = (storeOps / (JOBS * RUNS)).toFixed(2);
        reportRatio(
          `queue.durable-over-bullmq.${handler === noop ? 'noop' : 'written'}.c${concurrency}`,
          bull.wall / t.wall,
        );
        rows.push(
          {
            what: `troupe, LevelStore, durable ${label}: ${opsPerJob} store writes/job (x BullMQ)`,
            concurrency,
            wall: `${perSecond(JOBS, t.wall)} jobs/s (${(bull.wall / t.wall).toFixed(1)}x)`,
            cpu: `${perSecond(JOBS, t.cpu)} jobs/CPU-s`,
          },
          {
            what: `BullMQ 6 on a local redis-server (append-only file), ${label}`,
            concurrency,
            wall: `${perSecond(JOBS, bull.wall)} jobs/s`,
            cpu: `${perSecond(JOBS, bull.cpu)} jobs/CPU-s (this process only)`,
          },
        );
      }
    }
  } finally {
    await redis.stop();
  }
  await enqueueCost(1_000, 10_000); // warm-up, not reported
  for (const held of [1_000, 100_000, 1_000_000]) {
    const t = await enqueueCost(held, 10_000);
    rows.push({
      what: `enqueue into a queue holding ${held.toLocaleString('en-US')} jobs`,
      concurrency: '-',
      wall: `${t.wall.toFixed(2)} µs`,
      cpu: `${t.cpu.toFixed(2)} µs`,
    });
    // Filling p-queue to 1,000,000 costs O(n^2) element moves: far too long to wait for.
    if (held <= 100_000) {
      const peer = await pQueueEnqueueCost(held, 2_000);
      rows.push({
        what: `p-queue 9 add() into a queue holding ${held.toLocaleString('en-US')} jobs`,
        concurrency: '-',
        wall: `${peer.wall.toFixed(2)} µs`,
        cpu: `${peer.cpu.toFixed(2)} µs`,
      });
    }
  }
  const lines = [
    `Task queue benchmark: ${JOBS.toLocaleString('en-US')} no-op jobs, median of ${RUNS} runs, Node ${process.version}, ${cpus().length} CPUs, load average ${loadavg()[0]!.toFixed(1)} at the end`,
    '',
    '| what | concurrency | wall clock | CPU time |',
    '|---|---|---|---|',
    ...rows.map((row) => `| ${row.what} | ${row.concurrency} | ${row.wall} | ${row.cpu} |`),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

await main();
