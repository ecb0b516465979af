/**
 * Which job runs next, and when the queue must wake up. Pure steps over the
 * queue context.
 *
 * Scheduling rule: among queued jobs the highest priority runs first, and
 * within a priority the one queued first; a job starts only when fewer than
 * `maxWorkers` jobs run and the rate limiter has a token. There is no
 * priority aging: a steady stream of URGENT jobs can starve LOW ones.
 */
import type { JobRecord } from './job.js';
import {
  logFinished,
  makeReady,
  queueError,
  startAttempt,
  timeOutAttempt,
} from './job-lifecycle.js';
import { jobTable } from './job-table.js';
import { heapPeekPrimary, heapPeekSecondary, heapPop } from './priority-heap.js';
import { lookupJob, persist, pushReady, pushTimer, setStatus } from './queue-context.js';
import type { QueueContext } from './queue-types.js';
import { readyPeek, readyShift } from './ready-queue.js';
import { nextTokenAt, tryTake } from './token-bucket.js';

/** Starts ready jobs while workers and rate-limit tokens allow. */
export function dispatch(ctx: QueueContext): void {
  const { maxWorkers } = ctx.settings;
  const { ready } = ctx;
  while (ctx.running < maxWorkers) {
    const lane = readyPeek(ready);
    if (lane === undefined) break;
    const job = lookupJob(ctx, lane.ids[lane.head]!);
    if (job?.status !== 'queued' || job.seq !== lane.seqs[lane.head]) {
      readyShift(ready, lane); // stale: cancelled or re-queued since
      continue;
    }
    if (ctx.bucket !== null && !tryTake(ctx.bucket, ctx.now)) break;
    readyShift(ready, lane);
    startAttempt(ctx, job);
  }
}

/** Handles every timer due by `now`: scheduled and retrying jobs become ready, running ones time out. */
export function processDueTimers(ctx: QueueContext): void {
  const { timers } = ctx;
  while (true) {
    const at = heapPeekPrimary(timers);
    if (at === undefined || at > ctx.now) break;
    const seq = heapPeekSecondary(timers)!;
    const id = heapPop(timers)!;
    const job = lookupJob(ctx, id);
    if (!job || job.timerSeq !== seq) continue;
    job.timerSeq = null;
    if (job.status === 'scheduled' || job.status === 'retrying') makeReady(ctx, job);
    else if (job.status === 'running') timeOutAttempt(ctx, job);
  }
}

/**
 * Decides when the queue must next wake up: the earliest timer, or (when it
 * dispatches) the next rate-limit token if a ready job waits for one. Only a
 * change is sent to XState's scheduler.
 */
export function planWake(ctx: QueueContext, dispatching: boolean): void {
  let wake: number | null = heapPeekPrimary(ctx.timers) ?? null;
  if (
    dispatching &&
    ctx.bucket !== null &&
    ctx.running < ctx.settings.maxWorkers &&
    ctx.ready.size > 0
  ) {
    const tokenAt = nextTokenAt(ctx.bucket, ctx.now);
    if (tokenAt > ctx.now && (wake === null || tokenAt < wake)) wake = tokenAt;
  }
  if (wake !== ctx.wakeAt) {
    ctx.wakeAt = wake;
    ctx.outbox.rearm = true;
  }
}

/** No wake-ups while stopped. */
export function cancelWake(ctx: QueueContext): void {
  if (ctx.wakeAt === null) return;
  ctx.wakeAt = null;
  ctx.outbox.rearm = true;
}

/**
 * Puts every running job back at its old place in the ready queue. Used by a
 * non-graceful stop (`abort`: the runner aborts the handlers) and after a
 * restore (the handlers died with the old process). The interrupted attempt
 * is kept in the job's history but is not counted as a failure.
 */
export function interruptRunning(ctx: QueueContext, abort: boolean): void {
  // A scan of all jobs: this is rare, and tracking running ids on the hot path is not.
  if (ctx.running === 0) return;
  let left = ctx.running;
  for (const job of jobTable(ctx).values()) {
    if (left === 0) break;
    if (job.status !== 'running') continue;
    const { id } = job;
    left--;
    const attempt = job.attempts[job.attempts.length - 1]!;
    attempt.outcome = 'interrupted';
    attempt.finishedAt = ctx.now;
    if (abort) {
      ctx.outbox.aborts.push({
        id,
        attempt: attempt.attempt,
        reason: queueError(
          'QUEUE_STOPPED',
          `Job ${JSON.stringify(id)} (${job.name}) was aborted by stop({ graceful: false }); it stays queued and runs again on the next start().`,
        ),
      });
    }
    job.timerSeq = null;
    setStatus(ctx, job, 'queued');
    pushReady(ctx, job, job.seq);
    persist(ctx, job);
  }
  ctx.running = 0;
}

/**
 * Adds jobs read back from the store. Ids already held are skipped (a
 * snapshot restore may have brought them back already). Jobs that were
 * running when the process died run again (at-least-once), keeping their
 * place in the queue.
 */
export function loadJobs(ctx: QueueContext, records: readonly JobRecord[]): void {
  for (const record of records) {
    if (record.seq >= ctx.nextSeq) ctx.nextSeq = record.seq + 1;
  }
  const finished: JobRecord[] = [];
  for (const job of records) {
    if (lookupJob(ctx, job.id)) continue;
    jobTable(ctx).set(job.id, job);
    ctx.counts[job.status]++;
    job.timerSeq = null;
    switch (job.status) {
      case 'running': {
        const attempt = job.attempts[job.attempts.length - 1];
        if (attempt) {
          attempt.outcome = 'interrupted';
          attempt.finishedAt = attempt.finishedAt ?? ctx.now;
        }
        setStatus(ctx, job, 'queued');
        pushReady(ctx, job, job.seq);
        persist(ctx, job);
        break;
      }
      case 'queued':
        pushReady(ctx, job, job.seq);
        break;
      case 'scheduled':
      case 'retrying':
        pushTimer(ctx, job, job.runAt ?? ctx.now);
        break;
      default:
        finished.push(job);
    }
    if (job.status !== 'completed' && job.status !== 'failed' && job.status !== 'cancelled') {
      ctx.idle = false;
    }
  }
  logFinished(ctx, finished);
}

/** Emits `queue.idle` when the last queued, running or retrying job is done. */
export function noteIdle(ctx: QueueContext): void {
  const idle = ctx.running === 0 && ctx.counts.queued === 0 && ctx.counts.retrying === 0;
  if (idle && !ctx.idle) ctx.outbox.notices.push({ type: 'queue.idle', at: ctx.now });
  ctx.idle = idle;
}

/**
 * What the queue does after handling an event, by state: `dispatch` (running:
 * fire due timers, start jobs, plan the next wake-up), `drain` (draining: fire
 * due timers so timeouts still apply, start nothing) or `hold` (stopped).
 */
export type FollowUp = 'dispatch' | 'drain' | 'hold';

export function followUp(ctx: QueueContext, mode: FollowUp): void {
  if (mode === 'hold') return;
  processDueTimers(ctx);
  if (mode === 'dispatch') dispatch(ctx);
  planWake(ctx, mode === 'dispatch');
  if (mode === 'dispatch') noteIdle(ctx);
}
