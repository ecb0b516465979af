/**
 * Orchestration overhead per task, in process, no persistence: troupe beside
 * the same workflow run by bare XState with promise actors (the baseline of
 * issue 18), a plain Promise loop and LangGraph.js, in one run, alternating,
 * from 1,000 to 100,000 tasks (CPU time per task, wall time beside it); and
 * the bytes allocated per task.
 *
 *   npx tsx --conditions=development --expose-gc bench/core.ts
 */
import { Annotation, END, START, StateGraph } from '@langchain/langgraph';
import { createRuntime, defineAgent } from '../src/index.js';
import type { TaskDefinitionInput } from '../src/schemas/workflow-definition.js';
import { measureAllocations } from './baselines/allocations.js';
import { runRawXState } from './baselines/raw-xstate.js';
import { chain, grid, median, printTable, reportRatio, timeIt } from './harness.js';

const noop = async () => undefined;

/** Wall time and CPU time (every thread of the process, the garbage collector's too) of one run, in ms. */
interface Cost {
  wall: number;
  cpu: number;
}

async function costOf(fn: () => Promise<unknown>): Promise<Cost> {
  const cpuBefore = process.cpuUsage();
  const wall = await timeIt(fn);
  const { user, system } = process.cpuUsage(cpuBefore);
  return { wall, cpu: (user + system) / 1000 };
}

async function troupeRun(tasks: TaskDefinitionInput[], concurrency: number): Promise<Cost> {
  const rt = await createRuntime({ dataDir: false });
  rt.registerAgent(defineAgent({ role: 'noop', concurrency, run: noop }));
  const cost = await costOf(async () => {
    const result = await rt.engine.execute({ name: 'bench', tasks, maxConcurrency: concurrency });
    if (!result.success) throw new Error(`bench run failed: ${result.error?.message}`);
  });
  await rt.close();
  return cost;
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

/**
 * Tasks each runner goes through before it is measured. With one warm-up
 * run, the 1,000-task chain measured V8's optimisation of both runners (the
 * same code ran in 2-3x less time a few runs later), not a per-task cost.
 */
const WARM_UP_TASKS = 20_000;

/**
 * Medians of `runs` of each, alternating so both see the same machine load,
 * after `warmUps` runs of each. CPU time is the steadier measure on a shared
 * machine: wall time also counts the time other processes held the cores.
 */
async function sideBySide(
  runs: number,
  warmUps: number,
  a: () => Promise<Cost>,
  b: () => Promise<Cost>,
): Promise<[Cost, Cost]> {
  for (let i = 0; i < warmUps; i++) {
    await a();
    await b();
  }
  const as: Cost[] = [];
  const bs: Cost[] = [];
  for (let i = 0; i < runs; i++) {
    as.push(await a());
    bs.push(await b());
  }
  const medians = (costs: Cost[]): Cost => ({
    wall: median(costs.map((c) => c.wall)),
    cpu: median(costs.map((c) => c.cpu)),
  });
  return [medians(as), medians(bs)];
}

const perTask = (ms: number, n: number) => ((ms * 1000) / n).toFixed(2);
const shapes: {
  key: string;
  label: string;
  tasks: TaskDefinitionInput[];
  concurrency: number;
  runs: number;
}[] = [
  { key: 'chain-1k', label: 'sequential chain', tasks: chain(1_000), concurrency: 1, runs: 5 },
  { key: 'chain-10k', label: 'sequential chain', tasks: chain(10_000), concurrency: 1, runs: 3 },
  { key: 'chain-100k', label: 'sequential chain', tasks: chain(100_000), concurrency: 1, runs: 1 },
  {
    key: 'dag-100x100',
    label: '100 x 100 DAG (concurrency 100)',
    tasks: grid(100, 100),
    concurrency: 100,
    runs: 3,
  },
];
const rows: string[][] = [];
const troupePerTask = new Map<string, number>();
for (const shape of shapes) {
  const n = shape.tasks.length;
  const [troupe, raw] = await sideBySide(
    shape.runs,
    Math.max(1, Math.ceil(WARM_UP_TASKS / n)),
    () => troupeRun(shape.tasks, shape.concurrency),
    () => costOf(() => runRawXState(shape.tasks)),
  );
  reportRatio(`core.${shape.key}.troupe-over-xstate`, troupe.cpu / raw.cpu);
  troupePerTask.set(shape.key, troupe.cpu / n);
  rows.push([
    shape.label,
    n.toLocaleString('en'),
    `${perTask(troupe.cpu, n)} (${perTask(troupe.wall, n)})`,
    `${perTask(raw.cpu, n)} (${perTask(raw.wall, n)})`,
    `${(troupe.cpu / raw.cpu).toFixed(2)}x (${(troupe.wall / raw.wall).toFixed(2)}x)`,
  ]);
}
reportRatio(
  'core.chain-100k-over-1k.per-task',
  troupePerTask.get('chain-100k')! / troupePerTask.get('chain-1k')!,
);
printTable(
  'troupe against bare XState running the same workflow as promise actors (medians, alternating)',
  [
    'workflow',
    'tasks',
    'troupe µs per task, CPU (wall)',
    'bare XState µs per task, CPU (wall)',
    'troupe / XState, CPU (wall) (goal ≤ 1)',
  ],
  rows,
);

const PEER_RUNS = 5;
async function peer(label: string, n: number, run: () => Promise<number>) {
  await run();
  const samples: number[] = [];
  for (let i = 0; i < PEER_RUNS; i++) samples.push(await run());
  return [label, n.toLocaleString('en'), perTask(median(samples), n)];
}
printTable(
  'Other peers (median of 5)',
  ['case', 'tasks', 'µs per task'],
  [
    await peer('Promise baseline, sequential', 10_000, () => promiseSequential(10_000)),
    await peer('Promise baseline, 100 x 100 layers', 10_000, () => promiseGrid(100, 100)),
    await peer('LangGraph.js, steps of one graph', 1_000, () => langGraphSteps(1_000)),
  ],
);

const ALLOC_TASKS = 10_000;
const allocRows: string[][] = [];
for (const [label, run] of [
  ['troupe', () => troupeRun(chain(ALLOC_TASKS), 1)],
  ['bare XState', () => runRawXState(chain(ALLOC_TASKS))],
] as const) {
  const { bytes, top } = await measureAllocations(run);
  allocRows.push([
    label,
    ((bytes / ALLOC_TASKS) | 0).toLocaleString('en'),
    top
      .slice(0, 3)
      .map((t) => `${t.site} (${((t.bytes / ALLOC_TASKS) | 0).toLocaleString('en')} B)`)
      .join('; '),
  ]);
}
printTable(
  `Bytes allocated per task, ${ALLOC_TASKS.toLocaleString('en')}-task chain (V8 sampling heap profiler, garbage included)`,
  ['runner', 'bytes per task', 'top allocation sites (bytes per task)'],
  allocRows,
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
