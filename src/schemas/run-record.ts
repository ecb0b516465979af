import type { WorkflowDefinition } from './workflow-definition.js';
import type { WorkflowResult, WorkflowStatus } from './workflow-result.js';

/** A run's starting input (see {@link RunRecord.input}). */
export interface RunInput {
  /** The shared context passed to `engine.start` (`{}` when none was). */
  context: Record<string, unknown>;
  /**
   * Tasks the definition had when the run started. Tasks added at run time
   * are appended to `definition.tasks`, so the first `tasks` are the start.
   */
  tasks: number;
}

/**
 * What the store keeps about one workflow run, under `workflows/<workflowId>`.
 * Written when the run starts and again when it ends.
 */
export interface RunRecord {
  workflowId: string;
  definition: WorkflowDefinition;
  status: WorkflowStatus;
  /** Epoch ms. */
  createdAt: number;
  updatedAt: number;
  /** Present once the run has ended. */
  result?: WorkflowResult;
  /** Completions between checkpoints, when the run set its own. */
  checkpointInterval?: number;
  /**
   * What the run was started with, kept for `engine.replay`: the initial
   * shared context and the size of the definition as started. Absent on
   * forks (they start from a checkpoint) and on records stored before troupe
   * kept it.
   */
  input?: RunInput;
  /** The run this run replays (`engine.replay`). */
  replayOf?: string;
  /** The run and checkpoint this run was forked from. */
  forkedFrom?: { workflowId: string; checkpoint: number };
  /** A child run's parent, and the wait of the parent's task that its result answers. */
  parent?: { workflowId: string; wait: string };
}

/**
 * What a run recovered from its journal alone (no checkpoint yet) starts
 * from: the shared context it was started with. Nothing for forks (they start
 * from a checkpoint) and records stored before troupe kept it.
 */
export function startingShared(record: RunRecord): { shared?: Record<string, unknown> } {
  return record.input ? { shared: record.input.context } : {};
}
