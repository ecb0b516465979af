/**
 * Why a task ended `cancelled`, in the words of the engine's `task.cancelled`
 * event, so a page tells it the same way whether it watched the run, joined
 * late or opened the stored result.
 *
 * - A task whose attempt or wait a cancel (or a failing run) aborted was
 *   settled then: it has an end (`finishedAt`) and the abort as its error,
 *   and that error is the event's reason.
 * - A task that never settled (pending, or a retry waiting out its backoff)
 *   was cancelled when the run stopped, with the run's reason: the cancel's
 *   reason, else the failure that stopped the run. It is the same for all of
 *   them, so it travels once per run ({@link RunDetail.stopReason}), not
 *   once per task; such a task may still carry an earlier attempt's error,
 *   which is not why it was cancelled.
 *
 * A live run's reason is `earlyStopReason` of its context (scheduler.ts), a
 * stored run's its result's `stopReason`, built by the same words.
 * This file imports only types: the page bundles it.
 */
import type { RunDetail, TaskDelta } from './protocol.js';

/** Why `task` was cancelled, given its run's {@link RunDetail.stopReason}; undefined for a task not cancelled. */
export function taskCancelReason(
  task: TaskDelta,
  stopReason: RunDetail['stopReason'],
): string | undefined {
  if (task.status !== 'cancelled') return undefined;
  if (task.finishedAt !== undefined && task.error !== undefined) return task.error;
  return stopReason;
}
