import { describe, expect, it } from 'vitest';
import { unitHash } from '../../src/machines/backoff.js';
import type { JobRecord } from '../../src/machines/queue/job.js';
import { JobTable, jobTable } from '../../src/machines/queue/job-table.js';
import { createHeap, heapPop, heapPush, heapSize } from '../../src/machines/queue/priority-heap.js';
import {
  createReadyQueue,
  type ReadyQueue,
  readyPeek,
  readyPush,
  readyShift,
} from '../../src/machines/queue/ready-queue.js';
import { createTokenBucket, nextTokenAt, tryTake } from '../../src/machines/queue/token-bucket.js';

/** Takes every entry off the ready queue, in order. */
function drain(queue: ReadyQueue): string[] {
  const taken: string[] = [];
  for (let lane = readyPeek(queue); lane; lane = readyPeek(queue)) {
    taken.push(lane.ids[lane.head]!);
    readyShift(queue, lane);
  }
  expect(queue.size).toBe(0);
  return taken;
}

describe('ready queue', () => {
  it('takes higher priority first and FIFO within a priority', () => {
    const queue = createReadyQueue();
    const pushed: Array<{ id: string; priority: number; seq: number }> = [];
    for (let seq = 1; seq <= 2000; seq++) {
      // Deterministic pseudo-random priorities 1..4.
      const priority = 1 + Math.floor(unitHash(`p${seq}`) * 4);
      const id = `job-${seq}`;
      pushed.push({ id, priority, seq });
      readyPush(queue, priority, seq, id);
    }
    const expected = [...pushed]
      .sort((a, b) => b.priority - a.priority || a.seq - b.seq)
      .map((entry) => entry.id);
    expect(queue.size).toBe(2000);
    expect(drain(queue)).toEqual(expected);
  });

  it('puts a job back at its old place: before the head, or in the middle, across a JSON round trip', () => {
    let queue = createReadyQueue();
    for (let seq = 1; seq <= 6; seq++) readyPush(queue, 2, seq * 10, `n${seq * 10}`);
    readyPush(queue, 3, 5, 'h5');
    // Take h5, n10 and n20, as a dispatch would.
    for (let i = 0; i < 3; i++) readyShift(queue, readyPeek(queue)!);
    queue = JSON.parse(JSON.stringify(queue)) as ReadyQueue;
    readyPush(queue, 2, 20, 'n20'); // interrupted: back before the head
    readyPush(queue, 2, 45, 'n45'); // reloaded: between n40 and n50
    readyPush(queue, 2, 10, 'n10');
    readyPush(queue, 3, 5, 'h5'); // its lane is empty now
    readyPush(queue, 1, 1, 'l1');
    expect(drain(queue)).toEqual(['h5', 'n10', 'n20', 'n30', 'n40', 'n45', 'n50', 'n60', 'l1']);
  });

  it('costs O(1) per job: 1,000,000 pushes and takes, and the lanes shrink as they empty', () => {
    const queue = createReadyQueue();
    const n = 1_000_000;
    const started = performance.now();
    for (let i = 0; i < n; i++) readyPush(queue, 1 + (i % 4), i, 'x');
    for (let i = 0; i < n / 2; i++) readyShift(queue, readyPeek(queue)!);
    // Half taken: the two top lanes are empty and reset, the rest untouched.
    expect(queue.lanes.map((lane) => lane.ids.length - lane.head)).toEqual([0, 0, n / 4, n / 4]);
    expect(queue.lanes[0]!.ids.length).toBe(0);
    drain(queue);
    // A binary heap takes about a second here on a loaded machine; a sorted array, hours.
    expect(performance.now() - started).toBeLessThan(5_000);
  });
});

describe('priority heap', () => {
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
