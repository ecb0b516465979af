/**
 * A run interrupted mid-way and resumed by a second runtime on the same data
 * folder, a saga rollback, and time travel. Runs offline, exits by itself.
 *
 *   npx tsx examples/durability.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRuntime, defineAgent, EventType } from '../src/index.js';

const dataDir = await mkdtemp(path.join(tmpdir(), 'troupe-example-'));
const definition = {
  name: 'nightly-import',
  tasks: ['fetch', 'clean', 'load', 'report'].map((id, i, all) => ({
    id,
    agent: 'worker',
    dependsOn: i === 0 ? [] : [all[i - 1]!],
  })),
};

// 1. The first runtime stops while `load` is running (standing in for a crash).
let reachedLoad!: () => void;
const loadStarted = new Promise<void>((resolve) => {
  reachedLoad = resolve;
});
const first = await createRuntime({ dataDir });
first.registerAgent(
  defineAgent({
    role: 'worker',
    run: async (task) => {
      if (task.id === 'load') {
        reachedLoad();
        await new Promise(() => undefined); // never finishes in this process
      }
      return { done: task.id };
    },
  }),
);
// A checkpoint after every task, for the time travel below (by default the
// interval is chosen by the size of the run's state).
const { workflowId } = await first.engine.start(definition, { checkpointInterval: 1 });
await loadStarted;
await first.engine.flushed();
await first.close();

// 2. A new runtime on the same folder finds the run and finishes it.
const second = await createRuntime({ dataDir });
second.registerAgent(
  defineAgent({
    role: 'worker',
    run: async (task, ctx) => {
      console.log(`  running ${task.id} (key ${ctx.idempotencyKey}, attempt ${ctx.attempt})`);
      return { done: task.id };
    },
  }),
);
console.log(
  'interrupted runs:',
  (await second.engine.interrupted()).map((r) => r.workflowId),
);
const resumed = await second.engine.resumeFromCheckpoint(workflowId);
console.log(
  'resumed run:',
  resumed?.status,
  Object.values(resumed?.tasks ?? {})
    .map((t) => `${t.taskId}:${t.status}`)
    .join(' '),
);

// 3. Time travel: the kept checkpoints, and a fork from the first one.
const history = await second.engine.history(workflowId);
console.log(
  'checkpoints:',
  history.map((c) => `#${c.seq} ${c.reason} (${c.completedTasks} done)`).join(', '),
);
const fork = await second.engine.fork(workflowId, { checkpoint: history[0]!.seq });
console.log('fork from the first checkpoint:', (await fork.result).status);

// 4. A saga: `charge` fails for good, so `reserve` is undone.
second.registerAgent(
  defineAgent({
    role: 'payments',
    run: async (task) => {
      if (task.id === 'charge') throw new Error('card declined');
      return { reservation: 'r-42' };
    },
  }),
);
second.engine.on(EventType.COMPENSATION_STEP, (e) =>
  console.log(`  compensation of ${e.taskId}: ${e.status}`),
);
const saga = await second.engine.executeWithSagaPattern(
  {
    name: 'checkout',
    tasks: [
      { id: 'reserve', agent: 'payments' },
      { id: 'charge', agent: 'payments', dependsOn: ['reserve'] },
    ],
  },
  { reserve: async ({ output }) => console.log('  releasing', output) },
);
console.log('saga:', saga.status, saga.compensation);

await second.close();
await rm(dataDir, { recursive: true, force: true });
