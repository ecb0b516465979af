/**
 * Task-level changes of the runs pages are looking at. A 10,000-task run's
 * context is far too big to send per change, so the page gets the whole run
 * once ({@link RunDetail}) and then only the tasks that changed.
 *
 * What changed is read from the run's snapshot, never taken from events:
 * a page must show what the stored result will say. The run's events only
 * say where to look: at each batch, for each watched run that processed an
 * event since the last one (context is updated in place, so a snapshot
 * object may stay the same: the bridge tells us by session id), the tasks
 * named by its task events since then ({@link RunWatch.noted}) are compared
 * with what this watch last sent. Every task is compared (a few field reads
 * per task, about a millisecond for 10,000) after an event that names no
 * single task (a restore, a rollback step), when the run's state changed or
 * it ended, and at least every {@link FULL_SCAN_MS}, so a change no event
 * names still reaches the page within that time.
 *
 * A big run's changes are collected at most every {@link changesGapMs}
 * (its size / 10 ms, up to {@link MAX_CHANGES_GAP_MS}): the page redraws a
 * run that size no more often, and a task that started and ended in the gap
 * is sent once, not twice. A change of the run's state, and its end, are
 * collected at the next batch whatever the gap.
 */
import type { AnyActorRef } from 'xstate';
import { workflowSystemId } from '../../machines/protocol.js';
import type { TaskRun, WorkflowContext } from '../../machines/workflow/context.js';
import { earlyStopReason } from '../../machines/workflow/scheduler.js';
import { clip } from './preview.js';
import type { CompensationView, RunDetail, TaskDelta, WaitView } from './protocol.js';
import {
  compensationOfContext,
  isWorkflowContext,
  runDetailFromContext,
  runError,
  stateName,
  taskDelta,
  toStateValue,
  waitsKey,
  waitViews,
} from './run-view.js';

/** What a page was last sent of one task: the fields that can change during a run. */
interface Shown {
  status: string;
  attempts: number;
  progress: number | undefined;
  progressMessage: string | undefined;
  output: unknown;
  error: unknown;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  compensation: string | undefined;
}

/** Longest a watched run goes without every task compared. */
export const FULL_SCAN_MS = 1_000;

/** Longest a big run's task changes wait to be collected. */
export const MAX_CHANGES_GAP_MS = 1_000;

/** How long the changes of a run of `tasks` tasks gather before they are collected. */
export function changesGapMs(tasks: number): number {
  return Math.min(MAX_CHANGES_GAP_MS, Math.round(tasks / 10));
}

/** Longest gap between batches while a big live run is watched. */
export const MAX_BATCH_GAP_MS = 250;

/**
 * The gap between batches while a live run of `tasks` tasks is watched: its
 * size / 40 ms, up to {@link MAX_BATCH_GAP_MS} (a quarter of its
 * {@link changesGapMs}). A page shows such a run's events and actors no more
 * often than that, and each batch costs the runtime and the page a fixed
 * amount whatever it holds: 4 batches a second instead of 20 while a
 * 10,000-task run streams.
 */
export function batchGapMs(tasks: number): number {
  return Math.min(MAX_BATCH_GAP_MS, Math.round(tasks / 40));
}

interface Watched {
  ref: AnyActorRef;
  watchers: number;
  /** The run processed an event since the last batch; a run that did not is skipped. */
  moved: boolean;
  /** Per task, in definition order; its length is the run's size when last sent. */
  shown: Shown[];
  /** Index of each task in {@link shown}. */
  indexOf: Map<string, number>;
  /** Tasks named by the run's events since the last batch. */
  dirty: Set<string>;
  /** An event named no single task: compare them all at the next batch. */
  scanAll: boolean;
  /** When changes were last collected. */
  collectedAt: number;
  /** When every task was last compared, and the run's state then. */
  scannedAt: number;
  scannedState: string;
  /** The open waits last sent ({@link waitsKey}). */
  waits: string;
}

export interface RunChanges {
  workflowId: string;
  state: string;
  error?: string;
  /** {@link RunDetail.stopReason}, once the run stops. */
  stopReason?: string;
  tasks: TaskDelta[];
  /** The open waits, when they changed since the last batch. */
  waits?: WaitView[];
  /** Set when the run's shape changed (tasks were added); replaces `tasks`. */
  detail?: RunDetail;
}

export class RunWatch {
  private readonly runs = new Map<string, Watched>();
  /** Watched runs by their actor's session id, for {@link moved}. */
  private readonly bySession = new Map<string, Watched>();

  constructor(
    private readonly deps: {
      lookup: (systemId: string) => AnyActorRef | undefined;
      now: () => number;
    },
  ) {}

  /**
   * Starts watching a live run and returns it whole, or undefined if no such
   * run is live. Keeps the run's actor reference until the last watcher
   * leaves, so the final changes can be read after the run has ended.
   */
  watch(workflowId: string): RunDetail | undefined {
    let watched = this.runs.get(workflowId);
    if (!watched) {
      const ref = this.deps.lookup(workflowSystemId(workflowId));
      if (!ref) return undefined;
      watched = {
        ref,
        watchers: 0,
        moved: false,
        shown: [],
        indexOf: new Map(),
        dirty: new Set(),
        scanAll: true,
        collectedAt: Number.NEGATIVE_INFINITY,
        scannedAt: 0,
        scannedState: '',
        waits: '',
      };
      this.runs.set(workflowId, watched);
      this.bySession.set(ref.sessionId, watched);
    }
    const detail = this.detail(watched);
    if (!detail) return undefined;
    watched.watchers++;
    return detail;
  }

  unwatch(workflowId: string): void {
    const watched = this.runs.get(workflowId);
    if (!watched) return;
    if (--watched.watchers > 0) return;
    this.runs.delete(workflowId);
    this.bySession.delete(watched.ref.sessionId);
  }

  /** From the bridge's inspection callback: O(1). */
  moved(sessionId: string): void {
    const watched = this.bySession.get(sessionId);
    if (watched) watched.moved = true;
  }

  /**
   * From the engine's event listener: an event of a run. A task event marks
   * that task to compare at the next batch; any other event, all of them.
   */
  noted(event: { workflowId: string; taskId?: unknown }): void {
    const watched = this.runs.get(event.workflowId);
    if (!watched || scansEveryCollect(watched)) return;
    if (typeof event.taskId === 'string') watched.dirty.add(event.taskId);
    else watched.scanAll = true;
  }

  /** The live context of a watched run (for task details). */
  context(workflowId: string): WorkflowContext | undefined {
    const watched = this.runs.get(workflowId);
    return watched ? contextOf(watched.ref) : undefined;
  }

  /**
   * Changes since the last call, per watched run that changed. A big run
   * whose gap ({@link changesGapMs}) has not passed is left for a later
   * call: {@link dueIn} says when.
   */
  collect(): RunChanges[] {
    const out: RunChanges[] = [];
    const now = this.deps.now();
    for (const [workflowId, watched] of this.runs) {
      if (!watched.moved) continue;
      const snapshot = watched.ref.getSnapshot() as { value?: unknown; status?: string };
      const context = contextOf(watched.ref);
      if (!context) {
        watched.moved = false;
        continue;
      }
      const state = stateName(snapshot.value);
      const ended = snapshot.status !== 'active';
      if (
        !ended &&
        state === watched.scannedState &&
        now - watched.collectedAt < changesGapMs(watched.shown.length)
      ) {
        continue;
      }
      watched.moved = false;
      watched.collectedAt = now;
      const error = runError(context);
      const stopReason = earlyStopReason(context);
      if (context.definition.tasks.length !== watched.shown.length) {
        const detail = this.detail(watched);
        if (detail) out.push({ workflowId, state, tasks: [], detail });
        continue;
      }
      const compensation = compensationOfContext(context);
      const tasks: TaskDelta[] = [];
      const compare = (i: number, id: string) => {
        const run = context.runs[id];
        if (!run) return;
        const comp = compensation?.get(id);
        const shown = watched.shown[i]!;
        if (same(shown, run, comp)) return;
        remember(shown, run, comp);
        const delta = taskDelta(context, id, compensation);
        if (delta) tasks.push(delta);
      };
      if (
        watched.scanAll ||
        ended ||
        state !== watched.scannedState ||
        now - watched.scannedAt >= FULL_SCAN_MS
      ) {
        const definitions = context.definition.tasks;
        for (let i = 0; i < definitions.length; i++) compare(i, definitions[i]!.id);
        watched.scanAll = false;
        watched.scannedAt = now;
        watched.scannedState = state;
      } else {
        // In definition order, as a whole scan would send them.
        const dirty = [...watched.dirty]
          .map((id) => watched.indexOf.get(id))
          .filter((i) => i !== undefined)
          .sort((a, b) => a - b);
        for (const i of dirty) compare(i, context.definition.tasks[i]!.id);
      }
      watched.dirty.clear();
      const waits = waitsKey(context);
      const waitsChanged = waits !== watched.waits;
      watched.waits = waits;
      out.push({
        workflowId,
        state,
        ...(error ? { error } : {}),
        ...(stopReason === undefined ? {} : { stopReason: clip(stopReason, 500) }),
        tasks,
        ...(waitsChanged ? { waits: waitViews(context) } : {}),
      });
    }
    return out;
  }

  /** The gap the hub leaves between batches: {@link batchGapMs} of the biggest live watched run. */
  batchGapMs(): number {
    let tasks = 0;
    for (const watched of this.runs.values()) {
      if (watched.shown.length <= tasks) continue;
      if ((watched.ref.getSnapshot() as { status?: string }).status === 'active') {
        tasks = watched.shown.length;
      }
    }
    return batchGapMs(tasks);
  }

  /** Milliseconds until the first run left by {@link collect} is due; undefined when none is left. */
  dueIn(): number | undefined {
    const now = this.deps.now();
    let due: number | undefined;
    for (const watched of this.runs.values()) {
      if (!watched.moved) continue;
      const wait = Math.max(0, watched.collectedAt + changesGapMs(watched.shown.length) - now);
      due = due === undefined ? wait : Math.min(due, wait);
    }
    return due;
  }

  private detail(watched: Watched): RunDetail | undefined {
    const snapshot = watched.ref.getSnapshot() as { value?: unknown; status?: string };
    const context = contextOf(watched.ref);
    if (!context) return undefined;
    const compensation = compensationOfContext(context);
    watched.waits = waitsKey(context);
    watched.indexOf = new Map(context.definition.tasks.map((task, i) => [task.id, i]));
    watched.dirty.clear();
    watched.scanAll = true;
    watched.shown = context.definition.tasks.map((task) => {
      const shown = emptyShown();
      const run = context.runs[task.id];
      if (run) remember(shown, run, compensation?.get(task.id));
      return shown;
    });
    return runDetailFromContext(
      context,
      toStateValue(snapshot.value),
      snapshot.status === 'active',
    );
  }
}

/**
 * Every collect of this run compares all its tasks (its changes gather for
 * at least {@link FULL_SCAN_MS}), so its events need not name them.
 */
function scansEveryCollect(watched: Watched): boolean {
  return changesGapMs(watched.shown.length) >= FULL_SCAN_MS;
}

function emptyShown(): Shown {
  return {
    status: 'pending',
    attempts: 0,
    progress: undefined,
    progressMessage: undefined,
    output: undefined,
    error: undefined,
    startedAt: undefined,
    finishedAt: undefined,
    compensation: undefined,
  };
}

function compensationKey(view: CompensationView | undefined): string | undefined {
  return view ? `${view.status}:${view.attempts ?? 0}` : undefined;
}

function same(shown: Shown, run: TaskRun, comp: CompensationView | undefined): boolean {
  return (
    shown.status === run.status &&
    shown.attempts === run.attempts &&
    shown.progress === run.progress &&
    shown.progressMessage === run.progressMessage &&
    shown.output === run.output &&
    shown.error === run.error &&
    shown.startedAt === run.startedAt &&
    shown.finishedAt === run.finishedAt &&
    shown.compensation === compensationKey(comp)
  );
}

function remember(shown: Shown, run: TaskRun, comp: CompensationView | undefined): void {
  shown.status = run.status;
  shown.attempts = run.attempts;
  shown.progress = run.progress;
  shown.progressMessage = run.progressMessage;
  shown.output = run.output;
  shown.error = run.error;
  shown.startedAt = run.startedAt;
  shown.finishedAt = run.finishedAt;
  shown.compensation = compensationKey(comp);
}

function contextOf(ref: AnyActorRef) {
  const context = (ref.getSnapshot() as { context?: unknown }).context;
  return isWorkflowContext(context) ? context : undefined;
}
