/**
 * Many runs at once in one process: 10,000 runs of a 10-task chain, all
 * started before any task finishes (each first task holds until every run
 * is live), in memory. Reports the heap per live run (after a full GC) and
 * the time to start and finish them all; the goal is under 1 GB of heap.
 *
 *   npx tsx --expose-gc bench/concurrency.ts
 */
import { createRuntime, defineAgent } from '../src/index.js';
import { chain, printTable, reportRatio } from './harness.js';

/** `TROUPE_BENCH_RUNS` runs fewer, for a quick look or a profile. */
const RUNS = Number(process.env.TROUPE_BENCH_RUNS ?? 10_000);
const TASKS = 10;

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc (npm run bench does)');
const heapUsed = () => {
  gc();
  return process.memoryUsage().heapUsed;
};

const rt = await createRuntime({ dataDir: false });
let openGate!: () => void;
const gate = new Promise<void>((resolve) => {
  openGate = resolve;
});
rt.registerAgent(
  defineAgent({
    role: 'noop',
    concurrency: RUNS,
    run: async (task) => {
      if (task.id === 't0') await gate;
      return { ok: true };
    },
  }),
);
const before = heapUsed();
const startedAt = performance.now();
const handles = [];
for (let i = 0; i < RUNS; i++) {
  handles.push(await rt.engine.start({ name: `run-${i}`, tasks: chain(TASKS) }));
}
const startMs = performance.now() - startedAt;
const live = heapUsed();
const finishFrom = performance.now();
openGate();
const results = await Promise.all(handles.map((h) => h.result));
const finishMs = performance.now() - finishFrom;
if (results.some((r) => !r.success)) throw new Error('a run failed');
const peak = live - before;
await rt.close();

reportRatio('concurrency.heap-per-run-kb', peak / RUNS / 1024);
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
printTable(
  `${RUNS.toLocaleString('en')} concurrent runs of a ${TASKS}-task chain, in memory`,
  ['measure', 'value'],
  [
    ['heap of the live runs (after GC; goal under 1 GB)', mb(peak)],
    ['heap per live run', `${(peak / RUNS / 1024).toFixed(1)} KB`],
    ['start all runs', `${startMs.toFixed(0)} ms`],
    [
      `finish all (${(RUNS * TASKS).toLocaleString('en')} tasks)`,
      `${finishMs.toFixed(0)} ms (${((finishMs * 1000) / (RUNS * TASKS)).toFixed(1)} µs per task)`,
    ],
  ],
);
