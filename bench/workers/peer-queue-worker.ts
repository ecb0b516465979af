/**
 * A worker process of a peer queue for bench/queue-postgres.ts: pg-boss on
 * PostgreSQL or BullMQ on Redis, with a no-op handler.
 *
 *   peer-queue-worker.ts pg-boss <databaseUrl> <queueName> <concurrency>
 *   peer-queue-worker.ts bullmq <redisPort> <queueName> <concurrency>
 *
 * Prints `{"signal":"ready"}` once it works; SIGTERM stops it.
 */
import { Worker } from 'bullmq';
import PgBoss from 'pg-boss';

const [system, target, name, concurrencyArg] = process.argv.slice(2);
const concurrency = Number(concurrencyArg);
if (!target || !name || !(concurrency > 0) || (system !== 'pg-boss' && system !== 'bullmq')) {
  console.error('usage: peer-queue-worker.ts pg-boss|bullmq <target> <queueName> <concurrency>');
  process.exit(2);
}

let stop: () => Promise<void>;
if (system === 'pg-boss') {
  const boss = new PgBoss({ connectionString: target, supervise: false, schedule: false });
  boss.on('error', (error) => console.error('pg-boss error', error));
  await boss.start();
  // pg-boss fetches `batchSize` jobs per statement and completes them together:
  // its fastest mode, and the same group of jobs per round trip troupe claims.
  await boss.work(name, { batchSize: concurrency, pollingIntervalSeconds: 0.5 }, async () => {});
  stop = () => boss.stop({ graceful: false, wait: true });
} else {
  const worker = new Worker(name, async () => undefined, {
    connection: { host: '127.0.0.1', port: Number(target) },
    concurrency,
  });
  await worker.waitUntilReady();
  stop = () => worker.close(true);
}
process.stdout.write(`${JSON.stringify({ signal: 'ready' })}\n`);
process.on('SIGTERM', () => {
  stop().then(() => process.exit(0));
});
