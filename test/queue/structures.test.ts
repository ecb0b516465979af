import { describe, expect, it } from 'vitest';
import { unitHash } from '../../src/machines/backoff.js';
import type { JobRecord } from '../../src/machines/queue/job.js';
import { JobTable, jobTable } from '../../src/machines/queue/job-table.js';
import {
  createHeap,
  heapPop,
  heapPush,
  heapSize,
  pushByPriority,
} from '../../src/machines/queue/priority-heap.js';
import { createTokenBucket, nextTokenAt, tryTake } from '../../src/machines/queue/token-bucket.js';

describe('priority heap', () => {
  it('pops higher priority first and FIFO within a priority', () => {
    const heap = createHeap();
    const pushed: Array<{ id: string; priority: number; seq: number }> = [];
    for (let seq = 1; seq <= 2000; seq++) {
      // Deterministic pseudo-random priorities 1..4.
      const priority = 1 + Math.floor(unitHash(`p${seq}`) * 4);
      const id = `job-${seq}`;
      pushed.push({ id, priority, seq });
      pushByPriority(heap, priority, seq, id);
    }
    const expected = [...pushed]
      .sort((a, b) => b.priority - a.priority || a.seq - b.seq)
      .map((entry) => entry.id);
    const popped: string[] = [];
    while (heapSize(heap) > 0) popped.push(heapPop(heap)!);
    expect(popped).toEqual(expected);
  });

  it('keeps its order across a JSON round trip and interleaved pushes and pops', () => {
    let heap = createHeap();
    heapPush(heap, 5, 1, 'a');
    heapPush(heap, 1, 2, 'b');
    heapPush(heap, 3, 3, 'c');
    expect(heapPop(heap)).toBe('b');
    heap = JSON.parse(JSON.stringify(heap));
    heapPush(heap, 3, 0, 'd');
    heapPush(heap, 9, 4, 'e');
    const order: string[] = [];
    while (heapSize(heap) > 0) order.push(heapPop(heap)!);
    expect(order).toEqual(['d', 'c', 'a', 'e']);
    expect(heapPop(heap)).toBeUndefined();
  });

  it('costs O(log n): 200,000 pushes and pops stay far below a quadratic budget', () => {
    const heap = createHeap();
    const n = 200_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) heapPush(heap, -(i % 4), i, 'x');
    for (let i = 0; i < n; i++) heapPop(heap);
    // A sorted-array insert would do ~n^2/4 = 10^10 element moves here.
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('token bucket', () => {
  it('starts full, refills at the rate and never holds more than its capacity', () => {
    const bucket = createTokenBucket(10, 3, 0);
    expect([
      tryTake(bucket, 0),
      tryTake(bucket, 0),
      tryTake(bucket, 0),
      tryTake(bucket, 0),
    ]).toEqual([true, true, true, false]);
    expect(nextTokenAt(bucket, 0)).toBe(100);
    expect(tryTake(bucket, 99)).toBe(false);
    expect(tryTake(bucket, 100)).toBe(true);
    // A long pause refills to the capacity, not beyond.
    for (let i = 0; i < 3; i++) expect(tryTake(bucket, 60_000)).toBe(true);
    expect(tryTake(bucket, 60_000)).toBe(false);
  });

  it('gives capacity + rate * t tokens over t seconds of steady demand', () => {
    const bucket = createTokenBucket(8, 1, 0);
    let taken = 0;
    let now = 0;
    while (now <= 10_000) {
      if (tryTake(bucket, now)) taken++;
      else now = nextTokenAt(bucket, now);
    }
    // The full bucket's one token plus 8 per second for 10 seconds.
    expect(taken).toBe(81);
  });
});

describe('job table', () => {
  it('serialises as a plain object and is rebuilt from it on first access', () => {
    const table = new JobTable();
    const job = { id: 'a', name: 'x' } as unknown as JobRecord;
    table.set('a', job);
    table.set('constructor', { ...job, id: 'constructor' });
    const json = JSON.stringify({ jobs: table });
    expect(json).toBe(
      '{"jobs":{"a":{"id":"a","name":"x"},"constructor":{"id":"constructor","name":"x"}}}',
    );
    const ctx = JSON.parse(json) as { jobs: JobTable };
    expect(ctx.jobs).not.toBeInstanceOf(JobTable);
    const rebuilt = jobTable(ctx);
    expect(rebuilt).toBeInstanceOf(JobTable);
    expect(ctx.jobs).toBe(rebuilt);
    expect([...rebuilt.keys()]).toEqual(['a', 'constructor']);
    expect(jobTable(ctx)).toBe(rebuilt);
  });
});
