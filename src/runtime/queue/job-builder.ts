/**
 * Turns a validated {@link JobInput} into the record the queue machine keeps.
 * Checks what the schema cannot: that a named handler is registered and that
 * a durable job's args are plain JSON.
 */

import type { JobHandlerRegistry } from '../../actors/queue/job-handlers.js';
import { TroupeError } from '../../errors.js';
import {
  type JobHandler,
  type JobInput,
  JobPriority,
  type JobRecord,
} from '../../machines/queue/job.js';
import { findNonJson } from '../../machines/queue/plain-json.js';
import type { ResolvedTaskQueueOptions } from './task-queue-options.js';

/** Shared by every job without args; frozen, as records never change their args. */
const NO_ARGS: readonly unknown[] = Object.freeze([]);

export interface BuiltJob {
  record: JobRecord;
  /** The function handler, for jobs that carry one. */
  fn: JobHandler | null;
}

/**
 * @param runAt due time for `schedule()`, null for `enqueue()`.
 * @throws TroupeError `INVALID_JOB` for an unregistered handler name or non-JSON args.
 */
export function buildJobRecord(
  job: JobInput,
  runAt: number | null,
  api: string,
  options: ResolvedTaskQueueOptions,
  handlers: JobHandlerRegistry,
): BuiltJob {
  const id = job.id ?? options.generateId();
  const named = typeof job.handler === 'string' ? job.handler : null;
  if (named !== null && !handlers.has(named)) {
    throw new TroupeError(
      'INVALID_JOB',
      `${api} rejected job ${JSON.stringify(id)}: no handler named ${JSON.stringify(named)} is registered. Call queue.register(${JSON.stringify(named)}, fn) first.`,
      {
        jobId: id,
        issues: [`job.handler: no handler named ${JSON.stringify(named)} is registered`],
      },
    );
  }
  const args = job.args ?? NO_ARGS;
  const issue = named === null ? undefined : findNonJson(args, 'job.args');
  if (issue) {
    throw new TroupeError(
      'INVALID_JOB',
      `${api} rejected job ${JSON.stringify(id)}: ${issue}. Jobs with named handlers are stored, so their args must be plain JSON.`,
      { jobId: id, issues: [issue] },
    );
  }
  const now = options.clock.now();
  const record: JobRecord = {
    id,
    name: job.name,
    handler: named,
    args,
    priority: job.priority ?? JobPriority.NORMAL,
    maxRetries: job.maxRetries ?? options.maxRetries,
    timeoutMs: job.timeoutSeconds === undefined ? null : Math.ceil(job.timeoutSeconds * 1000),
    // Shared, frozen default: one object for all jobs that do not override it.
    backoff: job.backoff ? { ...options.backoff, ...job.backoff } : options.backoff,
    status: runAt === null ? 'queued' : 'scheduled',
    seq: 0,
    timerSeq: null,
    createdAt: now,
    runAt,
    finishedAt: null,
    attempts: [],
    failures: 0,
    progress: null,
    durable: named !== null && options.store !== null,
  };
  return { record, fn: named === null ? (job.handler as JobHandler) : null };
}
