/**
 * What happens to one job: admitted, started, settled, retried, finished,
 * cancelled, evicted. Pure steps over the queue context; their effects go to
 * `ctx.outbox`, which the machine's step action carries out at its end.
 */
import type { SerializedError } from '../../errors.js';
import { backoffDelay } from '../backoff.js';
import { type FinalJobStatus, isFinalStatus, type JobRecord } from './job.js';
import { jobTable } from './job-table.js';
import {
  countFinished,
  lookupJob,
  persist,
  pushReady,
  pushTimer,
  setStatus,
} from './queue-context.js';
import type { JobOutcome, QueueContext } from './queue-types.js';

/** Errors the queue itself gives an attempt, in their stored shape. */
export function queueError(code: string, message: string): SerializedError {
  return { name: 'TroupeError', code, message };
}

/**
 * Adds new jobs; an id that is still active is refused (emitted as
 * `job.rejected`). `unique`: the ids are known to be new, no check needed.
 */
export function admitJobs(ctx: QueueContext, jobs: readonly JobRecord[], unique = false): void {
  for (const job of jobs) {
    const existing = unique ? undefined : lookupJob(ctx, job.id);
    if (existing) {
      if (!isFinalStatus(existing.status)) {
        ctx.outbox.notices.push({
          type: 'job.rejected',
          id: job.id,
          reason: `a job with id ${JSON.stringify(job.id)} is already ${existing.status}`,
        });
        continue;
      }
      // A finished job's id may be reused: the new job replaces the old record.
      ctx.counts[existing.status]--;
    }
    if (job.status !== 'scheduled') job.status = 'queued';
    jobTable(ctx).set(job.id, job);
    ctx.counts[job.status]++;
    ctx.totals.enqueued++;
    ctx.idle = false;
    if (job.status === 'scheduled') {
      job.seq = ctx.nextSeq++;
      pushTimer(ctx, job, job.runAt ?? ctx.now);
    } else {
      pushReady(ctx, job);
    }
    persist(ctx, job);
  }
}

/** Starts the job's next attempt: the runner gets a `run` order, a timeout arms a timer. */
export function startAttempt(ctx: QueueContext, job: JobRecord): void {
  const attempt = job.attempts.length + 1;
  const deadline = job.timeoutMs === null ? null : ctx.now + job.timeoutMs;
  job.attempts.push({
    attempt,
    startedAt: ctx.now,
    finishedAt: null,
    deadline,
    outcome: 'running',
    error: null,
  });
  setStatus(ctx, job, 'running');
  ctx.running++;
  ctx.totals.started++;
  if (deadline === null) job.timerSeq = null;
  else pushTimer(ctx, job, deadline);
  ctx.outbox.notices.push({ type: 'job.started', id: job.id, attempt, at: ctx.now });
  ctx.outbox.runs.push({
    id: job.id,
    name: job.name,
    attempt,
    handler: job.handler,
    args: job.args,
    durable: job.durable,
  });
  persist(ctx, job, 'attempt');
}

function releaseWorker(ctx: QueueContext, job: JobRecord): void {
  ctx.running--;
  job.timerSeq = null;
}

/** The running attempt `attempt` of the job, or undefined if that report is stale. */
function currentAttempt(ctx: QueueContext, id: string, attempt: number): JobRecord | undefined {
  const job = lookupJob(ctx, id);
  if (job?.status !== 'running' || job.attempts.length !== attempt) return undefined;
  return job;
}

/** Applies the runner's reports. Reports of attempts already timed out, cancelled or interrupted are ignored. */
export function settleOutcomes(ctx: QueueContext, outcomes: readonly JobOutcome[]): void {
  for (const outcome of outcomes) {
    const job = currentAttempt(ctx, outcome.id, outcome.attempt);
    if (!job) continue;
    const attempt = job.attempts[job.attempts.length - 1]!;
    attempt.finishedAt = ctx.now;
    releaseWorker(ctx, job);
    if (outcome.ok) {
      attempt.outcome = 'completed';
      job.result = outcome.result;
      finishJob(ctx, job, 'completed');
    } else {
      attempt.outcome = 'failed';
      attempt.error = outcome.error;
      failAttempt(ctx, job, outcome.error, outcome.retryable);
    }
  }
}

/** The running attempt's deadline passed: abort it and count it as a failed attempt. */
export function timeOutAttempt(ctx: QueueContext, job: JobRecord): void {
  const attempt = job.attempts[job.attempts.length - 1]!;
  const seconds = (job.timeoutMs ?? 0) / 1000;
  const error = queueError(
    'JOB_TIMEOUT',
    `Job ${JSON.stringify(job.id)} (${job.name}) attempt ${attempt.attempt} timed out after ${seconds} s (timeoutSeconds: ${seconds}); its AbortSignal was aborted.`,
  );
  attempt.outcome = 'timed_out';
  attempt.finishedAt = ctx.now;
  attempt.error = error;
  releaseWorker(ctx, job);
  ctx.totals.timedOut++;
  ctx.outbox.aborts.push({ id: job.id, attempt: attempt.attempt, reason: error });
  failAttempt(ctx, job, error, true);
}

/** Retries after a backoff while retries remain, else fails the job for good. */
function failAttempt(
  ctx: QueueContext,
  job: JobRecord,
  error: SerializedError,
  retryable: boolean,
): void {
  job.failures++;
  if (!retryable || job.failures > job.maxRetries) {
    finishJob(ctx, job, 'failed');
    return;
  }
  const attempt = job.attempts.length;
  const retryAt = ctx.now + backoffDelay(job.backoff, job.failures, `${job.id}:${attempt}`);
  job.runAt = retryAt;
  setStatus(ctx, job, 'retrying');
  pushTimer(ctx, job, retryAt);
  ctx.totals.retried++;
  ctx.outbox.notices.push({ type: 'job.retrying', id: job.id, attempt, error, retryAt });
  persist(ctx, job);
}

/** A due scheduled or retrying job becomes ready. */
export function makeReady(ctx: QueueContext, job: JobRecord): void {
  job.runAt = null;
  setStatus(ctx, job, 'queued');
  pushReady(ctx, job);
  persist(ctx, job);
}

function finishJob(ctx: QueueContext, job: JobRecord, status: FinalJobStatus): void {
  setStatus(ctx, job, status);
  job.finishedAt = ctx.now;
  job.runAt = null;
  job.timerSeq = null;
  ctx.totals[status]++;
  countFinished(ctx.throughput, ctx.now);
  ctx.finished.ids.push(job.id);
  ctx.finished.seqs.push(job.seq);
  if (status === 'completed') ctx.outbox.notices.push({ type: 'job.completed', job });
  else if (status === 'failed') ctx.outbox.notices.push({ type: 'job.failed', job });
  else ctx.outbox.notices.push({ type: 'job.cancelled', job });
  // A completion needs only its attempt record; a failure or a cancel rewrites the job.
  persist(ctx, job, status === 'completed' ? 'attempt' : 'record');
  evictFinished(ctx);
}

/** Cancels a job that has not finished; a running one is aborted. Finished or unknown ids are left alone. */
export function cancelJob(ctx: QueueContext, id: string): void {
  const job = lookupJob(ctx, id);
  if (!job || isFinalStatus(job.status)) return;
  if (job.status === 'running') {
    const attempt = job.attempts[job.attempts.length - 1]!;
    const error = queueError(
      'JOB_CANCELLED',
      `Job ${JSON.stringify(id)} (${job.name}) was cancelled by cancelJob() while attempt ${attempt.attempt} was running.`,
    );
    attempt.outcome = 'cancelled';
    attempt.finishedAt = ctx.now;
    attempt.error = error;
    releaseWorker(ctx, job);
    ctx.outbox.aborts.push({ id, attempt: attempt.attempt, reason: error });
  }
  finishJob(ctx, job, 'cancelled');
}

/** Records handler progress of the current attempt (clamped to 0..100). */
export function recordProgress(
  ctx: QueueContext,
  id: string,
  attempt: number,
  value: number,
  message: string | null,
): void {
  const job = currentAttempt(ctx, id, attempt);
  if (!job || !Number.isFinite(value)) return;
  const clamped = Math.min(100, Math.max(0, value));
  job.progress = { value: clamped, message, at: ctx.now };
  ctx.outbox.notices.push({
    type: 'job.progress',
    id,
    attempt,
    value: clamped,
    message,
    at: ctx.now,
  });
  persist(ctx, job);
}

/** Drops the oldest finished jobs beyond `keepFinishedJobs`, from memory and the store. */
function evictFinished(ctx: QueueContext): void {
  const log = ctx.finished;
  const keep = ctx.settings.keepFinishedJobs;
  while (
    ctx.counts.completed + ctx.counts.failed + ctx.counts.cancelled > keep &&
    log.head < log.ids.length
  ) {
    const id = log.ids[log.head]!;
    const seq = log.seqs[log.head]!;
    log.head++;
    const job = lookupJob(ctx, id);
    // A stale entry: the id was reused by a newer job since.
    if (!job || !isFinalStatus(job.status) || job.seq !== seq) continue;
    jobTable(ctx).delete(id);
    ctx.counts[job.status]--;
    if (ctx.settings.persist && job.durable) ctx.outbox.deletes.push(id);
  }
  // Compact now and then, so the log costs O(1) amortised per job.
  if (log.head > 1024 && log.head * 2 > log.ids.length) {
    log.ids = log.ids.slice(log.head);
    log.seqs = log.seqs.slice(log.head);
    log.head = 0;
  }
}

/** Adds finished jobs read back from the store to the retention log, oldest first. */
export function logFinished(ctx: QueueContext, jobs: JobRecord[]): void {
  jobs.sort((a, b) => (a.finishedAt ?? 0) - (b.finishedAt ?? 0));
  for (const job of jobs) {
    ctx.finished.ids.push(job.id);
    ctx.finished.seqs.push(job.seq);
  }
  evictFinished(ctx);
}
