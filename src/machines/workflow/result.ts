import { defineKey } from '../../schemas/json-value.js';
import {
  isRunEnded,
  type TaskResult,
  type WorkflowResult,
  type WorkflowStatus,
} from '../../schemas/workflow-result.js';
import type { TaskRun, WorkflowContext } from './context.js';
import { stopReason } from './scheduler.js';
import { waitInfo } from './waits.js';

/** The public result of a run, built once when it ends. */
export function buildWorkflowResult(
  context: WorkflowContext,
  status: WorkflowStatus,
): WorkflowResult {
  const tasks: Record<string, TaskResult> = {};
  for (const task of context.definition.tasks) {
    defineKey(tasks, task.id, taskResult(task.id, task.agent, context.runs[task.id]!));
  }
  const finishedAt = context.lastEventAt;
  const waits = context.waits ? Object.values(context.waits).map(waitInfo) : [];
  return {
    workflowId: context.workflowId,
    name: context.definition.name,
    status,
    success: status === 'completed',
    tasks,
    totalExecutionTime: finishedAt - context.startedAt,
    startedAt: context.startedAt,
    finishedAt,
    context: context.shared,
    ...(waits.length > 0 ? { waits } : {}),
    // A run still going (a live or interrupted run's state) has not stopped.
    ...(status !== 'completed' && isRunEnded(status)
      ? { stopReason: stopReason(context, status) }
      : {}),
    // What a saga rollback undid and what it could not (the schema's `compensation`).
    ...(context.compensation
      ? {
          compensation: {
            compensated: [...context.compensation.compensated],
            failed: context.compensation.failed.map((f) => ({ ...f })),
            ...(context.compensation.outputs ? { outputs: context.compensation.outputs } : {}),
          },
        }
      : {}),
    ...(context.failure
      ? {
          error: {
            ...context.failure.error,
            message: `task "${context.failure.taskId}" failed: ${context.failure.error.message}`,
          },
        }
      : {}),
    ...(status === 'cancelled' && context.cancelReason
      ? { error: { name: 'CancelledError', message: context.cancelReason } }
      : {}),
  };
}

/**
 * One task's entry of the result, its optional fields in a fixed order. Set
 * one by one, not spread from conditional object literals: this runs for
 * every task of a run, and each literal was an object made and thrown away.
 */
function taskResult(taskId: string, agent: string, run: TaskRun): TaskResult {
  const result: TaskResult = { taskId, agent, status: run.status, attempts: run.attempts };
  if (run.output !== undefined) result.output = run.output;
  if (run.error) result.error = run.error;
  if (run.startedAt !== undefined) result.startedAt = run.startedAt;
  if (run.lastAttemptStartedAt !== undefined)
    result.lastAttemptStartedAt = run.lastAttemptStartedAt;
  if (run.failedAttempts) result.failedAttempts = run.failedAttempts;
  if (run.finishedAt !== undefined) result.finishedAt = run.finishedAt;
  if (run.skipReason) result.skipReason = run.skipReason;
  if (run.progress !== undefined) result.progress = run.progress;
  if (run.progressMessage) result.progressMessage = run.progressMessage;
  return result;
}
