/**
 * A task's earlier attempts, kept in its run state so that the inspector and
 * the stored result list every attempt after a restart too: the journal that
 * held them is compacted at each checkpoint.
 *
 * Only attempts that failed and were retried are kept here; the last attempt
 * is the task itself (its status, output or error, `finishedAt`). Retries are
 * rare, so a 10,000-task run that goes well stores nothing more.
 */
import type { SerializedError } from '../../errors.js';
import type { TaskRun } from './context.js';

/** An attempt that failed and was retried. Plain JSON: it is part of persisted snapshots. */
export interface FailedAttempt {
  /** 1 for the first attempt. */
  attempt: number;
  /** Epoch ms it started; absent when its report did not say (journals from before reports carried it). */
  startedAt?: number;
  /** Epoch ms it failed. */
  endedAt: number;
  /** Its error, without the stack and with the message clipped to {@link MAX_KEPT_MESSAGE} characters. */
  error: SerializedError;
}

/**
 * Failed attempts a task keeps, the newest: each is in every snapshot of the
 * run, and a policy may allow hundreds of attempts.
 */
export const MAX_FAILED_ATTEMPTS = 20;

/** Characters of an earlier attempt's error message kept (the last attempt's error is kept whole in the task). */
export const MAX_KEPT_MESSAGE = 2_000;

/** An attempt's error message as kept and shown: clipped to {@link MAX_KEPT_MESSAGE} characters and `…`. */
export function keptMessage(message: string): string {
  return message.length > MAX_KEPT_MESSAGE ? `${message.slice(0, MAX_KEPT_MESSAGE)}…` : message;
}

/** When an attempt's report says it started: the task's start is its first attempt's. */
export function recordAttemptStart(run: TaskRun, startedAt: number | undefined): void {
  if (startedAt === undefined) return;
  run.startedAt ??= startedAt;
  if (run.attempts > 1) run.lastAttemptStartedAt = startedAt;
}

/** The attempt under way failed and will be retried: it joins the task's history. */
export function rememberFailedAttempt(run: TaskRun, endedAt: number, error: SerializedError): void {
  const failed: FailedAttempt = {
    attempt: run.attempts,
    endedAt,
    error: {
      name: error.name,
      message: keptMessage(error.message),
      ...(error.code === undefined ? {} : { code: error.code }),
    },
  };
  const startedAt = run.attempts === 1 ? run.startedAt : run.lastAttemptStartedAt;
  if (startedAt !== undefined) failed.startedAt = startedAt;
  run.lastAttemptStartedAt = undefined;
  run.failedAttempts ??= [];
  run.failedAttempts.push(failed);
  if (run.failedAttempts.length > MAX_FAILED_ATTEMPTS) run.failedAttempts.shift();
}
