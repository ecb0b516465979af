/**
 * The queue machine's data and protocols: its context (plain JSON, so a
 * snapshot of it survives `JSON.stringify` and a restore), the events it
 * accepts, the commands it sends to its job runner and persister, and the
 * events it emits.
 *
 * Every event carries `at`, the sender's clock reading in epoch ms: the
 * machine never reads a clock itself, which keeps it pure and lets a
 * simulated clock drive it.
 */
import type { SerializedError } from '../../errors.js';
import type { JobRecord, JobStatus } from './job.js';
import type { JobTable, JobTableJson } from './job-table.js';
import type { PriorityHeap } from './priority-heap.js';
import type { ReadyQueue } from './ready-queue.js';
import type { TokenBucket } from './token-bucket.js';

/** The machine's input: the queue options it needs, already validated. */
export interface QueueSettings {
  maxWorkers: number;
  /** null: no rate limit. */
  maxJobsPerSecond: number | null;
  rateLimitBurst: number;
  /** Finished jobs kept (in memory and in the store) for `getJob`/`waitForJob`. */
  keepFinishedJobs: number;
  /** A store is attached: durable jobs are written through the persister. */
  persist: boolean;
}

/** Finished job ids, oldest first, for retention; `seqs` tell stale entries apart. */
export interface FinishedLog {
  ids: string[];
  seqs: number[];
  head: number;
}

/** Finished jobs per second over the last {@link THROUGHPUT_WINDOW_S} seconds (a ring of slots). */
export interface ThroughputWindow {
  seconds: number[];
  counts: number[];
}
export const THROUGHPUT_WINDOW_S = 10;

export interface QueueTotals {
  enqueued: number;
  started: number;
  completed: number;
  failed: number;
  cancelled: number;
  retried: number;
  timedOut: number;
}

/** Totals of a queue that has done nothing yet. */
export function emptyTotals(): QueueTotals {
  return {
    enqueued: 0,
    started: 0,
    completed: 0,
    failed: 0,
    cancelled: 0,
    retried: 0,
    timedOut: 0,
  };
}

/** One handler run the runner must start. */
export interface RunOrder {
  id: string;
  name: string;
  attempt: number;
  handler: string | null;
  args: readonly unknown[];
  durable: boolean;
}

/** One handler run the runner must abort. */
export interface AbortOrder {
  id: string;
  attempt: number;
  reason: SerializedError;
}

/** How one handler run ended, as the runner reports it. */
export type JobOutcome =
  | { id: string; attempt: number; ok: true; result: unknown }
  | { id: string; attempt: number; ok: false; error: SerializedError; retryable: boolean };

/** Effects decided during one step, carried out at its end (queue-machine.ts, carryOut()). */
export interface Outbox {
  runs: RunOrder[];
  aborts: AbortOrder[];
  /** Jobs whose full record must be written. */
  writes: JobRecord[];
  /** Jobs whose attempt started or completed: only a small attempt record is written. */
  attempts: JobRecord[];
  deletes: string[];
  notices: QueueNotice[];
  /** The wake-up timer must be re-armed from `wakeAt`. */
  rearm: boolean;
}

export interface QueueContext {
  settings: QueueSettings;
  /** Latest time seen on an event (monotonic). */
  now: number;
  /** Read and write through `jobTable(ctx)`: after a snapshot restore this is the JSON form. */
  jobs: JobTable | JobTableJson;
  /** Queued jobs by priority, then seq. */
  ready: ReadyQueue;
  /** Scheduled, retrying and time-limited running jobs by (due time, timerSeq). */
  timers: PriorityHeap;
  nextSeq: number;
  running: number;
  bucket: TokenBucket | null;
  /** Jobs held right now, per status. */
  counts: Record<JobStatus, number>;
  totals: QueueTotals;
  finished: FinishedLog;
  throughput: ThroughputWindow;
  /** Due time of the armed wake-up timer. Timers are not in snapshots: `queue.recover` re-arms. */
  wakeAt: number | null;
  /** No job queued, running or waiting for a retry (a `queue.idle` notice went out). */
  idle: boolean;
  outbox: Outbox;
}

export type QueueEvent =
  | { type: 'queue.start'; at: number }
  | { type: 'queue.stop'; at: number; graceful: boolean }
  /**
   * Sent by the runner when it starts (also after a snapshot restore): jobs
   * marked running were interrupted and are re-queued, timers are re-armed.
   */
  | { type: 'queue.recover'; at: number }
  /** Jobs read back from the store; ids already held are skipped. */
  | { type: 'queue.load'; at: number; jobs: JobRecord[] }
  | { type: 'queue.wake'; at: number }
  /**
   * New jobs (status `queued`, or `scheduled` with `runAt`). `unique`: no
   * other job has any of these ids (made by the default generator), so the
   * duplicate check is skipped; a Map lookup per job at a million jobs held.
   */
  | { type: 'job.enqueue'; at: number; jobs: JobRecord[]; unique?: boolean }
  | { type: 'job.cancel'; at: number; id: string }
  | {
      type: 'job.progress';
      at: number;
      id: string;
      attempt: number;
      value: number;
      message: string | null;
    }
  | { type: 'job.settled'; at: number; outcomes: JobOutcome[] };

/** Commands to the job runner. */
export type RunnerCommand = { type: 'runner.commands'; runs: RunOrder[]; aborts: AbortOrder[] };

/**
 * Commands to the persister: jobs whose full record to put, jobs whose
 * attempt record to put (see stored-job.ts), ids to delete.
 */
export type PersisterCommand = {
  type: 'persist';
  puts: JobRecord[];
  attempts: JobRecord[];
  deletes: string[];
};

/**
 * What happened to jobs and to the queue. They are emitted in one
 * `queue.notices` event per transition: an XState emit per job would cost more
 * than running a no-op job.
 */
export type QueueNotice =
  | { type: 'job.started'; id: string; attempt: number; at: number }
  | {
      type: 'job.progress';
      id: string;
      attempt: number;
      value: number;
      message: string | null;
      at: number;
    }
  | { type: 'job.retrying'; id: string; attempt: number; error: SerializedError; retryAt: number }
  /**
   * A job finished. `job` is its record, which is never mutated once final;
   * `toJobResult(job)` builds the result (done lazily: most jobs have no waiter).
   */
  | { type: 'job.completed'; job: Readonly<JobRecord> }
  | { type: 'job.failed'; job: Readonly<JobRecord> }
  | { type: 'job.cancelled'; job: Readonly<JobRecord> }
  | { type: 'job.rejected'; id: string; reason: string }
  | { type: 'queue.idle'; at: number }
  | { type: 'queue.stopped'; at: number };

export type QueueEmitted = { type: 'queue.notices'; notices: QueueNotice[] };
