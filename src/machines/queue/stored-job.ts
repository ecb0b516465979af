/**
 * How a durable job is laid out in the store's `jobs` collection.
 *
 * - `<id>`: the job's full record, written at enqueue and on every change
 *   other than the two below (retry, failure, cancel, progress, re-queue).
 * - `<id>/a`: an attempt record, written when an attempt starts
 *   (`{ attempt, startedAt, deadline }`) and again when it completes (plus
 *   `finishedAt` and `result`).
 *
 * The attempt record replaces rewriting the whole job (its args, backoff and
 * attempt history) twice per run: a run costs a record of about 60 bytes in
 * place of two of about 450. Job ids never contain `/`, so the keys cannot
 * collide. A full record write deletes the job's attempt record in the same
 * atomic batch (the full record says everything), so a stored job is always
 * its full record plus at most the attempt record written after it.
 * {@link foldStoredJob} adds them up on recovery; a data folder written
 * before attempt records existed holds full records only, which load
 * unchanged.
 *
 * Pure: the persister encodes attempt records at commit time, recovery folds them.
 */
import type { JobRecord } from './job.js';

/** Store key of a job's attempt record. */
export function attemptKey(id: string): string {
  return `${id}/a`;
}

/** The job id of a key of the `jobs` collection, and whether it is an attempt record's. */
export function parseJobKey(key: string): { id: string; attempt: boolean } {
  if (key.endsWith('/a')) return { id: key.slice(0, -2), attempt: true };
  return { id: key, attempt: false };
}

/** A started attempt; `finishedAt` (and the result) once it completed. */
export interface AttemptRecord {
  attempt: number;
  startedAt: number;
  deadline: number | null;
  finishedAt?: number;
  result?: unknown;
}

/** The attempt record of the job's latest attempt, running or completed. */
export function attemptRecordOf(job: JobRecord): AttemptRecord {
  const attempt = job.attempts[job.attempts.length - 1]!;
  const record: AttemptRecord = {
    attempt: attempt.attempt,
    startedAt: attempt.startedAt,
    deadline: attempt.deadline,
  };
  if (job.status === 'completed') {
    record.finishedAt = job.finishedAt ?? attempt.finishedAt ?? attempt.startedAt;
    if (job.result !== undefined) record.result = job.result;
  }
  return record;
}

/**
 * Whether `attempt` is the job's next attempt, or its running one: an
 * attempt record about any other attempt is stale and ignored (the full
 * record is newer than it).
 */
function isCurrentAttempt(job: JobRecord, attempt: number): boolean {
  const { attempts } = job;
  if (attempts.length === attempt - 1) return true;
  return attempts.length === attempt && attempts[attempt - 1]!.outcome === 'running';
}

/** The job as its full record and attempt record say, mutating `job`. */
export function foldStoredJob(job: JobRecord, attempt: AttemptRecord | undefined): JobRecord {
  if (attempt === undefined || !isCurrentAttempt(job, attempt.attempt)) return job;
  if (job.status === 'completed' || job.status === 'failed' || job.status === 'cancelled') {
    return job;
  }
  const finishedAt = attempt.finishedAt ?? null;
  job.attempts[attempt.attempt - 1] = {
    attempt: attempt.attempt,
    startedAt: attempt.startedAt,
    finishedAt,
    deadline: attempt.deadline,
    outcome: finishedAt === null ? 'running' : 'completed',
    error: null,
  };
  job.runAt = null;
  if (finishedAt === null) {
    job.status = 'running';
    return job;
  }
  job.status = 'completed';
  job.finishedAt = finishedAt;
  if (attempt.result !== undefined) job.result = attempt.result;
  return job;
}
