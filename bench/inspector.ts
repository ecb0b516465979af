/**
 * What the live inspector costs: one workflow of 10,000 no-op tasks run
 * without inspection, with the inspector server on and nobody watching, and
 * with a client connected that watches the run (the page's load: actor
 * states, the timeline and every task change). The target is that a watched
 * run keeps at least half its uninspected speed.
 *
 *   npx tsx --conditions=development bench/inspector.ts
 *
 * On a machine busy with other work, `nice -n -15` in front steadies the numbers.
 */
import WebSocket from 'ws';
import { createRuntime, defineAgent } from '../src/index.js';
import type { TaskDefinitionInput } from '../src/schemas/workflow-definition.js';
import { grid, median, printTable, timeIt } from './harness.js';

const TASKS = 10_000;
const CONCURRENCY = 100;
const RUNS = 7;

type Mode = 'off' | 'server' | 'watched';
const MODES: readonly [Mode, string][] = [
  ['off', 'inspector off'],
  ['server', 'inspector on, no client'],
  ['watched', 'inspector on, page watching the run'],
];

/**
 * A no-op task settles in a microtask, so a whole run can finish without the
 * event loop turning: no batch is sent until it ends. The yielding no-op
 * waits one `setImmediate`, as any task doing I/O would, so the watching
 * client gets its batches while the run goes on.
 */
const noops = {
  microtask: async () => undefined,
  yielding: () => new Promise<undefined>((resolve) => setImmediate(() => resolve(undefined))),
};
type Noop = keyof typeof noops;

interface Sample {
  ms: number;
  /** Fastest of the runs: less disturbed by other load on the machine than the median. */
  best?: number;
  /** Bytes the watching client received. */
  bytes: number;
}

async function run(mode: Mode, tasks: TaskDefinitionInput[], noop: Noop): Promise<Sample> {
  const rt = await createRuntime({
    dataDir: false,
    ...(mode === 'off' ? {} : { inspector: { port: 0 } }),
  });
  rt.registerAgent(defineAgent({ role: 'noop', concurrency: CONCURRENCY, run: noops[noop] }));
  let bytes = 0;
  let client: WebSocket | undefined;
  if (mode === 'watched' && rt.inspector) {
    client = new WebSocket(`${rt.inspector.url.replace(/^http/, 'ws')}ws`);
    // Count what arrives without parsing it: a real page parses in another process.
    client.on('message', (data: Buffer) => {
      bytes += data.length;
    });
    await new Promise((resolve) => client?.once('open', resolve));
  }
  const workflowId = `bench-${mode}-${Math.random().toString(36).slice(2)}`;
  const ms = await timeIt(async () => {
    const handle = await rt.engine.start(
      { name: 'bench', tasks, maxConcurrency: CONCURRENCY },
      { workflowId },
    );
    client?.send(JSON.stringify({ type: 'run.watch', workflowId }));
    const result = await handle.result;
    if (!result.success) throw new Error(`bench run failed: ${result.error?.message}`);
  });
  client?.close();
  await rt.close();
  return { ms, bytes };
}

/** Runs the modes in turn, so load from other processes falls on all of them alike. */
async function measure(tasks: TaskDefinitionInput[], noop: Noop): Promise<Map<Mode, Sample>> {
  for (const [mode] of MODES) await run(mode, tasks, noop); // warm-up
  const samples = new Map<Mode, Sample[]>(MODES.map(([mode]) => [mode, []]));
  for (let i = 0; i < RUNS; i++) {
    for (const [mode] of MODES) samples.get(mode)?.push(await run(mode, tasks, noop));
  }
  const out = new Map<Mode, Sample>();
  for (const [mode, list] of samples) {
    out.set(mode, {
      ms: median(list.map((s) => s.ms)),
      best: Math.min(...list.map((s) => s.ms)),
      bytes: median(list.map((s) => s.bytes)),
    });
  }
  return out;
}

const independent = Array.from({ length: TASKS }, (_, i) => ({ id: `t${i}`, agent: 'noop' }));
const shapes: [string, TaskDefinitionInput[], Noop][] = [
  ['independent', independent, 'microtask'],
  ['100 x 100 DAG', grid(100, 100), 'microtask'],
  ['independent, yielding no-op', independent, 'yielding'],
];
const rows: string[][] = [];
for (const [shape, tasks, noop] of shapes) {
  const results = await measure(tasks, noop);
  const off = results.get('off')!;
  for (const [mode, label] of MODES) {
    const sample = results.get(mode)!;
    rows.push([
      `${shape}: ${label}`,
      sample.ms.toFixed(0),
      (sample.best ?? sample.ms).toFixed(0),
      Math.round((TASKS / sample.ms) * 1000).toLocaleString('en'),
      `${((off.ms / sample.ms) * 100).toFixed(0)}%`,
      `${(((off.best ?? off.ms) / (sample.best ?? sample.ms)) * 100).toFixed(0)}%`,
      mode === 'watched' ? `${(sample.bytes / 1024).toFixed(0)} KB` : '-',
    ]);
  }
}
printTable(
  `Inspection overhead: ${TASKS.toLocaleString('en')} no-op tasks, concurrency ${CONCURRENCY} (median of ${RUNS}, modes interleaved)`,
  [
    'case',
    'median ms',
    'best ms',
    'tasks/s',
    'speed vs off (median)',
    'speed vs off (best)',
    'sent to client',
  ],
  rows,
);
