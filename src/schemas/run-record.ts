import type { WorkflowDefinition } from './workflow-definition.js';
import type { WorkflowResult, WorkflowStatus } from './workflow-result.js';

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
  /** The run and checkpoint this run was forked from. */
  forkedFrom?: { workflowId: string; checkpoint: number };
  /** A child run's parent, and the wait of the parent's task that its result answers. */
  parent?: { workflowId: string; wait: string };
  /**
   * The shared context the run was started with (`start({ context })`), so
   * a run recovered from its journal alone, before any checkpoint, starts
   * from it too. Absent when it started empty.
   */
  context?: Record<string, unknown>;
}
