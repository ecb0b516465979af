import type { SerializedError } from '../../errors.js';
import type { ChildSpec, CompensationReport, TaskAssignment, TaskReport } from '../protocol.js';
import type { WaitState } from './context.js';

/** Events a workflow run accepts from the runtime (besides agents' reports). */
export type WorkflowControlEvent =
  | { type: 'workflow.run'; at: number }
  | { type: 'workflow.pause'; at: number }
  | { type: 'workflow.resume'; at: number }
  | { type: 'workflow.cancel'; at: number; reason: string; compensate?: boolean }
  /** A dispatch that found no agent comes back to the run (see `actorBySystemId`). */
  | { type: 'task.assign'; assignment: TaskAssignment }
  /** Sent once to a run rebuilt from the store: returns it to the state it was in. */
  | { type: 'workflow.restore'; at: number }
  /** Raised by the run itself when a failed compensation step may be tried again. */
  | { type: 'compensate.wake'; now: number }
  /** Raised by the run itself when it may have ended (see `checkEnd`). */
  | { type: 'run.check' }
  /** Raised by the run itself when the earliest retry backoff has elapsed. */
  | { type: 'wake'; now: number }
  /** The answer to a wait (`engine.signal`, or a child run's result), validated by the engine. */
  | { type: 'wait.signal'; name: string; payload: unknown; at: number }
  /** Raised by the run itself when a wait's deadline has passed. */
  | { type: 'wait.deadline'; name: string; now: number };

export type WorkflowEvent = TaskReport | CompensationReport | WorkflowControlEvent;

/**
 * What a run tells its observers, through XState `emit`. Names are
 * namespaced (`task.*`, `workflow.*`) and each has one payload shape.
 */
export type WorkflowEmitted =
  | { type: 'workflow.started'; workflowId: string; name: string; at: number }
  | { type: 'workflow.paused'; workflowId: string; at: number }
  | { type: 'workflow.resumed'; workflowId: string; at: number }
  | { type: 'workflow.completed'; workflowId: string; at: number }
  | {
      type: 'workflow.failed';
      workflowId: string;
      at: number;
      taskId: string;
      error: SerializedError;
    }
  | { type: 'workflow.cancelled'; workflowId: string; at: number; reason: string }
  | { type: 'workflow.restored'; workflowId: string; at: number; state: string; requeued: string[] }
  | { type: 'compensation.started'; workflowId: string; at: number; taskIds: string[] }
  | {
      type: 'compensation.step';
      workflowId: string;
      taskId: string;
      status: 'completed' | 'retrying' | 'failed';
      attempt: number;
      error?: SerializedError;
    }
  | { type: 'compensation.completed'; workflowId: string; at: number; compensated: string[] }
  | {
      type: 'compensation.failed';
      workflowId: string;
      at: number;
      failed: { taskId: string; error: SerializedError }[];
    }
  | { type: 'task.started'; workflowId: string; taskId: string; attempt: number; at: number }
  | {
      type: 'task.progress';
      workflowId: string;
      taskId: string;
      /** The attempt that reported it (1 for the first). */
      attempt: number;
      progress: number;
      message?: string;
      /** Epoch ms the agent reported it. */
      at: number;
    }
  | { type: 'task.completed'; workflowId: string; taskId: string; output: unknown; at: number }
  | {
      type: 'task.retrying';
      workflowId: string;
      taskId: string;
      attempt: number;
      error: SerializedError;
      /** When the attempt failed. */
      at: number;
      retryAt: number;
    }
  | {
      type: 'task.failed';
      workflowId: string;
      taskId: string;
      attempt: number;
      error: SerializedError;
      at: number;
    }
  | { type: 'task.skipped'; workflowId: string; taskId: string; reason: string }
  /**
   * A task ended without completing because its run stopped: it never started
   * (the run failed, was cancelled or compensated), it waited, or its attempt
   * was aborted by the cancel. `reason` says why.
   */
  | { type: 'task.cancelled'; workflowId: string; taskId: string; at: number; reason: string }
  /** A retrying task's backoff ended: it is pending again, waiting for a slot (or for a resume). */
  | { type: 'task.ready'; workflowId: string; taskId: string; at: number }
  | { type: 'tasks.added'; workflowId: string; by: string; taskIds: string[] }
  /** A task waits: for a person (with the prompt and the answer's JSON Schema), a time or a child run. */
  | {
      type: 'task.waiting';
      workflowId: string;
      taskId: string;
      name: string;
      kind: WaitState['kind'];
      at: number;
      prompt?: string;
      schema?: Record<string, unknown>;
      deadline?: number;
      childId?: string;
    }
  | {
      type: 'wait.resolved';
      workflowId: string;
      taskId: string;
      name: string;
      kind: WaitState['kind'];
      status: 'answered' | 'timed_out';
      at: number;
    }
  /** The engine starts (or finds again) a child run. */
  | { type: 'child.start'; workflowId: string; taskId: string; name: string; child: ChildSpec }
  /** The engine cancels a child run, because its parent is stopping. */
  | {
      type: 'child.cancel';
      workflowId: string;
      childId: string;
      reason: string;
      compensate: boolean;
    };
