/**
 * Communicator throughput, in process, through the whole path: facade (zod
 * validation, payload copied and frozen) -> communicator actor (routing,
 * history, store batch) -> agent actor -> executor -> `onMessage` hook.
 *
 *   npx tsx --conditions=development bench/communicator.ts
 *
 * "delivered" stops the clock when every send has resolved (the recipient's
 * hook has run); "stored" when the last store batch is written too. Each
 * case runs on a fresh runtime. The load average is printed because on a
 * shared machine it moves the numbers more than any code change.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, defineAgent, MemoryStore, type Runtime } from '../src/index.js';
import type { StoreOp } from '../src/store/store.js';
import { median, printTable, timeIt } from './harness.js';

const RUNS = 5;

interface Setup {
  rt: Runtime;
  received: () => number;
  cleanup: () => Promise<void>;
}

type StoreKind = 'memory' | 'level' | 'none';

/** A store that keeps nothing: isolates the communicator's own cost from persistence. */
class NullStore extends MemoryStore {
  override async batch(_ops: readonly StoreOp[]): Promise<void> {}
}

async function setup(agents: number, store: StoreKind): Promise<Setup> {
  const dir = store === 'level' ? await mkdtemp(join(tmpdir(), 'troupe-bench-')) : undefined;
  const rt =
    store === 'none'
      ? await createRuntime({ store: new NullStore(), durable: false })
      : await createRuntime({ dataDir: dir ?? false });
  let received = 0;
  for (let i = 0; i < agents; i++) {
    rt.registerAgent(
      defineAgent({
        role: `agent-${i}`,
        run: () => null,
        onMessage: (message) => {
          received++;
          return message.type === 'request' ? { pong: true } : undefined;
        },
      }),
    );
  }
  return {
    rt,
    received: () => received,
    cleanup: async () => {
      await rt.close();
      if (dir) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Messages per second from agent-0 to agent-1, in bursts of `burst` (each awaited before the next). */
async function direct(
  n: number,
  burst: number,
  store: StoreKind,
  yieldBetween = true,
): Promise<[number, number, number]> {
  const { rt, received, cleanup } = await setup(2, store);
  const payload = { step: 'schema', fields: ['id', 'title'], done: true };
  let delivered = 0;
  let cpu = { user: 0, system: 0 };
  const stored = await timeIt(async () => {
    const cpuBefore = process.cpuUsage();
    delivered = await timeIt(async () => {
      for (let sent = 0; sent < n; sent += burst) {
        const sends: Promise<unknown>[] = new Array(burst);
        for (let i = 0; i < burst; i++) {
          sends[i] = rt.communicator.sendMessage({
            from: 'agent-0',
            to: 'agent-1',
            type: 'notification',
            payload,
            workflowId: 'bench',
          });
        }
        await Promise.all(sends);
        // Between bursts, a turn of the event loop, as a producer doing I/O would
        // give: the store batches are written then, inside the measured time.
        if (yieldBetween) await new Promise<void>((resolve) => setImmediate(resolve));
      }
    });
    cpu = process.cpuUsage(cpuBefore);
    await rt.communicator.flush();
  });
  if (received() !== n) throw new Error(`expected ${n} deliveries, got ${received()}`);
  await cleanup();
  // CPU µs per delivered message (all threads: includes parallel GC), which
  // unlike wall time does not depend on what else the machine is running.
  return [n / (delivered / 1000), n / (stored / 1000), (cpu.user + cpu.system) / n];
}

/** Request-response round trips per second, one at a time. */
async function roundTrips(n: number): Promise<number> {
  const { rt, cleanup } = await setup(2, 'memory');
  const ms = await timeIt(async () => {
    for (let i = 0; i < n; i++) {
      await rt.communicator.request({ from: 'agent-0', to: 'agent-1', workflowId: 'bench' });
    }
  });
  await cleanup();
  return n / (ms / 1000);
}

/** Broadcasts per second to 100 agents, and deliveries per second. */
async function broadcast(n: number): Promise<[number, number]> {
  const { rt, received, cleanup } = await setup(101, 'memory');
  const ms = await timeIt(async () => {
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      sends.push(rt.communicator.broadcast({ from: 'agent-0', type: 'notification', payload: i }));
    }
    await Promise.all(sends);
  });
  if (received() !== n * 100) throw new Error(`expected ${n * 100} deliveries, got ${received()}`);
  await cleanup();
  return [n / (ms / 1000), (n * 100) / (ms / 1000)];
}

/** Shared-context updates per second (each to one of 50 keys), stored. */
async function updates(n: number): Promise<number> {
  const { rt, cleanup } = await setup(0, 'memory');
  const ms = await timeIt(async () => {
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      writes.push(rt.communicator.updateSharedContext('bench', 'writer', { [`k${i % 50}`]: i }));
    }
    await Promise.all(writes);
    await rt.communicator.flush();
  });
  await cleanup();
  return n / (ms / 1000);
}

/** Median of each figure over RUNS runs, after a warm-up run. */
async function rate<T extends number | number[]>(run: () => Promise<T>): Promise<T> {
  await run();
  const samples: T[] = [];
  for (let i = 0; i < RUNS; i++) samples.push(await run());
  if (typeof samples[0] === 'number') return median(samples as number[]) as T;
  const rows = samples as number[][];
  return rows[0]!.map((_, i) => median(rows.map((row) => row[i]!))) as T;
}

const fmt = (perSecond: number) => Math.round(perSecond).toLocaleString('en-US');
const direct3 = ([delivered, stored, cpu]: number[]) => [
  fmt(delivered!),
  fmt(stored!),
  cpu!.toFixed(1),
];

const load = loadavg()[0]!.toFixed(1);
const burst = await rate(() => direct(100_000, 100_000, 'memory', false));
const steady = await rate(() => direct(100_000, 1_000, 'memory'));
const single = await rate(() => direct(10_000, 1, 'memory', false));
const level = await rate(() => direct(100_000, 1_000, 'level'));
const unstored = await rate(() => direct(100_000, 1_000, 'none'));
const trips = await rate(() => roundTrips(10_000));
const [broadcasts, deliveries] = await rate(() => broadcast(2_000));
const contextUpdates = await rate(() => updates(50_000));
printTable(
  `Communicator throughput, per second (median of ${RUNS}; ${cpus().length} cores, load average ${load} at start)`,
  ['case', 'count', 'delivered / s', 'stored / s', 'CPU µs / message'],
  [
    ['direct, agent-0 -> agent-1, one burst, MemoryStore', '100,000', ...direct3(burst)],
    ['direct, bursts of 1,000, MemoryStore', '100,000', ...direct3(steady)],
    ['direct, bursts of 1,000, LevelStore', '100,000', ...direct3(level)],
    ['direct, bursts of 1,000, no store (communicator alone)', '100,000', ...direct3(unstored)],
    ['direct, one at a time (each awaited)', '10,000', ...direct3(single)],
    ['request -> response round trips, one at a time', '10,000', fmt(trips), '-', '-'],
    ['broadcasts to 100 agents', '2,000', fmt(broadcasts), '-', '-'],
    ['... deliveries of those broadcasts', '200,000', fmt(deliveries), '-', '-'],
    ['shared-context updates, 50 keys', '50,000', '-', fmt(contextUpdates), '-'],
  ],
);
