/**
 * The queue context and the small helpers every queue step uses. All of
 * them mutate the context's collections in place: copying a heap or a job
 * table per event would make each event O(n) (see XSTATE-FACTS, "Costs").
 */
import type { JobRecord, JobStatus } from './job.js';
import { JobTable, jobTable } from './job-table.js';
import { createHeap, heapPush } from './priority-heap.js';
import type { Outbox, QueueContext, QueueSettings } from './queue-types.js';
import { emptyTotals, THROUGHPUT_WINDOW_S, type ThroughputWindow } from './queue-types.js';
import { createReadyQueue, readyPush } from './ready-queue.js';
import { createTokenBucket } from './token-bucket.js';

export function createOutbox(): Outbox {
  return {
    runs: [],
    aborts: [],
    writes: [],
    attempts: [],
    deletes: [],
    notices: [],
    rearm: false,
  };
}

export function isOutboxEmpty(outbox: Outbox): boolean {
  return (
    outbox.runs.length === 0 &&
    outbox.aborts.length === 0 &&
    outbox.writes.length === 0 &&
    outbox.attempts.length === 0 &&
    outbox.deletes.length === 0 &&
    outbox.notices.length === 0 &&
    !outbox.rearm
  );
}

export function createQueueContext(settings: QueueSettings): QueueContext {
  const { maxJobsPerSecond, rateLimitBurst } = settings;
  return {
    settings,
    now: 0,
    jobs: new JobTable(),
    ready: createReadyQueue(),
    timers: createHeap(),
    nextSeq: 1,
    running: 0,
    // The bucket starts full; its first refill (at the first event's time) is a no-op.
    bucket:
      maxJobsPerSecond === null ? null : createTokenBucket(maxJobsPerSecond, rateLimitBurst, 0),
    counts: {
      scheduled: 0,
      queued: 0,
      running: 0,
      retrying: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
    },
    totals: emptyTotals(),
    finished: { ids: [], seqs: [], head: 0 },
    throughput: createThroughputWindow(),
    wakeAt: null,
    idle: true,
    outbox: createOutbox(),
  };
}

/** The job held under `id`. */
export function lookupJob(ctx: QueueContext, id: string): JobRecord | undefined {
  return jobTable(ctx).get(id);
}

/** Time only moves forward, even if a sender's clock reading arrives late. */
export function advanceClock(ctx: QueueContext, at: number): void {
  if (at > ctx.now) ctx.now = at;
}

export function setStatus(ctx: QueueContext, job: JobRecord, status: JobStatus): void {
  ctx.counts[job.status]--;
  job.status = status;
  ctx.counts[status]++;
}

/**
 * Queues a write of the job for the store (coalesced by the persister): its
 * full record, or (`attempt`: its attempt started or completed) only a small
 * record of that attempt, which recovery adds to the full record stored
 * before (stored-job.ts).
 */
export function persist(
  ctx: QueueContext,
  job: JobRecord,
  change: 'record' | 'attempt' = 'record',
): void {
  if (!ctx.settings.persist || !job.durable) return;
  if (change === 'attempt') ctx.outbox.attempts.push(job);
  else ctx.outbox.writes.push(job);
}

/** Arms the job's one live timer at `at`; any older timer of the job becomes stale. */
export function pushTimer(ctx: QueueContext, job: JobRecord, at: number): void {
  const seq = ctx.nextSeq++;
  job.timerSeq = seq;
  heapPush(ctx.timers, at, seq, job.id);
}

/** Puts the job in the ready queue, at the back of its priority unless `seq` keeps its place. */
export function pushReady(ctx: QueueContext, job: JobRecord, seq: number = ctx.nextSeq++): void {
  job.seq = seq;
  readyPush(ctx.ready, job.priority, seq, job.id);
}

/** Per-second finish counts over the last {@link THROUGHPUT_WINDOW_S} seconds, in fixed memory. */
export function createThroughputWindow(): ThroughputWindow {
  return {
    seconds: new Array<number>(THROUGHPUT_WINDOW_S).fill(-1),
    counts: new Array<number>(THROUGHPUT_WINDOW_S).fill(0),
  };
}

export function countFinished(window: ThroughputWindow, now: number): void {
  const second = Math.floor(now / 1000);
  const slot = second % THROUGHPUT_WINDOW_S;
  const { seconds, counts } = window;
  if (seconds[slot] !== second) {
    seconds[slot] = second;
    counts[slot] = 0;
  }
  counts[slot] = (counts[slot] ?? 0) + 1;
}

/** Jobs finished per second over the last full window before `now`. */
export function recentThroughput(window: ThroughputWindow, now: number): number {
  const current = Math.floor(now / 1000);
  let total = 0;
  for (let i = 0; i < THROUGHPUT_WINDOW_S; i++) {
    const second = window.seconds[i]!;
    if (second > current - THROUGHPUT_WINDOW_S && second <= current) {
      total += window.counts[i]!;
    }
  }
  return total / THROUGHPUT_WINDOW_S;
}
