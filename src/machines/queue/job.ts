/**
 * Jobs of the task queue: what a caller hands in ({@link JobInput}), what the
 * queue keeps and stores ({@link JobRecord}, plain JSON so it survives a store
 * round trip and an XState snapshot restore), and what a caller gets back
 * ({@link JobResult}, {@link JobInfo}).
 */
import type { SerializedError } from '../../errors.js';
import type { BackoffPolicy } from '../backoff.js';

/** Scheduling priority: a higher value runs first. */
export const JobPriority = {
  LOW: 1,
  NORMAL: 2,
  HIGH: 3,
  URGENT: 4,
} as const;
export type JobPriority = (typeof JobPriority)[keyof typeof JobPriority];

/** Where a job is in its life. The last three are final. */
export const JobStatus = {
  /** Waiting for its `runAt` time (from `schedule()`). */
  SCHEDULED: 'scheduled',
  /** Ready; waits for a worker and a rate-limit token. */
  QUEUED: 'queued',
  /** Its handler is running. */
  RUNNING: 'running',
  /** An attempt failed; waits for its backoff to pass. */
  RETRYING: 'retrying',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
} as const;
export type JobStatus = (typeof JobStatus)[keyof typeof JobStatus];

export const JOB_STATUSES: readonly JobStatus[] = Object.values(JobStatus);

export type FinalJobStatus = 'completed' | 'failed' | 'cancelled';

export function isFinalStatus(status: JobStatus): status is FinalJobStatus {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** What a handler receives. */
export interface JobContext<A extends readonly unknown[] = readonly unknown[]> {
  readonly jobId: string;
  readonly name: string;
  /** 1 for the first run; a run repeated after a crash gets the next number. */
  readonly attempt: number;
  readonly args: A;
  /**
   * Aborted when the attempt times out, the job is cancelled or the queue
   * stops without grace. `signal.reason` is a `TroupeError` saying which.
   */
  readonly signal: AbortSignal;
  /** Reports progress, 0..100 (clamped), with an optional message. */
  progress(value: number, message?: string): void;
}

/**
 * A job's work. Its return value becomes `JobResult.result`; for durable jobs
 * it must be plain JSON (it is stored).
 */
export type JobHandler<A extends readonly unknown[] = readonly unknown[], R = unknown> = (
  ctx: JobContext<A>,
) => R | Promise<R>;

/** A job as handed to `enqueue()` / `schedule()`. */
export interface JobInput<A extends readonly unknown[] = readonly unknown[]> {
  /** Unique while the job is active; generated when omitted. No `/`. */
  id?: string;
  /** A label for people (logs, inspector). */
  name: string;
  /**
   * The name of a handler registered with `register()` (durable: the job
   * survives a restart), or a function (not durable: lost on restart).
   */
  handler: string | JobHandler<A>;
  /** Passed to the handler as `ctx.args`; plain JSON for named handlers. @default [] */
  args?: A;
  /** @default JobPriority.NORMAL */
  priority?: JobPriority;
  /** Retries after the first failed attempt. @default the queue's `maxRetries` */
  maxRetries?: number;
  /** Per-attempt time limit; exceeding it aborts the handler. @default no limit */
  timeoutSeconds?: number;
  /** Overrides parts of the queue's retry backoff for this job. */
  backoff?: Partial<BackoffPolicy>;
}

/** One run of a job's handler. */
export interface JobAttempt {
  attempt: number;
  startedAt: number;
  finishedAt: number | null;
  /** Epoch ms at which the attempt times out, or null. */
  deadline: number | null;
  /** `interrupted`: stopped by a crash or a non-graceful stop; not counted as a failure. */
  outcome: 'running' | 'completed' | 'failed' | 'timed_out' | 'cancelled' | 'interrupted';
  error: SerializedError | null;
}

export interface JobProgress {
  value: number;
  message: string | null;
  at: number;
}

/**
 * The queue's record of a job: plain JSON, mutated in place by the queue
 * machine only, stored under its id in the `jobs` collection.
 */
export interface JobRecord {
  id: string;
  name: string;
  /** Registered handler name; null for a function handler (not durable). */
  handler: string | null;
  args: readonly unknown[];
  priority: JobPriority;
  maxRetries: number;
  timeoutMs: number | null;
  backoff: BackoffPolicy;
  status: JobStatus;
  /** FIFO position within its priority; taken from the queue's sequence on every (re)queue. */
  seq: number;
  /** Sequence number of the job's one live timer (schedule, retry or timeout); stale timers differ. */
  timerSeq: number | null;
  createdAt: number;
  /** Due time while scheduled or retrying. */
  runAt: number | null;
  finishedAt: number | null;
  attempts: JobAttempt[];
  /** Failed attempts so far (timeouts included, interruptions not). */
  failures: number;
  progress: JobProgress | null;
  result?: unknown;
  /** Written to the store (named handler and a store configured). */
  durable: boolean;
}

/** The outcome of a finished job, as `waitForJob()` resolves it. */
export interface JobResult {
  jobId: string;
  name: string;
  status: FinalJobStatus;
  /** The handler's return value when completed. */
  result?: unknown;
  /** The last attempt's error when failed or cancelled while running. */
  error?: SerializedError;
  /** Every failed attempt's error, oldest first. */
  errors: SerializedError[];
  /** Runs of the handler, interrupted ones included. */
  attempts: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number;
  /** finishedAt - createdAt. */
  durationMs: number;
}

/** A copy of a job's state, as `getJob()` returns it. */
export interface JobInfo {
  id: string;
  name: string;
  /** Registered handler name, or null for a function handler. */
  handler: string | null;
  args: readonly unknown[];
  priority: JobPriority;
  status: JobStatus;
  maxRetries: number;
  timeoutSeconds: number | null;
  progress: JobProgress | null;
  attempts: JobAttempt[];
  result?: unknown;
  error?: SerializedError;
  createdAt: number;
  runAt: number | null;
  startedAt: number | null;
  finishedAt: number | null;
  durable: boolean;
}

function attemptErrors(record: JobRecord): SerializedError[] {
  const errors: SerializedError[] = [];
  for (const attempt of record.attempts) if (attempt.error) errors.push(attempt.error);
  return errors;
}

function lastError(record: JobRecord): SerializedError | undefined {
  const last = record.attempts[record.attempts.length - 1];
  return last?.error ?? undefined;
}

/** Builds the result of a finished job. */
export function toJobResult(record: JobRecord): JobResult {
  const status = record.status as FinalJobStatus;
  const finishedAt = record.finishedAt ?? record.createdAt;
  const result: JobResult = {
    jobId: record.id,
    name: record.name,
    status,
    errors: attemptErrors(record),
    attempts: record.attempts.length,
    createdAt: record.createdAt,
    startedAt: record.attempts[0]?.startedAt ?? null,
    finishedAt,
    durationMs: finishedAt - record.createdAt,
  };
  if (status === 'completed') result.result = record.result;
  else {
    const error = lastError(record);
    if (error) result.error = error;
  }
  return result;
}

/**
 * A copy of a record in its public shape, so callers cannot reach the queue's
 * state through it. Values that cannot be cloned (possible only for function
 * handler jobs) are passed through as they are.
 */
export function toJobInfo(record: JobRecord): JobInfo {
  const attempts = record.attempts.map((attempt) => ({
    ...attempt,
    error: attempt.error ? { ...attempt.error } : null,
  }));
  const info: JobInfo = {
    id: record.id,
    name: record.name,
    handler: record.handler,
    args: cloneIfPossible(record.args),
    priority: record.priority,
    status: record.status,
    maxRetries: record.maxRetries,
    timeoutSeconds: record.timeoutMs === null ? null : record.timeoutMs / 1000,
    progress: record.progress ? { ...record.progress } : null,
    attempts,
    createdAt: record.createdAt,
    runAt: record.runAt,
    startedAt: attempts[0]?.startedAt ?? null,
    finishedAt: record.finishedAt,
    durable: record.durable,
  };
  if (record.status === 'completed') info.result = cloneIfPossible(record.result);
  const error = attempts[attempts.length - 1]?.error;
  if (error) info.error = error;
  return info;
}

function cloneIfPossible<T>(value: T): T {
  try {
    return structuredClone(value);
  } catch {
    return value;
  }
}
