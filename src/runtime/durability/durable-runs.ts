import type { WorkflowContext } from '../../machines/workflow/context.js';
import type { WorkflowEvent } from '../../machines/workflow/events.js';
import { workflowSeqKey } from '../../store/keys.js';
import type { StoreOp } from '../../store/store.js';
import type { JournalWriter } from './journal-writer.js';
import {
  type CheckpointReason,
  type CheckpointRecord,
  checkpointOp,
  journalEntry,
} from './records.js';

/** Events that change a run and so must be journaled; everything else the run receives is derived. */
const JOURNALED: ReadonlySet<WorkflowEvent['type']> = new Set([
  'workflow.run',
  'workflow.restore',
  'workflow.pause',
  'workflow.resume',
  'workflow.cancel',
  'task.started',
  'task.completed',
  'task.failed',
  'compensate.done',
  'compensate.failed',
  // A compensation retry timer that fired: without it, replay keeps the step
  // waiting (`retryAt` set) and ignores the retry's `compensate.done`, so a
  // step already done would run again after a resume.
  'compensate.wake',
  'wake',
  // Durable waits: an attempt that waits, its steps' results, the answers and
  // the deadlines that fired (see machines/workflow/waits.ts).
  'task.waiting',
  'task.step',
  'wait.signal',
  'wait.deadline',
]);

export interface DurabilityOptions {
  /** Completions between checkpoints; undefined: chosen per run (see {@link DurableRuns}). */
  checkpointInterval: number | undefined;
  /** Checkpoints kept per run for history and forking. */
  keepCheckpoints: number;
}

/** Where a run's journal stands. */
export interface RunJournalState {
  /** Last journal seq written. */
  seq: number;
  /** Seq of the newest checkpoint (0: none). */
  checkpointSeq: number;
  /** Seqs of the checkpoints kept, oldest first. */
  checkpoints: number[];
  completionsSinceCheckpoint: number;
  /** Bytes journaled since the newest checkpoint. */
  journalBytesSinceCheckpoint: number;
  /**
   * Journal bytes after which an automatic checkpoint is due: a fraction of
   * the newest checkpoint's size or, before this process has taken one, of
   * the size given to {@link DurableRuns.track} (0: none).
   */
  tailBytes: number;
  /** The run's own interval; without one, see {@link DurableRuns.dueForCheckpoint}. */
  checkpointInterval: number | undefined;
  /**
   * This run's journal entries in the writer's batch being gathered, the
   * newest last, since its newest checkpoint; `queuedBatch` is that batch.
   */
  queued: StoreOp[];
  queuedBatch: number;
  /**
   * How many tasks of the run's definition its stored run record holds, which
   * its checkpoints then leave out (`CompactContext`); undefined: checkpoints
   * hold the whole context.
   */
  recordTasks: number | undefined;
}

/**
 * The automatic interval: a checkpoint is due once the journal written since
 * the last one reaches this fraction of that checkpoint's size. Recovery then
 * replays a tail proportional to the run's state (not to its whole history),
 * and checkpointing writes a bounded multiple of what the journal writes (the
 * inverse of this fraction), so its cost per task stays flat however large
 * the run (a fixed interval makes it O(tasks²)). Every byte written before a
 * crash is read again when LevelDB opens its log, so a smaller fraction (a
 * shorter tail) is paid for at open: bench/recovery.ts found a quarter of a
 * whole context wrote 22 MB for a 10,000-task chain and the open took longer
 * than the replay it saved. A checkpoint leaves out what the run record holds
 * and the tasks nothing has happened to (`CompactContext`), a third to a half
 * of the whole context: at 0.9 of it, the longest tail a 10,000-task chain
 * can leave is no longer than at half a whole context (the rule before), and
 * checkpoints write 1.1 times the journal's bytes instead of twice.
 */
const AUTO_TAIL_FRACTION = 0.9;
/**
 * Before a run's first checkpoint in this process, the fraction of the size
 * given to {@link DurableRuns.track}: a new run's definition, about what its
 * whole context holds, so its first checkpoint comes where it did before
 * checkpoints were compact.
 */
const FIRST_TAIL_FRACTION = 0.5;
/** Completions before the first automatic checkpoint, and between any two (small runs are not worth it). */
const AUTO_MIN_COMPLETIONS = 100;
/** Per-entry bytes besides the event: key, seq, checksum. */
const ENTRY_OVERHEAD_BYTES = 48;

/** What a journal entry (its event's JSON) counts toward the automatic interval. */
export function journalEntryBytes(event: string): number {
  return event.length + ENTRY_OVERHEAD_BYTES;
}

/**
 * Journals the events of live runs and writes their checkpoints. Fed by each
 * run's transitions (`journaled-logic.ts`): the event and the snapshot it
 * produced, synchronously, so the checkpoint is serialised on the spot,
 * before the next event can change the context.
 */
export class DurableRuns {
  private readonly runs = new Map<string, RunJournalState>();

  constructor(
    private readonly writer: JournalWriter,
    private readonly options: DurabilityOptions,
    private readonly now: () => number,
    /** A checkpoint is written (called after the write, never when it is only queued). */
    private readonly onCheckpoint: (workflowId: string, checkpoint: CheckpointRecord) => void,
    /** A run produced a record that cannot be stored; it is no longer journaled. */
    private readonly onRunFailed: (workflowId: string, error: unknown) => void,
  ) {}

  /**
   * Starts journaling a run (new, resumed or forked). `checkpointBytes`: the
   * size of the checkpoint it resumes from, which places its next automatic
   * checkpoint as one taken here would. `definitionBytes`, for a run with no
   * checkpoint: its definition's size, which places its first (its state
   * holds the definition: without it a 10,000-task run wrote its whole state
   * after 100 completions, megabytes that LevelDB reads again on every open
   * until a compaction).
   */
  track(
    workflowId: string,
    state: Partial<
      Pick<
        RunJournalState,
        | 'seq'
        | 'checkpointSeq'
        | 'checkpoints'
        | 'checkpointInterval'
        | 'recordTasks'
        | 'completionsSinceCheckpoint'
        | 'journalBytesSinceCheckpoint'
      >
    > & { checkpointBytes?: number; definitionBytes?: number } = {},
  ): void {
    this.runs.set(workflowId, {
      seq: state.seq ?? 0,
      checkpointSeq: state.checkpointSeq ?? 0,
      checkpoints: state.checkpoints ?? [],
      completionsSinceCheckpoint: state.completionsSinceCheckpoint ?? 0,
      journalBytesSinceCheckpoint: state.journalBytesSinceCheckpoint ?? 0,
      tailBytes:
        state.checkpointBytes !== undefined
          ? state.checkpointBytes * AUTO_TAIL_FRACTION
          : (state.definitionBytes ?? 0) * FIRST_TAIL_FRACTION,
      checkpointInterval: state.checkpointInterval,
      recordTasks: state.recordTasks,
      queued: [],
      queuedBatch: -1,
    });
  }

  isTracked(workflowId: string): boolean {
    return this.runs.has(workflowId);
  }

  untrack(workflowId: string): void {
    this.runs.delete(workflowId);
  }

  /**
   * An event was processed by a run's actor. Journals it, and checkpoints
   * every `checkpointInterval` completions, on pause, on a restore that
   * follows a tail due for one, and at the end (the final checkpoint is
   * returned so the caller can store it with the result).
   */
  record(
    workflowId: string,
    event: WorkflowEvent,
    snapshot: { value: unknown; status: string; context: WorkflowContext },
    extraOps: () => StoreOp[] = () => [],
  ): void {
    const run = this.runs.get(workflowId);
    if (!run || !JOURNALED.has(event.type)) return;
    try {
      // Serialised before anything is queued: a bad value fails this run only.
      const entry = journalEntry(workflowId, run.seq + 1, event);
      run.seq++;
      const op = this.writer.append(workflowId, run.seq, entry);
      if (run.queuedBatch !== this.writer.gatheringBatch) {
        run.queued = [];
        run.queuedBatch = this.writer.gatheringBatch;
      }
      run.queued.push(op);
      if (event.type === 'task.completed') run.completionsSinceCheckpoint++;
      run.journalBytesSinceCheckpoint += journalEntryBytes(entry.event);

      let reason: CheckpointReason | undefined;
      if (snapshot.status === 'done') reason = 'end';
      else if (event.type === 'workflow.pause') reason = 'pause';
      // A resume is checkpointed only when the tail it replayed is due for
      // one: else the next recovery replays that tail and this entry again
      // (see `replayJournal`), which costs less than writing the whole state.
      else if (this.dueForCheckpoint(run))
        reason = event.type === 'workflow.restore' ? 'restore' : 'interval';
      if (reason) this.checkpoint(workflowId, run, snapshot, reason, extraOps());
    } catch (error) {
      this.untrack(workflowId);
      this.onRunFailed(workflowId, error);
    }
  }

  /** Every N completions if the run or the runtime sets N; else by journal volume against the state's size. */
  private dueForCheckpoint(run: RunJournalState): boolean {
    const interval = run.checkpointInterval ?? this.options.checkpointInterval;
    if (interval !== undefined) return run.completionsSinceCheckpoint >= interval;
    return (
      run.completionsSinceCheckpoint >= AUTO_MIN_COMPLETIONS &&
      run.journalBytesSinceCheckpoint >= run.tailBytes
    );
  }

  private checkpoint(
    workflowId: string,
    run: RunJournalState,
    snapshot: { value: unknown; context: WorkflowContext },
    reason: CheckpointReason,
    extraOps: StoreOp[],
  ): void {
    // May throw (a context that is not JSON) before the run's state changes.
    const { op, record } = checkpointOp(workflowId, {
      seq: run.seq,
      value: snapshot.value,
      context: snapshot.context,
      takenAt: this.now(),
      reason,
      recordTasks: run.recordTasks,
    });
    const ops: StoreOp[] = [op];
    // Compaction: the checkpoint includes every entry up to its seq. Those
    // still waiting in the batch it joins are taken back, the others deleted.
    const withdrawn = this.writer.withdraw(run.queued, run.queuedBatch) ? run.queued.length : 0;
    for (let seq = run.checkpointSeq + 1; seq <= run.seq - withdrawn; seq++) {
      ops.push({ type: 'del', collection: 'journal', key: workflowSeqKey(workflowId, seq) });
    }
    run.queued = [];
    run.checkpoints.push(run.seq);
    while (run.checkpoints.length > this.options.keepCheckpoints) {
      const old = run.checkpoints.shift()!;
      ops.push({ type: 'del', collection: 'snapshots', key: workflowSeqKey(workflowId, old) });
    }
    run.checkpointSeq = run.seq;
    run.completionsSinceCheckpoint = 0;
    run.journalBytesSinceCheckpoint = 0;
    run.tailBytes = record.context.length * AUTO_TAIL_FRACTION;
    this.writer.enqueue(...ops, ...extraOps).then(
      () => this.onCheckpoint(workflowId, record),
      () => undefined,
    );
  }
}
