import { type AnyActorScope, createActor, initialTransition, type SnapshotFrom } from 'xstate';
import { TroupeError } from '../../errors.js';
import type { TaskRun, WorkflowContext } from '../../machines/workflow/context.js';
import { restoreWorkflowContext } from '../../machines/workflow/scheduler.js';
import { openWaits } from '../../machines/workflow/waits.js';
import type { WorkflowMachine } from '../../machines/workflow/workflow.machine.js';
import { dict } from '../../schemas/dict.js';
import { type RunRecord, startingShared } from '../../schemas/run-record.js';
import { parseSeq, prefixRange, workflowKey, workflowSeqKey } from '../../store/keys.js';
import type { Store } from '../../store/store.js';
import { journalEntryBytes } from './durable-runs.js';
import {
  type CheckpointInfo,
  type CheckpointRecord,
  type CompactContext,
  checksum,
  type JournalEntry,
  readJournalEntry,
  untouchedRun,
} from './records.js';

/** A run's state rebuilt from the store, ready to be restored into a live actor. */
export interface RecoveredRun {
  record: RunRecord;
  /** State value and context after the newest checkpoint plus the journal after it. */
  value: string;
  context: WorkflowContext;
  /** Last journal seq replayed (new entries continue after it). */
  seq: number;
  /** Checkpoint seqs kept, oldest first. */
  checkpoints: number[];
  /**
   * What the next recovery would replay again unless a checkpoint is taken:
   * the journal after the newest checkpoint, and that checkpoint's size. The
   * automatic interval weighs them.
   */
  tail: ReplayedTail;
}

/** The journal replayed after a checkpoint, measured as {@link DurableRuns} counts it. */
export interface ReplayedTail {
  completions: number;
  /** Journal bytes (see `journalEntryBytes`). */
  bytes: number;
  /** Size of the checkpoint it follows (0: none). */
  checkpointBytes: number;
}

/**
 * Reads the newest checkpoint of a run and replays the journal written after
 * it through the machine's pure `transition` function. Pure means effects are
 * returned, not executed: no task is dispatched, no compensation runs and no
 * event handler is called during replay. Effects that must happen again (the
 * dispatch of tasks that were in flight, retry timers) are re-derived from the
 * state when the live actor is restored.
 *
 * @throws TroupeError `STORE_CORRUPT` naming the run if a record cannot be read.
 */
export async function recoverRun(
  store: Store,
  logic: WorkflowMachine,
  record: RunRecord,
  options: { checkpointSeq?: number } = {},
): Promise<RecoveredRun> {
  const loaded = await loadCheckpoint(store, logic, record, options.checkpointSeq);
  // A chosen checkpoint is the state wanted: the journal after it is not applied.
  const replayed =
    options.checkpointSeq === undefined
      ? await replayJournal(store, logic, record.workflowId, loaded)
      : loaded;
  return {
    record,
    value: String(replayed.snapshot.value),
    context: replayed.snapshot.context as WorkflowContext,
    seq: replayed.seq,
    checkpoints: loaded.checkpoints,
    tail: {
      completions: replayed.tail?.completions ?? 0,
      bytes: replayed.tail?.bytes ?? 0,
      checkpointBytes: loaded.checkpointBytes,
    },
  };
}

/** A run's machine state and the last journal seq it includes. */
export interface ReplayPoint {
  snapshot: SnapshotFrom<WorkflowMachine>;
  seq: number;
  /** After a replay: the entries applied. */
  tail?: { completions: number; bytes: number };
}

/**
 * The state at a run's newest checkpoint (or at `checkpointSeq`), or its
 * initial state if it has none.
 * @throws TroupeError `STORE_CORRUPT` if the checkpoint cannot be read, `INVALID_INPUT` if `checkpointSeq` is not kept.
 */
export async function loadCheckpoint(
  store: Store,
  logic: WorkflowMachine,
  record: RunRecord,
  checkpointSeq?: number,
): Promise<ReplayPoint & { checkpoints: number[]; checkpointBytes: number }> {
  const workflowId = record.workflowId;
  const checkpoints = await checkpointSeqs(store, workflowId);
  // Only the checkpoint used is read: each holds the whole context.
  const chosenSeq = checkpointSeq ?? checkpoints.at(-1);
  const chosen =
    chosenSeq === undefined
      ? undefined
      : await store.get<CheckpointRecord>('snapshots', workflowSeqKey(workflowId, chosenSeq));
  if (checkpointSeq !== undefined && chosen === undefined) {
    throw new TroupeError(
      'INVALID_INPUT',
      `Workflow "${workflowId}" has no checkpoint ${checkpointSeq}; engine.history() lists the kept ones (${checkpoints.join(', ') || 'none'}).`,
      { workflowId },
    );
  }
  // A checkpoint key whose record is unreadable is corrupt: never fall back to
  // the initial state, the journal before it is compacted away.
  if (chosenSeq === undefined) {
    const [snapshot] = initialTransition(logic, {
      workflowId,
      definition: record.definition,
      ...startingShared(record),
    });
    return { snapshot, seq: 0, checkpoints, checkpointBytes: 0 };
  }
  const snapshot = logic.resolveState({
    context: parseContext(chosen, workflowId, chosenSeq, record),
    value: chosen!.value,
  });
  return { snapshot, seq: chosenSeq, checkpoints, checkpointBytes: chosen!.context.length };
}

/**
 * Applies the journal entries after `from.seq` through the machine's pure
 * transition function. A `workflow.restore` entry (a resume not followed by a
 * checkpoint, see `DurableRuns`) is applied as the resumed actor received it:
 * in the `created` state, with the state it was rebuilt in to return to.
 * @throws TroupeError `STORE_CORRUPT` on a damaged entry or a gap.
 */
export async function replayJournal(
  store: Store,
  logic: WorkflowMachine,
  workflowId: string,
  from: ReplayPoint,
): Promise<ReplayPoint> {
  let { snapshot, seq } = from;
  let completions = 0;
  let bytes = 0;
  const scope = replayScope(logic, snapshot.context as WorkflowContext);
  // Entries follow each other without a gap: a missing one means the store
  // lost an acknowledged write, and replaying around it would rebuild a
  // state the run never had.
  for await (const [key, raw] of store.range<unknown>('journal', prefixRange(workflowId))) {
    const keySeq = parseSeq(key);
    if (keySeq <= seq) continue;
    if (keySeq !== seq + 1) throw journalGap(workflowId, seq + 1, keySeq);
    const { event } = readJournalEntry(workflowId, keySeq, raw);
    const before = event.type === 'workflow.restore' ? rebuilt(logic, snapshot) : snapshot;
    snapshot = logic.transition(before, event, scope);
    seq = keySeq;
    if (event.type === 'task.completed') completions++;
    bytes += journalEntryBytes((raw as JournalEntry).event);
  }
  return { snapshot, seq, tail: { completions, bytes } };
}

/** The state a resumed run's actor starts in (see `WorkflowInput.restore`), from a replayed one. */
function rebuilt(
  logic: WorkflowMachine,
  snapshot: SnapshotFrom<WorkflowMachine>,
): SnapshotFrom<WorkflowMachine> {
  return logic.resolveState({
    value: 'created',
    context: { ...(snapshot.context as WorkflowContext), restoredState: String(snapshot.value) },
  });
}

/**
 * What xstate's `transition()` builds on every call (an actor, its initial
 * state, a system), built once per replay: per entry it cost more than the
 * transition itself. Actions are collected by xstate and never executed.
 */
function replayScope(logic: WorkflowMachine, context: WorkflowContext): AnyActorScope {
  const self = createActor(logic, {
    input: { workflowId: context.workflowId, definition: { ...context.definition, tasks: [] } },
  });
  return {
    self,
    id: '',
    sessionId: '',
    system: self.system,
    logger: () => undefined,
    defer: () => undefined,
    emit: () => undefined,
    stopChild: () => undefined,
    actionExecutor: () => undefined,
  };
}

/** Seqs of the kept checkpoints, oldest first, read from the keys alone. */
async function checkpointSeqs(store: Store, workflowId: string): Promise<number[]> {
  const seqs: number[] = [];
  for await (const [key] of store.range('snapshots', {
    ...prefixRange(workflowId),
    keysOnly: true,
  })) {
    seqs.push(parseSeq(key));
  }
  return seqs;
}

/** The kept checkpoints of a run, oldest first. */
export async function listCheckpoints(store: Store, workflowId: string): Promise<CheckpointInfo[]> {
  const records = await listCheckpointRecords(store, workflowId);
  const run = records.length > 0 ? await readRunRecord(store, workflowId) : undefined;
  return records.map(({ seq, record: c }) => {
    const context = parseContext(c, workflowId, seq, run);
    let completedTasks = 0;
    for (const run of Object.values(context.runs)) if (run.status === 'completed') completedTasks++;
    const waiting = context.waits ? openWaits(context).map((w) => w.name) : [];
    return {
      seq: c.seq,
      state: c.value,
      takenAt: c.takenAt,
      reason: c.reason,
      completedTasks,
      waiting,
    };
  });
}

export async function readRunRecord(
  store: Store,
  workflowId: string,
): Promise<RunRecord | undefined> {
  return store.get<RunRecord>('workflows', workflowKey(workflowId));
}

async function listCheckpointRecords(
  store: Store,
  workflowId: string,
): Promise<{ seq: number; record: CheckpointRecord }[]> {
  const records: { seq: number; record: CheckpointRecord }[] = [];
  for await (const [key, record] of store.range<CheckpointRecord>(
    'snapshots',
    prefixRange(workflowId),
  )) {
    records.push({ seq: parseSeq(key), record });
  }
  return records;
}

/**
 * The checkpoint's context, verified and whole.
 * @param seq the checkpoint's seq, from its key (the record itself may be unreadable).
 * @param record the run record, which holds the definition a compact checkpoint leaves out.
 */
function parseContext(
  checkpoint: CheckpointRecord | null | undefined,
  workflowId: string,
  seq: number,
  record: RunRecord | undefined,
): WorkflowContext {
  try {
    if (
      typeof checkpoint !== 'object' ||
      checkpoint === null ||
      typeof checkpoint.context !== 'string' ||
      typeof checkpoint.value !== 'string'
    ) {
      throw new Error('not a checkpoint record');
    }
    if (checkpoint.crc !== undefined && checkpoint.crc !== checksum(checkpoint.context)) {
      throw new Error('its checksum does not match its content');
    }
    const context = wholeContext(JSON.parse(checkpoint.context), record);
    if (!context.runs || !context.definition) throw new Error('missing runs or definition');
    return context;
  } catch (error) {
    throw new TroupeError(
      'STORE_CORRUPT',
      `Checkpoint ${seq} of workflow "${workflowId}" is corrupt (${(error as Error).message}); the run cannot be resumed from it, other runs are unaffected.`,
      { workflowId },
      { cause: error },
    );
  }
}

/**
 * A checkpoint as stored, its context parsed and made whole (for readers
 * that show it, such as the inspector); unchanged if it is not a checkpoint
 * or its context cannot be read (recovery reports why).
 */
export function readableCheckpoint(checkpoint: unknown, record: RunRecord | undefined): unknown {
  if (typeof checkpoint !== 'object' || checkpoint === null) return checkpoint;
  const { context } = checkpoint as { context?: unknown };
  if (typeof context !== 'string') return checkpoint;
  try {
    return { ...checkpoint, context: wholeContext(JSON.parse(context), record) };
  } catch {
    return checkpoint;
  }
}

/**
 * The whole context from a stored one: a {@link CompactContext} gets its
 * definition back from the run record, the runs it left out, and its task
 * index and reverse edges rebuilt in the order the run built them (the
 * record's tasks, then those added; each task's dependents in task order),
 * so the run releases them in the same order. A whole context (older
 * checkpoints) is returned as stored, its task tables made prototype-free.
 * @throws Error naming what is missing.
 */
function wholeContext(stored: unknown, record: RunRecord | undefined): WorkflowContext {
  if (typeof stored !== 'object' || stored === null)
    throw new Error('its context is not an object');
  // Prototype-free tables, as the compact form's below, for the replay too: a
  // task added with the id `constructor` must not find Object.prototype's.
  if (!('definitionTasks' in stored)) return restoreWorkflowContext(stored as WorkflowContext);
  const { definitionTasks, runs: storedRuns, ...rest } = stored as CompactContext;
  const recordTasks = record?.definition.tasks;
  if (!recordTasks || recordTasks.length < definitionTasks.fromRecord) {
    throw new Error(
      `it takes ${definitionTasks.fromRecord} tasks from the run record, which holds ${recordTasks?.length ?? 'none'}`,
    );
  }
  if (typeof storedRuns !== 'object' || storedRuns === null) throw new Error('missing runs');
  const tasks = [...recordTasks.slice(0, definitionTasks.fromRecord), ...definitionTasks.added];
  const index = dict<number>();
  const dependents = dict<string[]>();
  const runs = dict<TaskRun>();
  tasks.forEach((task, i) => {
    index[task.id] = i;
    dependents[task.id] ??= [];
    // Own entries only: a task id such as `constructor` is no inherited member.
    runs[task.id] = Object.hasOwn(storedRuns, task.id)
      ? storedRuns[task.id]!
      : untouchedRun(task, storedRuns);
  });
  for (const task of tasks) {
    for (const dep of task.dependsOn) {
      const edges = dependents[dep] ?? [];
      edges.push(task.id);
      dependents[dep] = edges;
    }
  }
  return { ...rest, definition: { ...record!.definition, tasks }, index, runs, dependents };
}

function journalGap(workflowId: string, missing: number, found: number): TroupeError {
  return new TroupeError(
    'STORE_CORRUPT',
    `The journal of workflow "${workflowId}" has a gap: entry ${missing} is missing, the next stored one is ${found}. The store lost a write; the run cannot be resumed past the gap. Other runs are unaffected; restore the data folder from a backup, or delete the run.`,
    { workflowId, seq: missing, collection: 'journal' },
  );
}
