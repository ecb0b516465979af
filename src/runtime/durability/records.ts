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
import { crc32 } from 'node:zlib';
import { TroupeError } from '../../errors.js';
import type { TaskRun, WorkflowContext } from '../../machines/workflow/context.js';
import type { WorkflowEvent } from '../../machines/workflow/events.js';
import { dict } from '../../schemas/dict.js';
import type { TaskDefinition } from '../../schemas/workflow-definition.js';
import { workflowSeqKey } from '../../store/keys.js';
import type { StoreOp } from '../../store/store.js';

/**
 * One stored journal entry. The event is serialised when it is produced, so
 * a value that cannot be stored fails only the run that produced it, never
 * the batch it would have shared with other runs; `crc` (CRC-32 of `event`)
 * lets recovery tell a damaged entry from a valid one on any backend.
 */
export interface JournalEntry {
  /** Contiguous per run, from 1; recovery checks there is no gap. */
  seq: number;
  /**
   * The event as JSON, without the run's id: an agent's report names its run,
   * which the entry's key already does (the reader puts it back). Entries
   * written before kept it; both read the same.
   */
  event: string;
  crc: number;
}

/** A journal entry read back and verified. */
export interface JournalRecord {
  seq: number;
  event: WorkflowEvent;
}

/**
 * Serialises one event of a run as journal entry `seq`.
 * @throws TroupeError `INVALID_INPUT` naming the run, the event and the task
 * if the event holds a value JSON cannot represent (a BigInt, a cycle).
 */
export function journalEntry(workflowId: string, seq: number, event: WorkflowEvent): JournalEntry {
  const json = serialise(
    workflowId,
    `event ${event.type}`,
    withoutRunId(workflowId, event),
    'taskId' in event ? event.taskId : undefined,
  );
  return { seq, event: json, crc: crc32(json) };
}

/**
 * An agent's report without its run's id, which the journal's key holds:
 * about a quarter of a completion's bytes. Only a report (it has a `taskId`)
 * about this run loses it, so the reader knows where to put it back.
 */
function withoutRunId(workflowId: string, event: WorkflowEvent): object {
  if (!('taskId' in event) || !('workflowId' in event) || event.workflowId !== workflowId)
    return event;
  const { workflowId: _run, ...rest } = event;
  return rest;
}

/**
 * Verifies and parses a stored journal entry, in the current form or the one
 * before it (events with their run's id, `task.started` entries).
 * @throws TroupeError `STORE_CORRUPT` naming the run and the entry if it is
 * damaged: wrong shape, a seq that differs from its key, a checksum mismatch.
 */
export function readJournalEntry(workflowId: string, keySeq: number, raw: unknown): JournalRecord {
  const entry = raw as Partial<JournalEntry> | null;
  let problem: string | undefined;
  if (typeof entry !== 'object' || entry === null || typeof entry.event !== 'string') {
    problem = 'it is not a journal entry';
  } else if (entry.seq !== keySeq) {
    problem = `it says seq ${String(entry.seq)} but is stored as ${keySeq}`;
  } else if (entry.crc !== crc32(entry.event)) {
    problem = 'its checksum does not match its content';
  } else {
    let event: unknown;
    try {
      event = JSON.parse(entry.event);
    } catch {
      problem = 'its event is not valid JSON';
    }
    if (typeof event === 'object' && event !== null) {
      const stored = event as WorkflowEvent & { workflowId?: string };
      if ('taskId' in stored && stored.workflowId === undefined) stored.workflowId = workflowId;
      return { seq: keySeq, event: stored };
    }
    problem ??= 'its event is not an object';
  }
  throw new TroupeError(
    'STORE_CORRUPT',
    `Journal entry ${keySeq} of workflow "${workflowId}" is corrupt (${problem}); the run cannot be resumed past it. Other runs are unaffected; restore the data folder from a backup, or delete the run.`,
    { workflowId, seq: keySeq, collection: 'journal' },
  );
}

/**
 * JSON of a value a run produced, or a typed error naming the run and what
 * held it: called where a record is produced, so a value that cannot be
 * stored fails its producer and never a batch shared with other runs.
 * @throws TroupeError `INVALID_INPUT`.
 */
export function serialise(
  workflowId: string,
  what: string,
  value: unknown,
  taskId?: string,
): string {
  try {
    return JSON.stringify(value);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new TroupeError(
      'INVALID_INPUT',
      `Workflow "${workflowId}" cannot be stored: its ${what}${taskId ? ` (task "${taskId}")` : ''} holds a value that is not JSON (${reason}). Outputs, shared context and added tasks must be plain JSON data; the run was stopped, other runs are unaffected.`,
      { workflowId, ...(taskId ? { taskId } : {}) },
      { cause },
    );
  }
}

/**
 * Text longer than this is checksummed through a Buffer: `crc32` of a string
 * that size is about 50 times slower than encoding it to UTF-8 and summing
 * the bytes (Node 20: 60-100 ms against 2 ms for a 3.7 MB checkpoint),
 * while for a journal entry's few hundred characters the string is faster.
 */
const CHECKSUM_VIA_BUFFER_CHARS = 4096;

/** CRC-32 of `text`'s UTF-8 bytes (the value `crc32(text)` gives), fast at any size. */
export function checksum(text: string): number {
  return text.length > CHECKSUM_VIA_BUFFER_CHARS ? crc32(Buffer.from(text, 'utf8')) : crc32(text);
}

/** Why a checkpoint was taken: every N completions, a pause, a restore from the store, the end, a fork. */
export type CheckpointReason = 'interval' | 'pause' | 'restore' | 'end' | 'fork';

export interface CheckpointRecord {
  /** The last journal entry this checkpoint includes. */
  seq: number;
  /** The machine's state value (`running`, `paused`, ...). */
  value: string;
  /**
   * The context, serialised when the checkpoint was taken (the live context
   * is updated in place, so it must not be referenced until the batch is
   * written): a {@link CompactContext}, or in checkpoints written before it
   * the whole {@link WorkflowContext}.
   */
  context: string;
  /** CRC-32 of `context` (absent in checkpoints written before it was added). */
  crc?: number;
  takenAt: number;
  reason: CheckpointReason;
}

/**
 * What a checkpoint stores of a run's context: all of it but what the run
 * record (`workflows/<id>`) already holds or what follows from it. The
 * definition was about 40% of a checkpoint and the task index and reverse
 * edges another 13%, rewritten by every checkpoint although only tasks
 * added at run time ever change them. `definitionTasks` says how to rebuild
 * the task list: the first `fromRecord` tasks of the record's definition (a
 * record is rewritten with more tasks, never fewer or others), then `added`.
 * `runs` leaves out the tasks nothing has happened to yet (see
 * {@link untouchedRun}), most of a young run's state; `ready` its taken items.
 */
export type CompactContext = Omit<WorkflowContext, 'definition' | 'index' | 'dependents'> & {
  definitionTasks: { fromRecord: number; added: TaskDefinition[] };
};

/**
 * The run of a task nothing has happened to: pending, never attempted, waiting
 * on the dependencies not completed or skipped (as when it was linked). A
 * compact checkpoint leaves these out and {@link untouchedRun} gives them back.
 */
export function untouchedRun(
  task: Pick<TaskDefinition, 'dependsOn'>,
  runs: Readonly<Record<string, TaskRun>>,
): TaskRun {
  let waitingOn = 0;
  for (const dep of task.dependsOn) {
    // Own entries only: `runs` may be parsed JSON, where `constructor` is inherited.
    const status = Object.hasOwn(runs, dep) ? runs[dep]!.status : undefined;
    if (status !== 'completed' && status !== 'skipped') waitingOn++;
  }
  return { status: 'pending', attempts: 0, waitingOn };
}

/** Whether `run` is exactly what {@link untouchedRun} gives back for its task. */
function isUntouched(
  run: TaskRun,
  task: Pick<TaskDefinition, 'dependsOn'>,
  runs: Readonly<Record<string, TaskRun>>,
): boolean {
  if (run.status !== 'pending' || run.attempts !== 0) return false;
  for (const key in run)
    if (key !== 'status' && key !== 'attempts' && key !== 'waitingOn') return false;
  return run.waitingOn === untouchedRun(task, runs).waitingOn;
}

/** One checkpoint as listed by `engine.history(id)`. */
export interface CheckpointInfo {
  seq: number;
  state: string;
  takenAt: number;
  reason: CheckpointReason;
  completedTasks: number;
  /** Names of the waits open at this checkpoint (time travel shows what the run waited for). */
  waiting: string[];
}

/**
 * The store op that writes a checkpoint of a run: its state value and its
 * context, serialised now (the live context keeps changing in place).
 * `recordTasks`: how many tasks of the context's definition the run record
 * holds, so the checkpoint leaves the definition out ({@link CompactContext});
 * undefined stores the whole context.
 * @throws TroupeError `INVALID_INPUT` naming the run if the context is not JSON.
 */
export function checkpointOp(
  workflowId: string,
  checkpoint: {
    seq: number;
    value: unknown;
    context: WorkflowContext;
    takenAt: number;
    reason: CheckpointReason;
    recordTasks?: number | undefined;
  },
): { op: StoreOp; record: CheckpointRecord } {
  const context = serialise(
    workflowId,
    'state',
    compactContext(checkpoint.context, checkpoint.recordTasks),
  );
  const record: CheckpointRecord = {
    seq: checkpoint.seq,
    value: String(checkpoint.value),
    context,
    crc: checksum(context),
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

/** The context without what the run record holds; the whole context if `recordTasks` does not fit it. */
function compactContext(
  context: WorkflowContext,
  recordTasks: number | undefined,
): CompactContext | WorkflowContext {
  const tasks = context.definition.tasks;
  if (recordTasks === undefined || recordTasks > tasks.length) return context;
  const { definition: _definition, index: _index, dependents: _dependents, ...rest } = context;
  const runs = dict<TaskRun>();
  for (const task of tasks) {
    const run = context.runs[task.id]!;
    if (!isUntouched(run, task, context.runs)) runs[task.id] = run;
  }
  const { items, head } = context.ready;
  return {
    ...rest,
    runs,
    ready: { items: head === 0 ? items : items.slice(head), head: 0 },
    definitionTasks: { fromRecord: recordTasks, added: tasks.slice(recordTasks) },
  };
}
