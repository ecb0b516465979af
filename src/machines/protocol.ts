/**
 * The events that workflow runs, agents and their executors exchange. All are
 * plain JSON (ids, not actor refs), so they can be journaled, replayed and
 * shown by the inspector.
 */
import type { SerializedError } from '../errors.js';

/** What a workflow hands an agent for one attempt of one task. */
export interface TaskAssignment {
  workflowId: string;
  taskId: string;
  /** 1 for the first attempt. */
  attempt: number;
  agent: string;
  description: string;
  input: Record<string, unknown>;
  /** Outputs of the tasks this one depends on, by task id (skipped ones are absent). */
  dependencies: Record<string, unknown>;
  /** The workflow's shared context when the task was dispatched. Treat as read-only. */
  shared: Readonly<Record<string, unknown>>;
  timeoutMs?: number;
  /** System id of the workflow actor to report to. */
  replyTo: string;
  /** Time of the event that led to the dispatch. */
  dispatchedAt: number;
  /**
   * What this attempt already did before a restart: results of its
   * `ctx.step` calls and outcomes of its waits, by name. The agent's code runs
   * again from the top, and these calls return at once instead of repeating.
   */
  memo?: { steps?: Record<string, unknown>; waits?: Record<string, WaitOutcome> };
}

/** What ends a wait: an answer (a signal, a child's result, a sleep's end) or an error (a timeout). */
export type WaitOutcome = { ok: true; value: unknown } | { ok: false; error: SerializedError };

/** A child workflow run by a task: its id (derived from the parent's), and what it runs. */
export interface ChildSpec {
  id: string;
  /** A definition registered by name. */
  name?: string;
  /** Or an inline definition. */
  definition?: Record<string, unknown>;
  /** Initial shared context of the child. */
  input?: Record<string, unknown>;
}

/** What an agent's attempt waits for (`ctx.waitFor`, `ctx.sleep`, `ctx.startChild`). */
export interface WaitRequest {
  name: string;
  kind: 'signal' | 'sleep' | 'child';
  prompt?: string;
  /** JSON Schema of the answer. */
  schema?: Record<string, unknown>;
  /** Epoch ms: a timeout (signal) or the wake time (sleep). */
  deadline?: number;
  child?: ChildSpec;
}

/** What a finished attempt produced besides its output. */
export interface TaskEffects {
  /** Keys merged into the workflow's shared context when the task completes. */
  sharedUpdates?: Record<string, unknown>;
  /** Tasks to add to the running workflow (validated by the workflow). */
  addedTasks?: unknown[];
}

/**
 * When an attempt started, carried by its reports (completion, failure, wait)
 * instead of a `task.started` event of its own: one machine event and one
 * journal entry less per task. The engine still tells its listeners
 * `task.started` when the attempt starts (see `AgentExecutorDeps.announce`).
 */
export interface AttemptStart {
  /** Epoch ms the attempt started; absent when it never did (aborted while queued). */
  startedAt?: number;
}

export type TaskReport =
  /** Journals written before `startedAt` was carried by the reports hold this event; replay still applies it. */
  | { type: 'task.started'; workflowId: string; taskId: string; attempt: number; at: number }
  /** The attempt waits; its agent slot is free until it ends. */
  | ({
      type: 'task.waiting';
      workflowId: string;
      taskId: string;
      attempt: number;
      at: number;
      wait: WaitRequest;
    } & AttemptStart)
  /** A `ctx.step` finished: its result is journaled so it is not run again after a restart. */
  | {
      type: 'task.step';
      workflowId: string;
      taskId: string;
      attempt: number;
      name: string;
      output: unknown;
    }
  | {
      type: 'task.progress';
      workflowId: string;
      taskId: string;
      attempt: number;
      progress: number;
      message?: string;
      /** Epoch ms the agent reported it. */
      at: number;
    }
  | ({
      type: 'task.completed';
      workflowId: string;
      taskId: string;
      attempt: number;
      at: number;
      output: unknown;
    } & TaskEffects &
      AttemptStart)
  | ({
      type: 'task.failed';
      workflowId: string;
      taskId: string;
      attempt: number;
      at: number;
      error: SerializedError;
      /** False for errors no retry can fix (bad output, aborted by cancel). */
      retryable: boolean;
      /**
       * The attempt holds no agent slot (it was dropped from an agent's queue
       * before it started, or its run failed it itself): the run gives none
       * back for it (see {@link SlotRelease}).
       */
      slotless?: true;
    } & AttemptStart);

/**
 * An agent's slot is free again. An executor reports an attempt's end
 * straight to its run, and the run gives the slot back to the agent: on the
 * assignment it sends that agent next in the same step (`task.assign`'s
 * `released`), so a task that frees a slot and the one that takes it cost
 * the agent one event; otherwise as a `task.release` of its own.
 */
export interface SlotRelease {
  workflowId: string;
  taskId: string;
  attempt: number;
}

/** Events an agent actor accepts. */
export type AgentEvent =
  | { type: 'task.assign'; assignment: TaskAssignment; released?: SlotRelease }
  | ({ type: 'task.release' } & SlotRelease)
  /**
   * Aborts attempts of one run, all those this agent holds in one event: the
   * queued ones are dropped before any running one is aborted, so the slot an
   * abort frees never starts another attempt of the same run.
   */
  | { type: 'task.abort'; workflowId: string; taskIds: string[]; reason: string; at: number }
  /** A wait of a running attempt ended: passed on to the executor, which resumes the agent's code. */
  | WaitResolved
  | TaskReport;

export interface WaitResolved {
  type: 'task.signal';
  workflowId: string;
  taskId: string;
  attempt: number;
  name: string;
  outcome: WaitOutcome;
}

/** Events an agent's executor accepts from its agent. */
export type ExecutorEvent =
  | { type: 'execute'; assignment: TaskAssignment }
  | { type: 'abort'; workflowId: string; taskId: string; reason: string; at: number }
  | WaitResolved;

/** A workflow asks the compensator to undo one completed task. */
export interface CompensationRequest {
  type: 'compensate';
  workflowId: string;
  workflowName: string;
  taskId: string;
  /** Name of the handler (the task's `compensation`), run after the child's rollback if both are given. */
  compensation?: string;
  /** The child run of a `workflow` task, whose completed steps are rolled back. */
  childId?: string;
  attempt: number;
  output: unknown;
  replyTo: string;
}

export type CompensationReport =
  | {
      type: 'compensate.done';
      workflowId: string;
      taskId: string;
      attempt: number;
      at: number;
      /** What the handler returned, checked JSON (absent when it returned nothing). */
      output?: unknown;
    }
  | {
      type: 'compensate.failed';
      workflowId: string;
      taskId: string;
      attempt: number;
      at: number;
      error: SerializedError;
    };

/** System id of the runtime's compensator actor. */
export const COMPENSATOR_SYSTEM_ID = 'compensator';

export function agentSystemId(role: string): string {
  return `agent:${role}`;
}

export function workflowSystemId(workflowId: string): string {
  return `workflow:${workflowId}`;
}
