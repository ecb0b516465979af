import { z } from 'zod';
import { TASK_STATUSES } from './task-statuses.js';

export const taskStatusSchema = z.enum(TASK_STATUSES);
/** Status of a task: pending, running, retrying, waiting, completed, failed, skipped or cancelled. */
export type TaskStatus = z.infer<typeof taskStatusSchema>;

export const workflowStatusSchema = z.enum([
  'running',
  'paused',
  'completed',
  'failed',
  'compensated',
  'compensation_failed',
  'cancelled',
]);
/** Status of a run: running or paused, then completed, failed, compensated, compensation_failed or cancelled. */
export type WorkflowStatus = z.infer<typeof workflowStatusSchema>;

/** Whether a run with this status has ended (it is neither running nor paused). */
export function isRunEnded(status: WorkflowStatus): boolean {
  return status !== 'running' && status !== 'paused';
}

export const serializedErrorSchema = z.object({
  name: z.string(),
  message: z.string(),
  code: z.string().optional(),
  stack: z.string().optional(),
});

/** An attempt that failed and was retried: its number, times and error (message clipped, no stack). */
export const failedAttemptSchema = z.object({
  attempt: z.number().int().min(1),
  startedAt: z.number().optional(),
  endedAt: z.number(),
  error: serializedErrorSchema,
});

/** The zod schema of a `TaskResult`. */
export const taskResultSchema = z.object({
  taskId: z.string(),
  /** Role of the agent that ran (or would have run) the task. */
  agent: z.string(),
  status: taskStatusSchema,
  output: z.unknown().optional(),
  /** The last attempt's error. */
  error: serializedErrorSchema.optional(),
  /** Attempts started so far. */
  attempts: z.number().int().min(0),
  /** Epoch ms of the first attempt's start. */
  startedAt: z.number().optional(),
  /** Epoch ms of the last attempt's start, when it was not the first. */
  lastAttemptStartedAt: z.number().optional(),
  /** The attempts before the last that failed and were retried, oldest first (the newest 20). */
  failedAttempts: z.array(failedAttemptSchema).optional(),
  /** Epoch ms the task settled. */
  finishedAt: z.number().optional(),
  /** Why a task was skipped. */
  skipReason: z.string().optional(),
  /** Last progress report (0..1) and message. */
  progress: z.number().optional(),
  progressMessage: z.string().optional(),
});
/** One task in a `WorkflowResult`: status, output or error, attempts, times, agent. */
export type TaskResult = z.infer<typeof taskResultSchema>;

/** One durable wait of a run (a signal, an approval, a sleep, a child workflow). */
export const waitInfoSchema = z.object({
  name: z.string(),
  taskId: z.string(),
  kind: z.enum(['signal', 'approval', 'input', 'sleep', 'child']),
  status: z.enum(['waiting', 'answered', 'timed_out', 'cancelled']),
  /** Epoch ms the wait began. */
  since: z.number(),
  prompt: z.string().optional(),
  /** JSON Schema of the expected answer. */
  schema: z.record(z.string(), z.unknown()).optional(),
  /** Epoch ms at which a timeout ends the wait (or a sleep wakes). */
  deadline: z.number().optional(),
  /** The child workflow's id, for kind `child`. */
  childId: z.string().optional(),
  answer: z.unknown().optional(),
});
/** A wait of a run: its name, kind, prompt, schema, deadline and answer (see docs/waits.md). */
export type WaitInfo = z.infer<typeof waitInfoSchema>;

/** The zod schema of a `WorkflowResult` (stored results are checked against it). */
export const workflowResultSchema = z.object({
  workflowId: z.string(),
  name: z.string(),
  status: workflowStatusSchema,
  success: z.boolean(),
  tasks: z.record(z.string(), taskResultSchema),
  /** Wall time from start to end, in milliseconds. */
  totalExecutionTime: z.number(),
  startedAt: z.number(),
  finishedAt: z.number(),
  /** The workflow's shared context at the end. */
  context: z.record(z.string(), z.unknown()),
  /** What a saga rollback undid, and what it could not. */
  compensation: z
    .object({
      compensated: z.array(z.string()),
      failed: z.array(z.object({ taskId: z.string(), error: serializedErrorSchema })),
      /** What each compensation handler returned, by task id (absent when it returned nothing). */
      outputs: z.record(z.string(), z.unknown()).optional(),
    })
    .optional(),
  /** Every wait of the run, open or resolved, in the order they began. */
  waits: z.array(waitInfoSchema).optional(),
  /**
   * Why a run that did not complete stopped: the cancel's reason, else
   * `the run stopped: task "<id>" failed`. The tasks it never ran end
   * `cancelled` with this reason.
   */
  stopReason: z.string().optional(),
  /** Why the run did not succeed, when it did not. */
  error: serializedErrorSchema.optional(),
});
/** The end of a run: id, status, success, per-task results, total time, shared context, compensation report. */
export type WorkflowResult = z.infer<typeof workflowResultSchema>;
