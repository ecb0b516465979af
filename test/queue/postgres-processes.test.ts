/**
 * The shared (PostgreSQL) task queue across real worker processes: the
 * global concurrency limit and the global rate limit, measured over three
 * processes, stay within their bounds; a SIGKILLed worker's job is taken
 * over by another process once its lease expires.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TaskQueue } from '../../src/runtime/queue/task-queue.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { bundleFixture, killAll, type Signal, Worker } from '../durability/processes.js';
import { testDatabase } from '../support/postgres.js';

let fixture: { file: string; remove: () => Promise<void> };
let url: string;
let store: PostgresStore;
beforeAll(async () => {
  fixture = await bundleFixture('pg-queue-worker');
  url = await testDatabase('pgqueue-procs');
  store = await PostgresStore.open({ connectionString: url });
});
afterAll(async () => {
  await store.close();
  await fixture.remove();
});
afterEach(() => killAll());

/** A queue in this process that only enqueues and waits (it is never started). */
function producer(name: string): TaskQueue {
  return new TaskQueue({ store, name, pollIntervalMs: 20 });
}

async function workers(name: string, count: number, env: Record<string, string>) {
  const started = Array.from({ length: count }, () => new Worker(fixture.file, [url, name], env));
  await Promise.all(started.map((worker) => worker.waitFor('ready')));
  return started;
}

async function enqueueAndWait(queue: TaskQueue, jobs: number): Promise<void> {
  const ids = await Promise.all(
    Array.from({ length: jobs }, (_, i) => queue.enqueue({ name: `job ${i}`, handler: 'work' })),
  );
  const results = await Promise.all(ids.map((id) => queue.waitForJob(id)));
  expect(results.every((result) => result.status === 'completed')).toBe(true);
}

const signalsOf = (all: Worker[], name: string): Signal[] =>
  all.flatMap((worker) => worker.signals.filter((signal) => signal.signal === name));

describe('shared task queue across processes', () => {
  it('globalConcurrency holds across 3 worker processes (each allowing 2, together 6)', async () => {
    const all = await workers('concurrency', 3, {
      // Each process may run 2, so a process that frees a slot and claims again
      // at once can never hold all 4 global slots: the other processes' polls
      // find free slots, and more than one process runs jobs even on a loaded
      // machine (with 10 per process, one process once took all 36 in CI).
      // Together they would run 6 without the global limit.
      MAX_WORKERS: '2',
      GLOBAL_CONCURRENCY: '4',
      JOB_MS: '150',
    });
    await enqueueAndWait(producer('concurrency'), 36);
    const runs = signalsOf(all, 'ran') as unknown as { start: number; end: number; pid: number }[];
    expect(runs).toHaveLength(36);
    // The most handlers running at one instant, over every process.
    const edges = runs.flatMap((run) => [
      { at: run.start, delta: 1 },
      { at: run.end, delta: -1 },
    ]);
    edges.sort((a, b) => a.at - b.at || a.delta - b.delta);
    let running = 0;
    let most = 0;
    for (const edge of edges) {
      running += edge.delta;
      most = Math.max(most, running);
    }
    expect(most).toBeLessThanOrEqual(4);
    expect(most).toBeGreaterThanOrEqual(2);
    expect(new Set(runs.map((run) => run.pid)).size).toBeGreaterThan(1);
  }, 60_000);

  it('maxJobsPerSecond holds across 3 worker processes: over any window of t seconds at most burst + rate * t jobs start', async () => {
    const rate = 20;
    const burst = 2;
    const all = await workers('rate', 3, {
      MAX_WORKERS: '10',
      RATE: String(rate),
      BURST: String(burst),
    });
    await enqueueAndWait(producer('rate'), 40);
    // `at` is the claim's time, the one the token bucket was charged at; each
    // process reads its clock before its claim reaches the database, so two
    // processes' readings may be out of order by a round trip: allow that much.
    const slackMs = 25;
    const starts = signalsOf(all, 'started')
      .map((signal) => signal.at as number)
      .sort((a, b) => a - b);
    expect(starts).toHaveLength(40);
    for (let i = 0; i < starts.length; i++) {
      for (let j = i; j < starts.length; j++) {
        const allowed = burst + (rate * (starts[j]! - starts[i]! + slackMs)) / 1000;
        expect(j - i + 1).toBeLessThanOrEqual(Math.floor(allowed + 1e-9));
      }
    }
    expect(new Set(signalsOf(all, 'started').map((signal) => signal.pid)).size).toBeGreaterThan(1);
  }, 60_000);

  it('a SIGKILLed worker’s job is claimed again by another process after its lease, with the same id', async () => {
    const queue = producer('takeover');
    const [doomed] = await workers('takeover', 1, { HANG: '1', LEASE_MS: '1000' });
    const id = await queue.enqueue({ id: 'survives', name: 'survives', handler: 'work' });
    await doomed!.waitFor('started', undefined);
    await doomed!.kill();
    const [survivor] = await workers('takeover', 1, { LEASE_MS: '1000' });
    const result = await queue.waitForJob(id, { timeoutMs: 20_000 });
    expect(result.status).toBe('completed');
    expect(result.result).toEqual({ by: survivor!.pid });
    const info = await queue.getJob(id);
    expect(info?.attempts.map((attempt) => attempt.outcome)).toEqual(['interrupted', 'completed']);
  }, 60_000);
});
