/**
 * The events a {@link TaskQueue} reports, as a typed listener map:
 * `queue.on('completed', (result) => ...)` is checked by the compiler.
 */
import type { SerializedError } from '../../errors.js';
import { type JobResult, toJobResult } from '../../machines/queue/job.js';
import type { QueueNotice } from '../../machines/queue/queue-types.js';

/** The events of a `TaskQueue` and their listeners' arguments: `queue.on(name, listener)`. */
export interface TaskQueueListeners {
  /** An attempt started. */
  started: (event: { jobId: string; attempt: number; at: number }) => void;
  /** A handler called `ctx.progress()`. */
  progress: (event: {
    jobId: string;
    attempt: number;
    value: number;
    message: string | null;
    at: number;
  }) => void;
  /** An attempt failed (or timed out) and the job will run again at `retryAt`. */
  retrying: (event: {
    jobId: string;
    attempt: number;
    error: SerializedError;
    retryAt: number;
  }) => void;
  /** A job ended successfully. */
  completed: (result: JobResult) => void;
  /** The job failed for good: its last allowed attempt failed. */
  failed: (result: JobResult) => void;
  /** A job was cancelled with `cancelJob`. */
  cancelled: (result: JobResult) => void;
  /** The queue refused a job whose id was already active (see the dedup rule). */
  rejected: (event: { jobId: string; reason: string }) => void;
  /** Nothing is queued, running or waiting for a retry any more. */
  idle: (event: { at: number }) => void;
  /** The queue reached `stopped` (after `stop()`, once running jobs are done if graceful). */
  stopped: (event: { at: number }) => void;
  /** A store write failed, a stored job could not be read, or the queue actor failed. */
  error: (error: unknown) => void;
}

export type TaskQueueEventName = keyof TaskQueueListeners;

/** Which machine notice feeds which listener. */
export const NOTICE_TO_LISTENER: Readonly<Record<QueueNotice['type'], TaskQueueEventName>> = {
  'job.started': 'started',
  'job.progress': 'progress',
  'job.retrying': 'retrying',
  'job.completed': 'completed',
  'job.failed': 'failed',
  'job.cancelled': 'cancelled',
  'job.rejected': 'rejected',
  'queue.idle': 'idle',
  'queue.stopped': 'stopped',
};

/** The listener's argument for a machine notice. */
export function listenerPayload(event: QueueNotice): unknown {
  switch (event.type) {
    case 'job.started':
      return { jobId: event.id, attempt: event.attempt, at: event.at };
    case 'job.progress':
      return {
        jobId: event.id,
        attempt: event.attempt,
        value: event.value,
        message: event.message,
        at: event.at,
      };
    case 'job.retrying':
      return {
        jobId: event.id,
        attempt: event.attempt,
        error: event.error,
        retryAt: event.retryAt,
      };
    case 'job.completed':
    case 'job.failed':
    case 'job.cancelled':
      return toJobResult(event.job);
    case 'job.rejected':
      return { jobId: event.id, reason: event.reason };
    case 'queue.idle':
    case 'queue.stopped':
      return { at: event.at };
  }
}
