import { defineKey } from '../../schemas/json-value.js';
import type { TaskResult, WorkflowResult, WorkflowStatus } from '../../schemas/workflow-result.js';
import type { WorkflowContext } from './context.js';
import { waitInfo } from './waits.js';

/** The public result of a run, built once when it ends. */
export function buildWorkflowResult(
  context: WorkflowContext,
  status: WorkflowStatus,
): WorkflowResult {
  const tasks: Record<string, TaskResult> = {};
  for (const task of context.definition.tasks) {
    const run = context.runs[task.id]!;
    defineKey(tasks, task.id, {
      taskId: task.id,
      agent: task.agent,
      status: run.status,
      attempts: run.attempts,
      ...(run.output === undefined ? {} : { output: run.output }),
      ...(run.error ? { error: run.error } : {}),
      ...(run.startedAt === undefined ? {} : { startedAt: run.startedAt }),
      ...(run.finishedAt === undefined ? {} : { finishedAt: run.finishedAt }),
      ...(run.skipReason ? { skipReason: run.skipReason } : {}),
      ...(run.progress === undefined ? {} : { progress: run.progress }),
      ...(run.progressMessage ? { progressMessage: run.progressMessage } : {}),
    });
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
    // What a saga rollback undid and what it could not (the schema's `compensation`).
    ...(context.compensation
      ? {
          compensation: {
            compensated: [...context.compensation.compensated],
            failed: context.compensation.failed.map((f) => ({ ...f })),
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
