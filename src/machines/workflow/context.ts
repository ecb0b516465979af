import type { SerializedError } from '../../errors.js';
import type { WorkflowDefinition } from '../../schemas/workflow-definition.js';
import type { TaskStatus } from '../../schemas/workflow-result.js';
import type { Fifo } from '../fifo.js';
import type { ChildSpec, WaitOutcome, WaitRequest } from '../protocol.js';
import type { FailedAttempt } from './attempt-history.js';

/** The run state of one task. Plain JSON: it is part of persisted snapshots. */
export interface TaskRun {
  status: TaskStatus;
  /** Attempts dispatched so far. */
  attempts: number;
  /** Dependencies that have not settled yet. */
  waitingOn: number;
  startedAt?: number;
  finishedAt?: number;
  output?: unknown;
  error?: SerializedError;
  skipReason?: string;
  /** Epoch ms at which a `retrying` task becomes ready again. */
  retryAt?: number;
  progress?: number;
  progressMessage?: string;
  /** Results of `ctx.step` calls of the current attempt, by step name (returned, not re-run, after a restart). */
  steps?: Record<string, unknown>;
  /** Names of the waits the current attempt opened, in order. */
  waits?: string[];
  /** Earlier attempts that failed and were retried, oldest first (see attempt-history.ts). */
  failedAttempts?: FailedAttempt[];
  /** When the latest attempt started, once it has reported, if it is not the first (the first's is `startedAt`). */
  lastAttemptStartedAt?: number;
}

/**
 * One durable wait. Plain JSON in the run's context: the deadline is data,
 * so a restored run arms its timer again from it.
 */
export interface WaitState {
  name: string;
  taskId: string;
  /** The attempt that opened it. */
  attempt: number;
  kind: WaitRequest['kind'] | 'approval' | 'input';
  /**
   * `agent`: an agent's `ctx.waitFor` / `sleep` / `startChild`, answered by
   * resuming its code; `task`: the task itself waits (kinds `approval`,
   * `input`, `workflow`, and `notBefore`), answered by settling the task.
   */
  owner: 'agent' | 'task';
  status: 'waiting' | 'answered' | 'timed_out' | 'cancelled';
  since: number;
  prompt?: string;
  /** JSON Schema of the answer. */
  schema?: Record<string, unknown>;
  deadline?: number;
  /** Kind `child`: the child run's id and what it runs. */
  child?: ChildSpec;
  outcome?: WaitOutcome;
  /** An outcome that arrived while the run was paused, applied on resume. */
  pending?: WaitOutcome;
}

/**
 * The context of a workflow run. Plain JSON, so a persisted snapshot restores
 * in another process. Collections are updated in place by the scheduler
 * functions: copying a 10,000-entry record per event costs ~6 ms (see
 * XSTATE-FACTS.md), mutating it costs nothing. The price is that an old
 * snapshot object sees later changes, so persist by serialising at once.
 */
export interface WorkflowContext {
  workflowId: string;
  /** Grows when tasks are added at run time. */
  definition: WorkflowDefinition;
  /** Position of each task in `definition.tasks`. */
  index: Record<string, number>;
  runs: Record<string, TaskRun>;
  /** Reverse edges: the tasks that depend on each task. */
  dependents: Record<string, string[]>;
  /** Tasks whose dependencies have settled and that wait for a slot. */
  ready: Fifo<string>;
  /** Tasks waiting out a retry backoff. */
  retrying: string[];
  /** Attempts dispatched and not yet reported finished. */
  inFlight: number;
  /** Tasks completed, failed for good or skipped. */
  settled: number;
  /** Data shared by the tasks of this run. */
  shared: Record<string, unknown>;
  /** Set when the run starts (`workflow.run`). */
  startedAt: number;
  /** Time carried by the latest event; used to stamp the end of the run. */
  lastEventAt: number;
  /** The first task that failed for good, which ends the run. */
  failure?: { taskId: string; error: SerializedError };
  cancelReason?: string;
  /** Whether a cancel asked for the completed tasks to be compensated. */
  compensateOnCancel?: boolean;
  /** Completed task ids in completion order: a saga undoes them in reverse. */
  completionOrder: string[];
  /** The saga rollback, once it has started. */
  compensation?: CompensationState;
  /** Every wait of the run by name (names are unique within a run). */
  waits?: Record<string, WaitState>;
  /** Set only between a restore and the `workflow.restore` event: the state to return to. */
  restoredState?: string;
}

/** Progress of a saga rollback. */
export interface CompensationState {
  /** Tasks to undo, in order (reverse completion order). */
  queue: string[];
  /** Index in `queue` of the step under way. */
  next: number;
  /** Attempts of the step under way. */
  attempts: number;
  compensated: string[];
  failed: { taskId: string; error: SerializedError }[];
  /** What each step's handler returned, by task id (prototype-free; absent until one returns a value). */
  outputs?: Record<string, unknown>;
  /** Epoch ms at which a failed step is tried again. */
  retryAt?: number;
}

export interface WorkflowInput {
  workflowId: string;
  definition: WorkflowDefinition;
  shared?: Record<string, unknown>;
  /** A state rebuilt from the store; the run waits in `created` for `workflow.restore`. */
  restore?: { value: string; context: WorkflowContext };
}
