/**
 * One task queue shared by three processes through PostgreSQL: this process
 * enqueues 12 jobs, two worker processes run them, at most 2 at a time
 * across both (`globalConcurrency`), and one job that fails twice is retried
 * before it completes. Starts its own private PostgreSQL cluster in a temp
 * folder (Debian's `postgresql` package), so it runs offline, and exits by
 * itself.
 *
 *   npx tsx examples/queue-postgres.ts
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { PostgresStore, TaskQueue } from '../src/index.js';
import { startPostgresCluster } from '../src/testing/index.js';

const QUEUE = { name: 'thumbnails', globalConcurrency: 2, pollIntervalMs: 100 };

if (process.argv[2] === 'worker') await worker(process.argv[3]!);
else await main();

/** A worker process: registers the handlers and works until SIGTERM. */
async function worker(url: string): Promise<void> {
  const store = await PostgresStore.open({ connectionString: url });
  const queue = new TaskQueue({ store, ...QUEUE, backoff: { initialDelayMs: 100 } });
  let running = 0;
  queue.register('thumbnail', async ({ args, attempt }) => {
    running++;
    await new Promise((resolve) => setTimeout(resolve, 50));
    running--;
    if (args[0] === 'corrupt.png' && attempt < 3) throw new Error('decoder crashed');
    return { image: args[0], pid: process.pid, attempt };
  });
  await queue.start();
  console.log('ready');
  process.on('SIGTERM', () => {
    void queue
      .stop()
      .then(() => store.close())
      .then(() => process.exit(running));
  });
}

async function main(): Promise<void> {
  const cluster = await startPostgresCluster();
  const store = await PostgresStore.open({ connectionString: cluster.connectionString });
  const workers: ChildProcess[] = [];
  try {
    for (let i = 0; i < 2; i++) {
      const child = spawn(
        process.execPath,
        [
          '--import',
          import.meta.resolve('tsx'),
          fileURLToPath(import.meta.url),
          'worker',
          cluster.connectionString,
        ],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      workers.push(child);
      await new Promise<void>((resolve) =>
        createInterface({ input: child.stdout! }).once('line', () => resolve()),
      );
    }
    // This process only enqueues and waits: it never starts the queue.
    const queue = new TaskQueue({ store, ...QUEUE });
    const images = Array.from({ length: 11 }, (_, i) => `photo-${i}.png`).concat('corrupt.png');
    const ids = await Promise.all(
      images.map((image) => queue.enqueue({ name: image, handler: 'thumbnail', args: [image] })),
    );
    const results = await Promise.all(ids.map((id) => queue.waitForJob(id)));
    const byProcess = new Map<number, number>();
    for (const { result } of results) {
      const { pid } = result as { pid: number };
      byProcess.set(pid, (byProcess.get(pid) ?? 0) + 1);
    }
    console.log('jobs per worker process:', Object.fromEntries(byProcess));
    const corrupt = results.at(-1)!;
    console.log(`corrupt.png: ${corrupt.status} after ${corrupt.attempts} attempts`);
    if (results.some((result) => result.status !== 'completed') || corrupt.attempts !== 3) {
      throw new Error('the shared queue did not finish every job');
    }
  } finally {
    for (const child of workers) child.kill('SIGTERM');
    await Promise.all(
      workers.map((child) => new Promise((resolve) => child.once('exit', resolve))),
    );
    await store.close();
    await cluster.stop();
  }
}
