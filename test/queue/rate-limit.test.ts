import { afterEach, describe, expect, it } from 'vitest';
import type { TaskQueue } from '../../src/runtime/queue/task-queue.js';
import { advance, EPOCH, simulatedQueue } from './helpers.js';

const queues: TaskQueue[] = [];
afterEach(async () => {
  await Promise.all(queues.splice(0).map((queue) => queue.stop({ graceful: false })));
});

/** Most starts in any window of `windowMs` (windows start at a start time). */
function busiestWindow(starts: readonly number[], windowMs: number): number {
  let most = 0;
  let first = 0;
  for (let last = 0; last < starts.length; last++) {
    while (starts[last]! - starts[first]! > windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

async function runSaturated(rate: number, burst: number | undefined, seconds: number) {
  const { queue, clock } = simulatedQueue({
    maxWorkers: 1000,
    maxJobsPerSecond: rate,
    ...(burst === undefined ? {} : { rateLimitBurst: burst }),
  });
  queues.push(queue);
  const starts: number[] = [];
  queue.on('started', (event) => starts.push(event.at - EPOCH));
  queue.register('noop', () => undefined);
  // Far more jobs than the limit lets through, so the queue stays saturated.
  for (let i = 0; i < rate * seconds * 2; i++)
    void queue.enqueue({ name: 'noop', handler: 'noop' });
  await queue.start();
  await advance(clock, seconds * 1000, 1);
  return { starts, queue };
}

describe('rate limit (token bucket)', () => {
  it('holds 50 jobs/s within 5% over 10 s, with no burst beyond the bucket', async () => {
    const { starts } = await runSaturated(50, undefined, 10);
    const capacity = 5; // default: a tenth of a second's worth
    expect(starts.length).toBeGreaterThanOrEqual(500 * 0.95);
    expect(starts.length).toBeLessThanOrEqual(500 * 1.05 + capacity);
    // Steady state, after the initial full bucket is spent.
    const steady = starts.filter((at) => at >= 1000).length / 9;
    expect(Math.abs(steady - 50) / 50).toBeLessThan(0.05);
    for (const windowMs of [0, 50, 100, 500, 1000, 5000]) {
      expect(busiestWindow(starts, windowMs)).toBeLessThanOrEqual(
        capacity + Math.floor((50 * windowMs) / 1000),
      );
    }
  });

  it('with a bucket of one, spaces starts evenly (20 jobs/s: one every 50 ms)', async () => {
    const { starts } = await runSaturated(20, 1, 10);
    expect(starts.length).toBe(201);
    const gaps = starts.slice(1).map((at, i) => at - starts[i]!);
    expect(new Set(gaps)).toEqual(new Set([50]));
  });

  it('counts retries against the limit too', async () => {
    const { queue, clock } = simulatedQueue({
      maxJobsPerSecond: 10,
      rateLimitBurst: 1,
      backoff: { initialDelayMs: 0, factor: 1, maxDelayMs: 0, jitter: 0 },
    });
    queues.push(queue);
    const starts: number[] = [];
    queue.on('started', (event) => starts.push(event.at - EPOCH));
    queue.register('fail', () => {
      throw new Error('again');
    });
    await queue.start();
    await queue.enqueue({ name: 'fail', handler: 'fail', maxRetries: 4 });
    await advance(clock, 1000, 10);
    expect(starts).toEqual([0, 100, 200, 300, 400]);
  });
});
