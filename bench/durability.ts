/**
 * The cost of durability: per-task overhead with the journal on (LevelDB)
 * against the same workflow in memory, journal bytes per task, and
 * LangGraph.js with its MemorySaver checkpointer in the same run (resuming:
 * bench/recovery.ts).
 *
 *   npx tsx --conditions=development bench/durability.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Annotation, END, MemorySaver, START, StateGraph } from '@langchain/langgraph';
import { createRuntime, defineAgent } from '../src/index.js';
import { JournalWriter } from '../src/runtime/durability/journal-writer.js';
import { chain, median, printTable, reportRatio, timeIt } from './harness.js';

const noop = async () => ({ ok: true });

/**
 * Bytes of the journal entries runs append, counted where they are handed to
 * the writer: not at the store, whose batches leave out the entries a
 * checkpoint in the same batch deletes again (a chain of no-op tasks runs in
 * one turn of the event loop, so nearly every entry would go uncounted).
 */
let journalBytes = 0;
const append = JournalWriter.prototype.append;
JournalWriter.prototype.append = function (workflowId, seq, entry) {
  journalBytes += JSON.stringify(entry).length;
  return append.call(this, workflowId, seq, entry);
};
/** Bytes of the checkpoints runs write (interval, end), counted the same way. */
let checkpointBytes = 0;
const enqueue = JournalWriter.prototype.enqueue;
JournalWriter.prototype.enqueue = function (...ops) {
  for (const op of ops) {
    if (op.type === 'put' && op.collection === 'snapshots')
      checkpointBytes += JSON.stringify(op.value).length;
  }
  return enqueue.apply(this, ops);
};

async function tempDir(): Promise<string> {
  return mkdtemp(path.join(tmpdir(), 'troupe-bench-'));
}

async function troupeRun(
  n: number,
  durable: boolean,
): Promise<{ ms: number; bytesPerTask: number; checkpointBytesPerTask: number }> {
  const dir = await tempDir();
  const rt = await createRuntime({ dataDir: durable ? dir : false });
  journalBytes = 0;
  checkpointBytes = 0;
  rt.registerAgent(defineAgent({ role: 'noop', run: noop }));
  const ms = await timeIt(async () => {
    const result = await rt.engine.execute({ name: 'bench', tasks: chain(n), maxConcurrency: 1 });
    if (!result.success) throw new Error(result.error?.message);
  });
  await rt.close();
  await rm(dir, { recursive: true, force: true });
  return { ms, bytesPerTask: journalBytes / n, checkpointBytesPerTask: checkpointBytes / n };
}

async function langGraphWithMemorySaver(steps: number): Promise<number> {
  const State = Annotation.Root({ count: Annotation<number>() });
  const graph = new StateGraph(State)
    .addNode('step', async (state) => ({ count: state.count + 1 }))
    .addEdge(START, 'step')
    .addConditionalEdges('step', (state) => (state.count >= steps ? END : 'step'))
    .compile({ checkpointer: new MemorySaver() });
  let thread = 0;
  return timeIt(async () => {
    await graph.invoke(
      { count: 0 },
      { recursionLimit: steps + 10, configurable: { thread_id: `t${thread++}` } },
    );
  });
}

const N = 2_000;
const STEPS = 1_000;
/**
 * Warm-up runs of each case before measuring: with one, the first samples
 * measured V8's optimisation of the code more than the code (see
 * bench/core.ts).
 */
const WARM_UPS = 5;
// Alternating, LangGraph included, so all three see the same machine load.
const memorySamples: number[] = [];
const journaledSamples: number[] = [];
const langGraphSamples: number[] = [];
let bytesPerTask = 0;
let checkpointBytesPerTask = 0;
for (let i = 0; i < WARM_UPS; i++) {
  await troupeRun(N, false);
  await troupeRun(N, true);
  await langGraphWithMemorySaver(STEPS);
}
for (let i = 0; i < 3; i++) {
  memorySamples.push((await troupeRun(N, false)).ms);
  const run = await troupeRun(N, true);
  journaledSamples.push(run.ms);
  bytesPerTask = run.bytesPerTask;
  checkpointBytesPerTask = run.checkpointBytesPerTask;
  langGraphSamples.push(await langGraphWithMemorySaver(STEPS));
}
const memory = median(memorySamples);
const journaled = median(journaledSamples);
const lg = median(langGraphSamples);
const big = await troupeRun(10_000, true);
const bigBytes = big.bytesPerTask;
const perTask = (ms: number, n: number) => ((ms * 1000) / n).toFixed(1);
printTable(
  'Durability overhead (sequential chain, median of 3, alternating)',
  ['case', 'tasks', 'µs per task'],
  [
    ['troupe in memory (no journal)', String(N), perTask(memory, N)],
    ['troupe with LevelDB journal + checkpoints', String(N), perTask(journaled, N)],
    ['LangGraph.js with MemorySaver, per step', String(STEPS), perTask(lg, STEPS)],
  ],
);
const lgOverJournaled = lg / STEPS / (journaled / N);
reportRatio('durability.journaled-over-memory', journaled / memory);
reportRatio('durability.langgraph-over-journaled', lgOverJournaled);
reportRatio('durability.journal-bytes-per-task', bytesPerTask);
reportRatio('durability.bytes-10k-over-2k', bigBytes / bytesPerTask);
printTable(
  'Ratios',
  ['measure', 'value', 'goal'],
  [
    ['journaled / in-memory, per task', `${(journaled / memory).toFixed(2)}x`, '≤ 1.5x'],
    [
      'LangGraph+MemorySaver / troupe journaled, per step',
      `${lgOverJournaled.toFixed(1)}x`,
      '≥ 15x',
    ],
    ['journal bytes per task (2,000-task run)', bytesPerTask.toFixed(0), '≤ 200'],
    ['journal bytes per task (10,000-task run)', bigBytes.toFixed(0), '≤ 200, flat'],
    [
      'checkpoint bytes per task (2,000 / 10,000-task run)',
      `${checkpointBytesPerTask.toFixed(0)} / ${big.checkpointBytesPerTask.toFixed(0)}`,
      'reported',
    ],
  ],
);
