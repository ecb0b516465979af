import type { LlmEvent } from '../../actors/llm/llm-events.js';
import type { WorkflowEmitted } from '../../machines/workflow/events.js';
import type { CheckpointReason } from '../durability/records.js';

/** Everything `engine.on` delivers: the runs' own events, the engine's, and what LLM agents report live. */
export type EngineEvent =
  | WorkflowEmitted
  | LlmEvent
  | {
      type: 'checkpoint.saved';
      workflowId: string;
      seq: number;
      reason: CheckpointReason;
      at: number;
    };

/** The seed's event names, mapped to troupe's namespaced ones. */
export const EventType = {
  WORKFLOW_STARTED: 'workflow.started',
  WORKFLOW_PAUSED: 'workflow.paused',
  WORKFLOW_RESUMED: 'workflow.resumed',
  WORKFLOW_RESTORED: 'workflow.restored',
  WORKFLOW_COMPLETED: 'workflow.completed',
  WORKFLOW_FAILED: 'workflow.failed',
  WORKFLOW_CANCELLED: 'workflow.cancelled',
  TASK_STARTED: 'task.started',
  TASK_PROGRESS: 'task.progress',
  TASK_COMPLETED: 'task.completed',
  TASK_FAILED: 'task.failed',
  TASK_RETRYING: 'task.retrying',
  TASK_SKIPPED: 'task.skipped',
  TASK_CANCELLED: 'task.cancelled',
  TASK_READY: 'task.ready',
  TASKS_ADDED: 'tasks.added',
  COMPENSATION_STARTED: 'compensation.started',
  COMPENSATION_STEP: 'compensation.step',
  COMPENSATION_COMPLETED: 'compensation.completed',
  COMPENSATION_FAILED: 'compensation.failed',
  CHECKPOINT_SAVED: 'checkpoint.saved',
  LLM_TOKEN: 'llm.token',
  LLM_TOOL_CALL: 'llm.tool_call',
  LLM_TOOL_RESULT: 'llm.tool_result',
  LLM_USAGE: 'llm.usage',
} as const satisfies Record<string, EngineEvent['type']>;
export type EventType = (typeof EventType)[keyof typeof EventType];
