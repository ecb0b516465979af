/**
 * What durability stores, besides the run record (`workflows/<id>`):
 *
 * - `journal/<workflowId>/<seq>`: {@link JournalEntry}, one per event that
 *   reached the workflow actor from outside (agents' reports, control events,
 *   retry timers). Replaying them through the machine's pure transition
 *   function reproduces the run's state, without repeating any effect.
 * - `snapshots/<workflowId>/<seq>`: {@link CheckpointRecord}, the run's state
 *   after journal entry `seq`. Entries up to `seq` are deleted in the same
 *   batch (compaction), so recovery reads one checkpoint plus a short journal.
 */
import type { WorkflowEvent } from '../../machines/workflow/events.js';
import { workflowSeqKey } from '../../store/keys.js';
import type { StoreOp } from '../../store/store.js';

export interface JournalEntry {
  seq: number;
  event: WorkflowEvent;
}

export type CheckpointReason = 'interval' | 'pause' | 'end' | 'fork';

export interface CheckpointRecord {
  /** The last journal entry this checkpoint includes. */
  seq: number;
  /** The machine's state value (`running`, `paused`, ...). */
  value: string;
  /**
   * The context, serialised when the checkpoint was taken: the live context
   * is updated in place, so it must not be referenced until the batch is
   * written.
   */
  context: string;
  takenAt: number;
  reason: CheckpointReason;
}

/** One checkpoint as listed by `engine.history(id)`. */
export interface CheckpointInfo {
  seq: number;
  state: string;
  takenAt: number;
  reason: CheckpointReason;
  completedTasks: number;
}

/**
 * The store op that writes a checkpoint of a run: its state value and its
 * context, serialised now (the live context keeps changing in place).
 */
export function checkpointOp(
  workflowId: string,
  checkpoint: {
    seq: number;
    value: unknown;
    context: unknown;
    takenAt: number;
    reason: CheckpointReason;
  },
): { op: StoreOp; record: CheckpointRecord } {
  const record: CheckpointRecord = {
    seq: checkpoint.seq,
    value: String(checkpoint.value),
    context: JSON.stringify(checkpoint.context),
    takenAt: checkpoint.takenAt,
    reason: checkpoint.reason,
  };
  return {
    op: {
      type: 'put',
      collection: 'snapshots',
      key: workflowSeqKey(workflowId, checkpoint.seq),
      value: record,
    },
    record,
  };
}
