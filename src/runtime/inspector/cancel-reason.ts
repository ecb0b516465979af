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
 * A live run's reason is `earlyStopReason` of its context (scheduler.ts).
 * This file imports only types: the page bundles it.
 */
import type { WorkflowResult } from '../../schemas/workflow-result.js';
import type { RunDetail, TaskDelta } from './protocol.js';

/** The same, read from a stored result (results stored before `stopReason` give their error). */
export function stopReasonOfResult(result: WorkflowResult): string | undefined {
  if (result.status === 'completed' || result.status === 'running' || result.status === 'paused')
    return undefined;
  return result.stopReason ?? result.error?.message ?? `the run ended ${result.status}`;
}

/** Why `task` was cancelled, given its run's {@link RunDetail.stopReason}; undefined for a task not cancelled. */
export function taskCancelReason(
  task: TaskDelta,
  stopReason: RunDetail['stopReason'],
): string | undefined {
  if (task.status !== 'cancelled') return undefined;
  if (task.finishedAt !== undefined && task.error !== undefined) return task.error;
  return stopReason;
}
