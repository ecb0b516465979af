/**
 * The task queue on its own: priorities, a retry with backoff, a timeout, a
 * scheduled job, progress, a durable job in a LevelStore, and a restart that
 * picks the stored jobs up again. Exits by itself in about two seconds.
 *
 *   npx tsx examples/queue.ts
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { JobPriority } from '../src/machines/queue/job.js';
import { TaskQueue } from '../src/runtime/queue/task-queue.js';
import { LevelStore } from '../src/store/level/level-store.js';

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

const dataDir = await mkdtemp(join(tmpdir(), 'troupe-queue-example-'));
const store = await LevelStore.open(dataDir);

// --- 1. A queue with two workers, a rate limit and a store -------------------
const queue = new TaskQueue({
  maxWorkers: 2,
  maxJobsPerSecond: 20,
  store,
  backoff: { initialDelayMs: 100, factor: 2, maxDelayMs: 1000, jitter: 0.2 },
});

let flakyCalls = 0;
queue
  .register('embed', async ({ args, progress }) => {
    const [document] = args as [string];
    for (let step = 1; step <= 4; step++) {
      await sleep(20);
      progress(step * 25, `chunk ${step}/4 of ${document}`);
    }
    return { document, vectors: 4 };
  })
  .register('flaky', () => {
    flakyCalls++;
    if (flakyCalls < 3) throw new Error(`upstream 503 (call ${flakyCalls})`);
    return 'third time lucky';
  })
  .register('slow', ({ signal }) => sleep(5_000, signal))
  .register('digest', () => 'digest sent');

queue.on('started', ({ jobId, attempt }) =>
  console.log(`  started   ${jobId} (attempt ${attempt})`),
);
queue.on('retrying', ({ jobId, error, retryAt }) =>
  console.log(`  retrying  ${jobId} in ${retryAt - Date.now()} ms after: ${error.message}`),
);
queue.on('progress', ({ jobId, value, message }) =>
  console.log(`  progress  ${jobId} ${value}% ${message}`),
);

console.log('enqueue while stopped, then start: URGENT runs first, FIFO within a priority');
await queue.enqueue({
  id: 'embed-low',
  name: 'embed',
  handler: 'embed',
  args: ['old.pdf'],
  priority: JobPriority.LOW,
});
await queue.enqueue({
  id: 'embed-urgent',
  name: 'embed',
  handler: 'embed',
  args: ['contract.pdf'],
  priority: JobPriority.URGENT,
});
await queue.enqueue({ id: 'flaky', name: 'flaky upstream', handler: 'flaky', maxRetries: 3 });
await queue.enqueue({
  id: 'slow',
  name: 'too slow',
  handler: 'slow',
  timeoutSeconds: 0.3,
  maxRetries: 0,
});
await queue.schedule({ id: 'digest', name: 'daily digest', handler: 'digest' }, Date.now() + 500);
await queue.start();

for (const id of ['embed-urgent', 'embed-low', 'flaky', 'slow', 'digest']) {
  const result = await queue.waitForJob(id, { timeoutMs: 10_000 });
  const detail =
    result.status === 'completed' ? JSON.stringify(result.result) : result.error?.message;
  console.log(`${id}: ${result.status} after ${result.attempts} attempt(s): ${detail}`);
}
console.log('stats:', queue.stats().counts);

// --- 2. Durability: jobs stored while stopped run after a restart ------------
await queue.stop();
const backlog: string[] = [];
for (let i = 1; i <= 3; i++) {
  backlog.push(await queue.enqueue({ id: `later-${i}`, name: 'digest', handler: 'digest' }));
}
await store.close(); // as if the process ended here
console.log(`${backlog.length} jobs stored but not run; reopening ${dataDir}`);

const reopened = await LevelStore.open(dataDir);
const restarted = new TaskQueue({ store: reopened });
restarted.register('digest', () => 'digest sent after restart');
await restarted.start();
for (const id of backlog) {
  const result = await restarted.waitForJob(id);
  console.log(`${id}: ${result.status}: ${String(result.result)}`);
}
await restarted.stop();
await reopened.close();
await rm(dataDir, { recursive: true, force: true });
