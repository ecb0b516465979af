/**
 * TaskQueue on a PostgresStore, in one test process: priority and FIFO order,
 * retries with backoff then the dead letter, scheduled jobs, progress,
 * cancel, the dedup rule, and fencing of a worker whose claim expired.
 * Several queues on separate stores stand for several processes; the
 * processes test (postgres-processes.test.ts) runs real ones.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { SimulatedClock } from 'xstate';
import { JobPriority } from '../../src/machines/queue/job.js';
import { TaskQueue } from '../../src/runtime/queue/task-queue.js';
import type { TaskQueueOptions } from '../../src/runtime/queue/task-queue-options.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { testDatabase } from '../support/postgres.js';
import { simulatedClock } from './helpers.js';

let url: string;
beforeAll(async () => {
  url = await testDatabase('pgqueue');
});

const open: { queue: TaskQueue; store: PostgresStore }[] = [];
afterEach(async () => {
  for (const { queue, store } of open.splice(0)) {
    await queue.stop({ graceful: false });
    await store.close();
  }
});

let names = 0;
/** A queue on its own store (its own owner id, as another process would have). */
async function sharedQueue(options: TaskQueueOptions & { name: string }): Promise<TaskQueue> {
  const store = await PostgresStore.open({ connectionString: url });
  const queue = new TaskQueue({ pollIntervalMs: 20, ...options, store });
  open.push({ queue, store });
  return queue;
}
const freshName = () => `q${++names}`;

/** Lets the simulated clock's timers fire until `done()` holds (each step waits for the database). */
async function advanceUntil(clock: SimulatedClock, done: () => boolean | Promise<boolean>) {
  for (let step = 0; step < 500 && !(await done()); step++) {
    clock.increment(20);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  expect(await done()).toBe(true);
}

describe('TaskQueue on PostgreSQL', () => {
  it('runs jobs by priority, FIFO within a priority', async () => {
    const name = freshName();
    const queue = await sharedQueue({ name, maxWorkers: 1 });
    const order: string[] = [];
    queue.register('log', ({ jobId }) => {
      order.push(jobId);
    });
    const jobs: [string, JobPriority][] = [
      ['low-1', JobPriority.LOW],
      ['normal-1', JobPriority.NORMAL],
      ['urgent-1', JobPriority.URGENT],
      ['normal-2', JobPriority.NORMAL],
      ['high-1', JobPriority.HIGH],
      ['urgent-2', JobPriority.URGENT],
      ['low-2', JobPriority.LOW],
    ];
    for (const [id, priority] of jobs) {
      await queue.enqueue({ id, name: id, handler: 'log', priority });
    }
    await queue.start();
    await queue.onIdle();
    expect(order).toEqual([
      'urgent-1',
      'urgent-2',
      'high-1',
      'normal-1',
      'normal-2',
      'low-1',
      'low-2',
    ]);
  });

  it('under globalConcurrency alone, one claim takes every job the limit and the free workers allow', async () => {
    // The clock never moves, so no poll claims again: the jobs that start
    // all come from the first claim.
    const queue = await sharedQueue({
      name: freshName(),
      clock: simulatedClock(),
      maxWorkers: 5,
      globalConcurrency: 4,
    });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const started: string[] = [];
    queue.register('hold', async ({ jobId }) => {
      started.push(jobId);
      await gate;
    });
    const ids = Array.from({ length: 6 }, (_, i) => `hold-${i}`);
    for (const id of ids) await queue.enqueue({ id, name: 'hold', handler: 'hold' });
    await queue.start();
    await vi.waitFor(() => expect(started).toHaveLength(4), { timeout: 15_000, interval: 10 });
    // Ends free the slots: the other two are claimed without a poll.
    release();
    const results = await Promise.all(ids.map((id) => queue.waitForJob(id)));
    expect(results.map((result) => result.status)).toEqual(ids.map(() => 'completed'));
  });

  it('retries a failing job with its backoff, then dead-letters it (status failed) after the last attempt', async () => {
    const clock = simulatedClock();
    const queue = await sharedQueue({
      name: freshName(),
      clock,
      backoff: { initialDelayMs: 1000, factor: 2, jitter: 0 },
    });
    const startedAt: number[] = [];
    queue.register('flaky', () => {
      startedAt.push(clock.now());
      throw new Error(`failure ${startedAt.length}`);
    });
    const retrying: number[] = [];
    queue.on('retrying', ({ retryAt }) => retrying.push(retryAt));
    // Claim times, as the attempts record them.
    const claimedAt: number[] = [];
    queue.on('started', ({ at }) => claimedAt.push(at));
    await queue.enqueue({ id: 'flaky-1', name: 'flaky', handler: 'flaky', maxRetries: 2 });
    await queue.start();
    const result = queue.waitForJob('flaky-1');
    await advanceUntil(clock, () => startedAt.length === 3);
    const final = await result;
    expect(final.status).toBe('failed');
    expect(final.attempts).toBe(3);
    expect(final.errors.map((error) => error.message)).toEqual([
      'failure 1',
      'failure 2',
      'failure 3',
    ]);
    // Backoff exactly 1 s then 2 s after each failure (no jitter). The retry
    // is claimed at its time or later: how much later depends on how long
    // each poll's round trip takes while this test's clock steps on.
    expect(retrying).toHaveLength(2);
    const { attempts } = (await queue.getJob('flaky-1'))!;
    expect(attempts.map((attempt) => attempt.startedAt)).toEqual(claimedAt);
    expect(retrying[0]! - attempts[0]!.finishedAt!).toBe(1000);
    expect(retrying[1]! - attempts[1]!.finishedAt!).toBe(2000);
    for (const [i, retryAt] of retrying.entries()) {
      expect(claimedAt[i + 1]! - retryAt).toBeGreaterThanOrEqual(0);
      expect(claimedAt[i + 1]! - retryAt).toBeLessThan(1000);
    }
    expect((await queue.sharedCounts()).failed).toBe(1);
  });

  it('runs a scheduled job at its time, not before', async () => {
    const clock = simulatedClock();
    const queue = await sharedQueue({ name: freshName(), clock });
    const ranAt: number[] = [];
    queue.register('later', () => {
      ranAt.push(clock.now());
      return 'done';
    });
    const due = clock.now() + 60_000;
    await queue.schedule({ id: 'later-1', name: 'later', handler: 'later' }, due);
    await queue.start();
    await queue.onIdle();
    expect((await queue.getJob('later-1'))?.status).toBe('scheduled');
    clock.increment(59_000);
    await queue.onIdle();
    expect(ranAt).toEqual([]);
    // At its time: each step of advanceUntil waits for the database, so start it at the due time.
    clock.increment(1_000);
    await advanceUntil(clock, () => ranAt.length === 1);
    expect(ranAt[0]).toBeGreaterThanOrEqual(due);
    expect((await queue.waitForJob('later-1')).result).toBe('done');
  });

  it('waitForJob hears of a job that ended here while it was reading the job’s row (no watch poll needed)', async () => {
    // Nobody advances this clock: only the job's local end can answer the wait.
    const clock = simulatedClock();
    const queue = await sharedQueue({ name: freshName(), clock });
    const { store } = open.at(-1)!;
    let finish!: () => void;
    const running = new Promise<void>((started) => {
      queue.register('slow', () => {
        started();
        return new Promise<string>((resolve) => {
          finish = () => resolve('done');
        });
      });
    });
    const id = await queue.enqueue({ name: 'slow', handler: 'slow' });
    await queue.start();
    await running;
    const ended = new Promise<void>((resolve) => queue.on('completed', () => resolve()));
    // The wait's read of the row sees the job active; its answer arrives after the end is stored.
    const read = store.jobs.get.bind(store.jobs);
    vi.spyOn(store.jobs, 'get').mockImplementationOnce(async (...args) => {
      const rows = await read(...args);
      finish();
      await ended;
      return rows;
    });
    expect((await queue.waitForJob(id)).result).toBe('done');
  });

  it('stores progress, answers getJob and waitForJob from another process, and refuses an active duplicate id', async () => {
    const name = freshName();
    const worker = await sharedQueue({ name });
    const producer = await sharedQueue({ name });
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let reported!: () => void;
    const progressed = new Promise<void>((resolve) => {
      reported = resolve;
    });
    worker.register('report', async ({ progress, args }) => {
      progress(40, 'almost');
      reported();
      await gate;
      return (args[0] as number) * 2;
    });
    // The producer has no handler: a shared queue's handlers live in its workers.
    await producer.enqueue({ id: 'job-1', name: 'report', handler: 'report', args: [21] });
    await expect(
      producer.enqueue({ id: 'job-1', name: 'report', handler: 'report' }),
    ).rejects.toMatchObject({ code: 'DUPLICATE_JOB' });
    await worker.start();
    await progressed;
    await worker.flush();
    const info = await producer.getJob('job-1');
    expect(info?.status).toBe('running');
    expect(info?.progress).toMatchObject({ value: 40, message: 'almost' });
    const waited = producer.waitForJob('job-1');
    release();
    expect(await waited).toMatchObject({ status: 'completed', result: 42, attempts: 1 });
    // A finished job's id may be reused.
    await producer.enqueue({ id: 'job-1', name: 'report', handler: 'report', args: [1] });
    expect((await producer.waitForJob('job-1')).result).toBe(2);
  });

  it('args and results with quotes, backslashes, unicode and nulls come back as written (enqueues and ends travel as one JSON parameter); flush() waits for ends carried by a claim', async () => {
    const name = freshName();
    const worker = await sharedQueue({ name, maxWorkers: 2 });
    const reader = await sharedQueue({ name });
    worker.register('echo', ({ args }) => args[0]);
    const values: unknown[] = [
      { text: 'say "hi" \\ back\\slash', emoji: '🎭', nested: [null, { deep: 'ü\n' }] },
      null,
      'a "quoted" string',
      [1, -2.5, true, {}],
    ];
    const ids = await Promise.all(
      values.map((value, i) =>
        worker.enqueue({ id: `echo-${i}`, name: 'echo', handler: 'echo', args: [value] }),
      ),
    );
    let finished = 0;
    const allFinished = new Promise<void>((resolve) => {
      worker.on('completed', () => {
        if (++finished === values.length) resolve();
      });
    });
    await worker.start();
    await allFinished;
    // Each end is stored by the claim that follows it; flush() waits for what is still in flight.
    await worker.flush();
    for (const [i, id] of ids.entries()) {
      const info = await reader.getJob(id);
      expect(info?.status).toBe('completed');
      const result = (await reader.waitForJob(id)).result;
      // A null result is stored as no result, as in the local queue.
      expect(result ?? null).toEqual(values[i]);
    }
  });

  it('cancels a queued job; a function handler is refused with INVALID_JOB', async () => {
    const queue = await sharedQueue({ name: freshName() });
    queue.register('never', () => 'ran');
    await queue.enqueue({ id: 'c-1', name: 'never', handler: 'never' });
    expect(await queue.cancelJob('c-1')).toBe(true);
    expect(await queue.cancelJob('c-1')).toBe(false);
    expect((await queue.waitForJob('c-1')).status).toBe('cancelled');
    await expect(queue.cancelJob('missing')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
    await expect(
      queue.enqueue({ name: 'fn', handler: () => 'not shareable' }),
    ).rejects.toMatchObject({ code: 'INVALID_JOB' });
  });

  it('a job whose worker stopped renewing its claim is taken over after the lease; the old worker’s late result is refused (fencing)', async () => {
    const name = freshName();
    // Each "process" has its own clock: the stalled one's never moves, so it never renews.
    const stalledClock = simulatedClock();
    const stalled = await sharedQueue({ name, clock: stalledClock, leaseMs: 1000 });
    let finishStalled!: () => void;
    const stalledGate = new Promise<void>((resolve) => {
      finishStalled = resolve;
    });
    let claimed!: () => void;
    const stalledClaimed = new Promise<void>((resolve) => {
      claimed = resolve;
    });
    stalled.register('work', async () => {
      claimed();
      await stalledGate;
      return 'stale';
    });
    await stalled.enqueue({ id: 'taken-over', name: 'work', handler: 'work' });
    await stalled.start();
    await stalledClaimed;

    const liveClock = simulatedClock();
    liveClock.increment(1001);
    const live = await sharedQueue({ name, clock: liveClock, leaseMs: 1000 });
    live.register('work', () => 'fresh');
    await live.start();
    const result = await live.waitForJob('taken-over');
    expect(result).toMatchObject({ status: 'completed', result: 'fresh', attempts: 2 });

    finishStalled();
    // The late end is in hand once the handler's attempt is over; flush()
    // then waits for its write, which the database refuses.
    while (stalled.stats().counts.running > 0) await new Promise(setImmediate);
    await stalled.flush();
    const info = await live.getJob('taken-over');
    expect(info?.result).toBe('fresh');
    expect(info?.attempts.map((attempt) => attempt.outcome)).toEqual(['interrupted', 'completed']);
    expect(stalled.stats().totals.completed).toBe(0);
  });

  it('rejects the shared-queue options without a PostgresStore', () => {
    expect(() => new TaskQueue({ globalConcurrency: 2 })).toThrow(/PostgreSQL only/);
  });
});

describe('TaskQueue on PostgreSQL: a failed write', () => {
  it('a job is acknowledged only once stored: enqueue() rejects when the insert fails, an earlier job survives a new process', async () => {
    const name = freshName();
    const queue = await sharedQueue({ name });
    const kept = await queue.enqueue({ id: 'job-kept', name: 'kept', handler: 'noop' });
    // The database refuses this one job's row, as a full disk or a broken constraint would.
    const admin = await PostgresStore.open({ connectionString: url });
    const refuse = `CREATE OR REPLACE FUNCTION troupe_test_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.id = 'job-lost' THEN RAISE EXCEPTION 'disk full (injected)'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER troupe_test_refuse BEFORE INSERT ON troupe_jobs
        FOR EACH ROW EXECUTE FUNCTION troupe_test_refuse();`;
    const client = await admin.connect();
    try {
      await client.query(refuse);
      await expect(
        queue.enqueue({ id: 'job-lost', name: 'lost', handler: 'noop' }),
      ).rejects.toMatchObject({
        code: 'STORE_WRITE_FAILED',
        message: expect.stringMatching(/could not store its job .*disk full \(injected\)/),
      });
    } finally {
      await client.query('DROP TRIGGER troupe_test_refuse ON troupe_jobs');
      client.release();
      await admin.close();
    }
    const other = await sharedQueue({ name });
    expect((await other.getJob(kept))?.id).toBe('job-kept');
    expect(await other.getJob('job-lost')).toBeUndefined();
  });
});
