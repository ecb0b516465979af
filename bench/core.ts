/**
 * Orchestration overhead per task, in process, no persistence:
 * troupe beside a plain Promise baseline and LangGraph.js, in one run.
 *
 *   npx tsx --conditions=development --expose-gc bench/core.ts
 */
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { createRuntime, defineAgent } from '../src/index.js';
import type { TaskDefinitionInput } from '../src/schemas/workflow-definition.js';
import { chain, grid, median, printTable, timeIt } from './harness.js';

const noop = async () => undefined;

async function troupeRun(tasks: TaskDefinitionInput[], concurrency: number): Promise<number> {
  const rt = await createRuntime({ dataDir: false });
  rt.registerAgent(defineAgent({ role: 'noop', concurrency, run: noop }));
  const ms = await timeIt(async () => {
    const result = await rt.engine.execute({ name: 'bench', tasks, maxConcurrency: concurrency });
    if (!result.success) throw new Error(`bench run failed: ${result.error?.message}`);
  });
  await rt.close();
  return ms;
}

async function promiseSequential(n: number): Promise<number> {
  return timeIt(async () => {
    const outputs: unknown[] = [];
    for (let i = 0; i < n; i++) outputs.push(await noop());
  });
}

async function promiseGrid(layers: number, width: number): Promise<number> {
  return timeIt(async () => {
    for (let l = 0; l < layers; l++) await Promise.all(Array.from({ length: width }, noop));
  });
}

async function langGraphSteps(steps: number): Promise<number> {
  const State = Annotation.Root({ count: Annotation<number>() });
  const graph = new StateGraph(State)
    .addNode('step', async (state) => ({ count: state.count + 1 }))
    .addEdge(START, 'step')
    .addConditionalEdges('step', (state) => (state.count >= steps ? END : 'step'))
    .compile();
  return timeIt(async () => {
    await graph.invoke({ count: 0 }, { recursionLimit: steps + 10 });
  });
}

async function heapPerIdleAgent(count: number): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return Number.NaN;
  const rt = await createRuntime({ dataDir: false });
  gc();
  const before = process.memoryUsage().heapUsed;
  for (let i = 0; i < count; i++) rt.registerAgent(defineAgent({ role: `idle-${i}`, run: noop }));
  gc();
  const after = process.memoryUsage().heapUsed;
  await rt.close();
  return (after - before) / count;
}

const RUNS = 5;
async function perTask(label: string, n: number, run: () => Promise<number>) {
  await run(); // warm-up
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await run());
  const ms = median(samples);
  return [label, String(n), ms.toFixed(1), ((ms * 1000) / n).toFixed(2)];
}

const rows = [
  await perTask('troupe, sequential chain', 1_000, () => troupeRun(chain(1_000), 1)),
  await perTask('troupe, sequential chain', 10_000, () => troupeRun(chain(10_000), 1)),
  await perTask('troupe, 100 x 100 DAG (concurrency 100)', 10_000, () =>
    troupeRun(grid(100, 100), 100),
  ),
  await perTask('Promise baseline, sequential', 10_000, () => promiseSequential(10_000)),
  await perTask('Promise baseline, 100 x 100 layers', 10_000, () => promiseGrid(100, 100)),
  await perTask('LangGraph.js, steps of one graph', 1_000, () => langGraphSteps(1_000)),
];
printTable(
  'Orchestration overhead (median of 5)',
  ['case', 'tasks', 'total ms', 'µs per task'],
  rows,
);
const heap = await heapPerIdleAgent(1_000);
printTable(
  'Memory',
  ['case', 'value'],
  [
    [
      'heap per idle agent actor',
      Number.isNaN(heap) ? 'run with --expose-gc' : `${(heap / 1024).toFixed(1)} KB`,
    ],
  ],
);
