import { describe, expect, it } from 'vitest';
import type { TroupeError } from '../../src/errors.js';
import { systemClock } from '../../src/runtime/clock.js';
import { advance, EPOCH, gate, settle, useSimulatedQueues } from './helpers.js';

const setup = useSimulatedQueues();

describe('progress', () => {
  it('shows handler progress in getJob() and emits progress events', async () => {
    const { queue } = setup();
    const step = gate();
    const events: Array<[number, string | null]> = [];
    queue.on('progress', (event) => events.push([event.value, event.message]));
    queue.register('steps', async ({ progress }) => {
      progress(25, 'a quarter');
      await step.promise;
      progress(150);
      return 'done';
    });
    await queue.start();
    const id = await queue.enqueue({ name: 'steps', handler: 'steps' });
    await settle();
    expect((await queue.getJob(id))?.progress).toMatchObject({ value: 25, message: 'a quarter' });
    step.open();
    await queue.waitForJob(id);
    expect(events).toEqual([
      [25, 'a quarter'],
      [100, null],
    ]);
    expect((await queue.getJob(id))?.progress?.value).toBe(100);
  });

  it('refuses a non-number progress inside the handler', async () => {
    const { queue } = setup();
    queue.register('bad', ({ progress }) => {
      progress(Number.NaN);
    });
    await queue.start();
    const id = await queue.enqueue({ name: 'bad', handler: 'bad', maxRetries: 0 });
    const result = await queue.waitForJob(id);
    expect(result.status).toBe('failed');
    expect(result.error?.message).toContain('ctx.progress()');
  });
});

describe('stats', () => {
  it('counts jobs per state and reports throughput', async () => {
    const { queue, clock } = setup({
      maxWorkers: 1,
      backoff: { initialDelayMs: 60_000, factor: 1, maxDelayMs: 60_000, jitter: 0 },
    });
    const hold = gate();
    queue.register('hold', () => hold.promise);
    queue.register('noop', () => undefined);
    queue.register('fail', () => {
      throw new Error('x');
    });
    await queue.start();
    await queue.enqueue({ name: 'fail', handler: 'fail', maxRetries: 1 });
    await queue.enqueue({ name: 'fail for good', handler: 'fail', maxRetries: 0 });
    for (let i = 0; i < 20; i++) await queue.enqueue({ name: 'noop', handler: 'noop' });
    await advance(clock, 2000, 100);
    await queue.enqueue({ name: 'hold', handler: 'hold' });
    await queue.enqueue({ name: 'waiting', handler: 'noop' });
    await queue.schedule({ name: 'later', handler: 'noop' }, EPOCH + 3_600_000);
    await settle();
    const stats = queue.stats();
    expect(stats.state).toBe('running');
    expect(stats.counts).toEqual({
      scheduled: 1,
      queued: 1,
      running: 1,
      retrying: 1,
      completed: 20,
      failed: 1,
      cancelled: 0,
    });
    expect(stats.totals).toMatchObject({ enqueued: 25, completed: 20, failed: 1, retried: 1 });
    expect(stats.maxWorkers).toBe(1);
    // 21 jobs finished within the last 10 s window.
    expect(stats.throughputPerSecond).toBeCloseTo(2.1);
    hold.open();
  });
});

describe('stop', () => {
  it('graceful stop lets running jobs finish and keeps queued ones queued', async () => {
    const { queue } = setup({ maxWorkers: 2 });
    const release = gate();
    let started = 0;
    queue.register('hold', async () => {
      started++;
      await release.promise;
    });
    await queue.start();
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push(await queue.enqueue({ name: 'hold', handler: 'hold' }));
    await settle();
    expect(started).toBe(2);
    let stopped = false;
    const stopping = queue.stop().then(() => {
      stopped = true;
    });
    await settle();
    expect(queue.stats().state).toBe('draining');
    expect(stopped).toBe(false);
    release.open();
    await stopping;
    expect(queue.stats().state).toBe('stopped');
    expect(started).toBe(2);
    expect(queue.stats().counts).toMatchObject({ completed: 2, queued: 3, running: 0 });
    await queue.start();
    await queue.onIdle();
    expect(started).toBe(5);
  });

  it('non-graceful stop aborts running jobs, which run again on the next start', async () => {
    const { queue } = setup();
    const reasons: string[] = [];
    queue.register('once', ({ attempt, signal }) => {
      if (attempt > 1) return `attempt ${attempt}`;
      return new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          reasons.push((signal.reason as TroupeError).code);
          reject(signal.reason);
        });
      });
    });
    await queue.start();
    const id = await queue.enqueue({ name: 'once', handler: 'once', maxRetries: 0 });
    await settle();
    await queue.stop({ graceful: false });
    expect(reasons).toEqual(['QUEUE_STOPPED']);
    const info = await queue.getJob(id);
    expect(info?.status).toBe('queued');
    expect(info?.attempts.map((attempt) => attempt.outcome)).toEqual(['interrupted']);
    await queue.start();
    const result = await queue.waitForJob(id);
    // maxRetries 0, yet it completes: an interrupted attempt is not a failure.
    expect(result).toMatchObject({ status: 'completed', result: 'attempt 2', attempts: 2 });
  });

  it('a graceful stop with timeoutMs turns non-graceful when the deadline passes', async () => {
    const { queue, clock } = setup();
    queue.register('hang', () => new Promise(() => undefined));
    await queue.start();
    await queue.enqueue({ name: 'hang', handler: 'hang' });
    await settle();
    let stopped = false;
    const stopping = queue.stop({ graceful: true, timeoutMs: 5000 }).then(() => {
      stopped = true;
    });
    await advance(clock, 4999, 1000);
    expect(stopped).toBe(false);
    await advance(clock, 1);
    await stopping;
    expect(queue.stats()).toMatchObject({ state: 'stopped', counts: { queued: 1, running: 0 } });
  });
});

describe('reports', () => {
  /** Completed totals the queue actor showed, one entry per event it handled. */
  function completedPerStep(queue: ReturnType<typeof setup>['queue']): number[] {
    const seen: number[] = [];
    queue.actor.subscribe((snapshot) => {
      const { completed } = snapshot.context.totals;
      if (completed !== seen[seen.length - 1]) seen.push(completed);
    });
    return seen;
  }

  it('runs ending in separate callbacks of one event-loop turn are settled in at most two steps', async () => {
    const { queue } = setup({ maxWorkers: 10 });
    // Each run ends in its own immediate callback, all in the same turn.
    queue.register('tick', () => new Promise<void>((resolve) => setImmediate(resolve)));
    await queue.start();
    const ids = await Promise.all(
      Array.from({ length: 10 }, () => queue.enqueue({ name: 'tick', handler: 'tick' })),
    );
    const seen = completedPerStep(queue);
    await Promise.all(ids.map((id) => queue.waitForJob(id)));
    // The turn's first run is reported at once, the other nine at the turn's end.
    expect(seen).toEqual([1, 10]);
  });

  it('the first run to end in a turn is reported in its microtask checkpoint, a later one at the turn end', async () => {
    const { queue } = setup({ maxWorkers: 2 });
    const first = gate();
    const second = gate();
    queue.register('first', () => first.promise);
    queue.register('second', () => second.promise);
    await queue.start();
    const a = await queue.enqueue({ name: 'first', handler: 'first' });
    const b = await queue.enqueue({ name: 'second', handler: 'second' });
    await settle();
    first.open();
    // One microtask hop per promise in the chain; no event-loop turn passes.
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect((await queue.getJob(a))?.status).toBe('completed');
    second.open();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect((await queue.getJob(b))?.status).toBe('running');
    await settle();
    expect((await queue.getJob(b))?.status).toBe('completed');
  });
});

describe('events', () => {
  it('reports started, completed, failed and idle, and unsubscribes', async () => {
    const { queue } = setup({ maxRetries: 0, clock: systemClock });
    queue.register('ok', () => 'fine');
    queue.register('bad', () => {
      throw new Error('nope');
    });
    const seen: string[] = [];
    queue.on('started', (event) => seen.push(`started ${event.jobId}`));
    queue.on('completed', (result) =>
      seen.push(`completed ${result.jobId} ${String(result.result)}`),
    );
    queue.on('failed', (result) => seen.push(`failed ${result.jobId} ${result.error?.message}`));
    const off = queue.on('idle', () => seen.push('idle'));
    await queue.enqueue({ id: 'a', name: 'ok', handler: 'ok' });
    await queue.enqueue({ id: 'b', name: 'bad', handler: 'bad' });
    await queue.start();
    await queue.onIdle();
    expect(seen).toEqual(['started a', 'started b', 'completed a fine', 'failed b nope', 'idle']);
    off();
    await queue.enqueue({ id: 'c', name: 'ok', handler: 'ok' });
    await queue.onIdle();
    expect(seen.filter((entry) => entry === 'idle')).toHaveLength(1);
  });
});
