/**
 * The saga rule, as pure functions over a run's context.
 *
 * When a saga run fails for good (or is cancelled with `compensate: true`),
 * the completed tasks that name a `compensation`, and the completed child
 * workflows (tasks of kind `workflow`, whose own completed steps are rolled
 * back), are undone one at a time in reverse completion order. A failing step is retried with backoff
 * ({@link COMPENSATION_RETRY}); a step that still fails is recorded and the
 * rollback goes on with the next one, so one broken handler does not leave
 * everything else in place. The run ends `compensated` if every step
 * succeeded, `compensation_failed` (listing the failures) otherwise.
 */
import type { SerializedError } from '../../errors.js';
import { dict } from '../../schemas/dict.js';
import type { TaskDefinition } from '../../schemas/workflow-definition.js';
import { type BackoffPolicy, backoffDelay } from '../backoff.js';
import { type CompensationRequest, workflowSystemId } from '../protocol.js';
import type { CompensationState, WorkflowContext } from './context.js';
import { taskDefinition } from './scheduler.js';
import { childRunId } from './waits.js';

/** Attempts and backoff of each compensation step. */
export const COMPENSATION_RETRY: BackoffPolicy & { maxAttempts: number } = {
  maxAttempts: 3,
  initialDelayMs: 100,
  factor: 2,
  maxDelayMs: 5_000,
  jitter: 0.2,
};

/** Whether a run that stopped should roll back before it ends. */
export function shouldCompensate(context: WorkflowContext): boolean {
  const wanted =
    context.cancelReason !== undefined
      ? context.compensateOnCancel === true
      : context.definition.saga;
  return wanted && context.completionOrder.some((id) => undoable(taskDefinition(context, id)));
}

/** A completed task a rollback undoes: it names a handler, or it ran a child workflow. */
function undoable(task: TaskDefinition): boolean {
  return task.compensation !== undefined || task.kind === 'workflow';
}

export function beginCompensation(context: WorkflowContext): CompensationState {
  const queue = [...context.completionOrder]
    .reverse()
    .filter((id) => undoable(taskDefinition(context, id)));
  context.compensation = { queue, next: 0, attempts: 0, compensated: [], failed: [] };
  return context.compensation;
}

/** The request for the step under way, starting a new attempt; undefined when every step is done. */
export function nextCompensationRequest(context: WorkflowContext): CompensationRequest | undefined {
  const state = context.compensation!;
  const taskId = state.queue[state.next];
  if (taskId === undefined) return undefined;
  state.attempts++;
  state.retryAt = undefined;
  const task = taskDefinition(context, taskId);
  return {
    type: 'compensate',
    workflowId: context.workflowId,
    workflowName: context.definition.name,
    taskId,
    ...(task.compensation !== undefined ? { compensation: task.compensation } : {}),
    ...(task.kind === 'workflow' ? { childId: childRunId(context.workflowId, taskId) } : {}),
    attempt: state.attempts,
    output: context.runs[taskId]!.output,
    replyTo: workflowSystemId(context.workflowId),
  };
}

/** True if the report is about the attempt under way (not a stale duplicate). */
export function isCurrentStep(
  context: WorkflowContext,
  report: { taskId: string; attempt: number },
): boolean {
  const state = context.compensation;
  return (
    state !== undefined &&
    state.queue[state.next] === report.taskId &&
    state.attempts === report.attempt &&
    state.retryAt === undefined
  );
}

export function recordStepCompleted(context: WorkflowContext, at: number, output: unknown): void {
  const state = context.compensation!;
  const taskId = state.queue[state.next]!;
  context.lastEventAt = at;
  state.compensated.push(taskId);
  if (output !== undefined) {
    state.outputs ??= dict();
    state.outputs[taskId] = output;
  }
  state.next++;
  state.attempts = 0;
}

/** A step failed: returns when to retry it, or undefined if it was given up and the rollback moves on. */
export function recordStepFailed(
  context: WorkflowContext,
  at: number,
  error: SerializedError,
): number | undefined {
  const state = context.compensation!;
  const taskId = state.queue[state.next]!;
  context.lastEventAt = at;
  if (state.attempts < COMPENSATION_RETRY.maxAttempts) {
    state.retryAt =
      at +
      backoffDelay(
        COMPENSATION_RETRY,
        state.attempts,
        `${context.workflowId}:${taskId}:compensate:${state.attempts}`,
      );
    return state.retryAt;
  }
  state.failed.push({ taskId, error });
  state.next++;
  state.attempts = 0;
  return undefined;
}

export function compensationDone(context: WorkflowContext): boolean {
  const state = context.compensation;
  return state !== undefined && state.next >= state.queue.length;
}
