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
import { checkValue } from '../../schemas/value-check.js';
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
 * @throws TroupeError `INVALID_JOB` for an unregistered handler name; for a
 * durable job, `INVALID_VALUE` for args that are not plain JSON and
 * `VALUE_TOO_LARGE` for args over `maxJobBytes`.
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
  if (named === null && options.shared !== null) {
    throw new TroupeError(
      'INVALID_JOB',
      `${api} rejected job ${JSON.stringify(id)}: a queue shared through PostgreSQL runs jobs in any of its processes, so a job names a registered handler; a function cannot travel. Register it with queue.register(name, fn) in the worker processes and pass its name.`,
      { jobId: id, issues: ['job.handler: must be a handler name in a shared queue'] },
    );
  }
  // A shared queue's handlers are registered in its worker processes, not
  // necessarily in the one that enqueues.
  if (named !== null && options.shared === null && !handlers.has(named)) {
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
  // Jobs with named handlers are stored; function-handler jobs live in memory
  // only. No args (the shared empty array) need no check.
  if (named !== null && args !== NO_ARGS)
    checkValue(
      args,
      jobValueCheck(
        () => `${api} rejected job ${JSON.stringify(id)}`,
        id,
        'job.args',
        options.maxJobBytes,
      ),
    );
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

/** How a stored job's args (and result) are checked: the JSON rule and `maxJobBytes`. */
export function jobValueCheck(
  subject: () => string,
  jobId: string,
  root: string,
  maxJobBytes: number,
) {
  return {
    subject,
    root,
    context: { jobId },
    limit: {
      name: 'maxJobBytes',
      max: maxJobBytes,
      raise: 'createRuntime({ limits: { maxJobBytes } }) or new TaskQueue({ maxJobBytes })',
    },
  };
}
