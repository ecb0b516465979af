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
 * The last function is pure and shared with the page.
 */
import type { WorkflowContext } from '../../machines/workflow/context.js';
import type { WorkflowResult } from '../../schemas/workflow-result.js';
import type { RunDetail, TaskDelta } from './protocol.js';

/** The reason a stopping run gives the tasks it cancels, or undefined while it runs on. */
export function stopReasonOfContext(context: WorkflowContext): string | undefined {
  if (context.cancelReason !== undefined) return context.cancelReason;
  return context.failure ? failureReason(context.failure.taskId) : undefined;
}

/** The same, read from a stored result (see the module notes for what a result cannot tell). */
export function stopReasonOfResult(result: WorkflowResult): string | undefined {
  if (result.status === 'completed') return undefined;
  const error = result.error?.message;
  if (result.status === 'cancelled') return error ?? '';
  // The result names the failure as `task "<id>" failed: <its error>`: find the task it names.
  for (const task of Object.values(result.tasks)) {
    if (
      task.status === 'failed' &&
      error === `task "${task.taskId}" failed: ${task.error?.message}`
    )
      return failureReason(task.taskId);
  }
  return error ?? `the run ended ${result.status}`;
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

function failureReason(taskId: string): string {
  return `the run stopped: task "${taskId}" failed`;
}
