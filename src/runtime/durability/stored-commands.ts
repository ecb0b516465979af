/**
 * Control events (pause, cancel) for a run that is stored but live in no
 * process, e.g. interrupted by a crash or Ctrl+C. The event is appended to
 * the run's journal, after its last entry and checkpoint, so the next
 * recovery replays it like any journaled event: a paused run comes back
 * paused, a cancelled one comes back cancelling and ends.
 *
 * Only the process that holds the store may write (LevelDB allows one per
 * folder): the caller owns the store and no live actor runs the workflow.
 */
import type { WorkflowEvent } from '../../machines/workflow/events.js';
import type { RunRecord } from '../../schemas/run-record.js';
import type { WorkflowStatus } from '../../schemas/workflow-result.js';
import { parseSeq, prefixRange, workflowKey, workflowSeqKey } from '../../store/keys.js';
import type { Store, StoreOp } from '../../store/store.js';
import { journalEntry } from './records.js';

/**
 * Journals `event` for the stored run and, with `status`, updates its record
 * (so `list` shows a paused run as paused), in one atomic batch.
 */
export async function journalStoredEvent(
  store: Store,
  record: RunRecord,
  event: WorkflowEvent,
  status?: WorkflowStatus,
): Promise<void> {
  const { workflowId } = record;
  const seq =
    Math.max(
      await lastSeq(store, 'journal', workflowId),
      await lastSeq(store, 'snapshots', workflowId),
    ) + 1;
  const entry = journalEntry(workflowId, seq, event);
  const ops: StoreOp[] = [
    { type: 'put', collection: 'journal', key: workflowSeqKey(workflowId, seq), value: entry },
  ];
  if (status && status !== record.status) {
    ops.push({
      type: 'put',
      collection: 'workflows',
      key: workflowKey(workflowId),
      value: {
        ...record,
        status,
        updatedAt: event.type === 'workflow.pause' ? event.at : record.updatedAt,
      },
    });
  }
  await store.batch(ops);
}

/** The highest seq of a run's keys in `collection`, 0 if it has none (compaction deletes journal entries a checkpoint covers). */
async function lastSeq(
  store: Store,
  collection: 'journal' | 'snapshots',
  workflowId: string,
): Promise<number> {
  for await (const [key] of store.range(collection, {
    ...prefixRange(workflowId),
    reverse: true,
    limit: 1,
    keysOnly: true,
  })) {
    return parseSeq(key);
  }
  return 0;
}
