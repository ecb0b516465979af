/**
 * What the page sees of a workflow run, built from a live run's context, a
 * stored run record or a stored checkpoint. Task texts and outputs are cut
 * to previews here, so a run with large outputs still travels in one frame.
 */
import type {
  CompensationState,
  TaskRun,
  WorkflowContext,
} from '../../machines/workflow/context.js';
import { earlyStopReason } from '../../machines/workflow/scheduler.js';
import { ownValue } from '../../schemas/dict.js';
import type { RunRecord } from '../../schemas/run-record.js';
import type { TaskDefinition } from '../../schemas/workflow-definition.js';
import { isRunEnded, type TaskResult } from '../../schemas/workflow-result.js';
import { clip, previewJson, previewText } from './preview.js';
import type {
  CompensationView,
  JsonPreview,
  RunDetail,
  RunSummary,
  StateValueJson,
  TaskDelta,
  TaskView,
  WaitView,
} from './protocol.js';

const OUTPUT_CHARS = 300;
const DESCRIPTION_CHARS = 200;
/** Room for a whole answer schema: the page checks answers against it. */
const SCHEMA_LIMITS = { depth: 10, keys: 100, items: 100, chars: 2_000, nodes: 2_000 };

/** The open waits of a run that a person can answer, oldest first (read only: never creates `waits`). */
export function waitViews(context: WorkflowContext): WaitView[] {
  const views: WaitView[] = [];
  for (const wait of Object.values(context.waits ?? {})) {
    if (wait.status !== 'waiting' || wait.kind === 'sleep' || wait.kind === 'child') continue;
    views.push({
      name: wait.name,
      taskId: wait.taskId,
      kind: wait.kind,
      since: wait.since,
      ...(wait.prompt === undefined ? {} : { prompt: clip(wait.prompt, 2_000) }),
      ...(wait.schema === undefined ? {} : { schema: previewJson(wait.schema, SCHEMA_LIMITS) }),
      ...(wait.deadline === undefined ? {} : { deadline: wait.deadline }),
    });
  }
  return views.sort((a, b) => a.since - b.since);
}

/** What identifies the set of open waits, to tell a page only when it changed. */
export function waitsKey(context: WorkflowContext): string {
  let key = '';
  for (const wait of Object.values(context.waits ?? {}))
    if (wait.status === 'waiting') key += `${wait.name}\u0000`;
  return key;
}

/** True when `context` looks like a workflow run's context (checked before any use). */
export function isWorkflowContext(context: unknown): context is WorkflowContext {
  if (typeof context !== 'object' || context === null) return false;
  const c = context as Partial<WorkflowContext>;
  return (
    typeof c.workflowId === 'string' &&
    typeof c.runs === 'object' &&
    c.runs !== null &&
    Array.isArray(c.definition?.tasks)
  );
}

/** The top-level state of a state value: `running`, `paused`, ... */
export function stateName(value: unknown): string {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null) return Object.keys(value)[0] ?? '';
  return '';
}

export function runSummary(
  context: WorkflowContext,
  value: StateValueJson | undefined,
): RunSummary {
  return {
    workflowId: context.workflowId,
    name: context.definition.name,
    state: stateName(value),
    total: context.definition.tasks.length,
    settled: context.settled,
    inFlight: context.inFlight,
    ...(context.startedAt ? { startedAt: context.startedAt } : {}),
  };
}

/** Each task's place in a saga rollback, or undefined when none has started. */
export type CompensationIndex = Map<string, CompensationView> | undefined;

export function compensationIndex(
  compensation: Pick<CompensationState, 'compensated' | 'failed'> &
    Partial<Pick<CompensationState, 'queue' | 'next' | 'attempts' | 'retryAt'>>,
): Map<string, CompensationView> {
  const index = new Map<string, CompensationView>();
  for (const id of compensation.queue ?? []) index.set(id, { status: 'pending' });
  const current = compensation.queue?.[compensation.next ?? 0];
  if (current !== undefined && (compensation.attempts ?? 0) > 0) {
    index.set(current, {
      status: compensation.retryAt === undefined ? 'running' : 'retrying',
      attempts: compensation.attempts ?? 0,
    });
  }
  for (const id of compensation.compensated) index.set(id, { status: 'completed' });
  for (const failed of compensation.failed) {
    index.set(failed.taskId, { status: 'failed', error: clip(failed.error.message, 500) });
  }
  return index;
}

export function compensationOfContext(context: WorkflowContext): CompensationIndex {
  return context.compensation ? compensationIndex(context.compensation) : undefined;
}

/** The current state of one task of a live run. */
export function taskDelta(
  context: WorkflowContext,
  taskId: string,
  compensation: CompensationIndex,
): TaskDelta | undefined {
  const run = context.runs[taskId];
  return run ? deltaOfRun(taskId, run, compensation?.get(taskId)) : undefined;
}

/** The run-level error a page shows: the failure or the cancel reason. */
export function runError(context: WorkflowContext): string | undefined {
  const error = context.failure
    ? `task "${context.failure.taskId}" failed: ${context.failure.error.message}`
    : context.cancelReason;
  return error === undefined ? undefined : clip(error, 500);
}

export function runDetailFromContext(
  context: WorkflowContext,
  value: StateValueJson | undefined,
  live: boolean,
): RunDetail {
  const compensation = compensationOfContext(context);
  const tasks = context.definition.tasks.map((task) => {
    const run = context.runs[task.id];
    const delta = run
      ? deltaOfRun(task.id, run, compensation?.get(task.id))
      : pendingDelta(task.id);
    return withDefinition(delta, task);
  });
  const state = stateName(value);
  const error = runError(context);
  const stopReason = earlyStopReason(context);
  return {
    workflowId: context.workflowId,
    name: context.definition.name,
    state,
    live,
    tasks,
    shared: previewJson(context.shared),
    waits: waitViews(context),
    ...(context.startedAt ? { startedAt: context.startedAt } : {}),
    ...(error ? { error } : {}),
    ...(stopReason === undefined ? {} : { stopReason: clip(stopReason, 500) }),
  };
}

/** A stored run, read-only: its result when it ended, else its definition with what is known. */
export function runDetailFromRecord(record: RunRecord): RunDetail {
  const compensation = record.result?.compensation
    ? compensationIndex(record.result.compensation)
    : undefined;
  const stopReason = record.result?.stopReason;
  const tasks = record.definition.tasks.map((task) => {
    const result = ownValue(record.result?.tasks, task.id);
    return withDefinition(
      result ? deltaOfResult(result, compensation?.get(task.id)) : pendingDelta(task.id),
      task,
    );
  });
  return {
    workflowId: record.workflowId,
    name: record.definition.name,
    state: record.status,
    live: false,
    tasks,
    shared: previewJson(record.result?.context ?? {}),
    waits: [],
    ...(record.result ? { startedAt: record.result.startedAt } : {}),
    // An interrupted or paused run's rebuilt state (see requests.ts) has not finished.
    ...(record.result && isRunEnded(record.result.status)
      ? { finishedAt: record.result.finishedAt }
      : {}),
    ...(record.result?.error ? { error: clip(record.result.error.message, 500) } : {}),
    ...(stopReason === undefined ? {} : { stopReason: clip(stopReason, 500) }),
  };
}

/**
 * A checkpoint as the durability layer stores it (`snapshots/<id>/<seq>`:
 * the state value and the context serialised as JSON text), or a plain
 * persisted snapshot with the context as an object; null for anything else.
 */
export function runDetailFromCheckpoint(checkpoint: unknown): RunDetail | null {
  const { context, value } = checkpointParts(checkpoint);
  if (!isWorkflowContext(context)) return null;
  return runDetailFromContext(context, toStateValue(value), false);
}

/** The run context a checkpoint holds, or undefined when it holds none. */
export function checkpointContext(checkpoint: unknown): WorkflowContext | undefined {
  const { context } = checkpointParts(checkpoint);
  return isWorkflowContext(context) ? context : undefined;
}

/** The checkpoint's own fields and a bounded preview of its context, for the raw view. */
export function checkpointPreview(checkpoint: unknown): JsonPreview {
  if (typeof checkpoint !== 'object' || checkpoint === null) return previewJson(checkpoint);
  const { context } = checkpointParts(checkpoint);
  return previewJson(
    { ...checkpoint, context },
    { depth: 10, keys: 200, items: 200, nodes: 6_000 },
  );
}

function checkpointParts(checkpoint: unknown): { context: unknown; value: unknown } {
  if (typeof checkpoint !== 'object' || checkpoint === null)
    return { context: undefined, value: undefined };
  const { context, value } = checkpoint as { context?: unknown; value?: unknown };
  if (typeof context !== 'string') return { context, value };
  try {
    return { context: JSON.parse(context) as unknown, value };
  } catch {
    // A corrupt checkpoint is shown raw; recovery reports it properly.
    return { context: undefined, value };
  }
}

export function toStateValue(value: unknown): StateValueJson | undefined {
  if (typeof value === 'string') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const out: Record<string, StateValueJson> = {};
  for (const [key, child] of Object.entries(value)) {
    const converted = toStateValue(child);
    if (converted !== undefined) out[key] = converted;
  }
  return out;
}

export function deltaOfRun(
  id: string,
  run: TaskRun,
  compensation: CompensationView | undefined,
): TaskDelta {
  return {
    id,
    status: run.status,
    attempts: run.attempts,
    ...(run.startedAt === undefined ? {} : { startedAt: run.startedAt }),
    ...(run.finishedAt === undefined ? {} : { finishedAt: run.finishedAt }),
    ...(run.progress === undefined ? {} : { progress: run.progress }),
    ...(run.progressMessage ? { progressMessage: clip(run.progressMessage, 200) } : {}),
    ...(run.output === undefined ? {} : { output: previewText(run.output, OUTPUT_CHARS) }),
    ...(run.error ? { error: clip(run.error.message, 500) } : {}),
    ...(run.skipReason ? { skipReason: clip(run.skipReason, 200) } : {}),
    ...(compensation ? { compensation } : {}),
  };
}

export function deltaOfResult(
  result: TaskResult,
  compensation: CompensationView | undefined,
): TaskDelta {
  return {
    id: result.taskId,
    status: result.status,
    attempts: result.attempts,
    ...(result.startedAt === undefined ? {} : { startedAt: result.startedAt }),
    ...(result.finishedAt === undefined ? {} : { finishedAt: result.finishedAt }),
    ...(result.progress === undefined ? {} : { progress: result.progress }),
    ...(result.progressMessage ? { progressMessage: clip(result.progressMessage, 200) } : {}),
    ...(result.output === undefined ? {} : { output: previewText(result.output, OUTPUT_CHARS) }),
    ...(result.error ? { error: clip(result.error.message, 500) } : {}),
    ...(result.skipReason ? { skipReason: clip(result.skipReason, 200) } : {}),
    ...(compensation ? { compensation } : {}),
  };
}

export function pendingDelta(id: string): TaskDelta {
  return { id, status: 'pending', attempts: 0 };
}

function withDefinition(delta: TaskDelta, task: TaskDefinition): TaskView {
  return {
    ...delta,
    agent: task.agent,
    dependsOn: [...task.dependsOn],
    description: clip(task.description, DESCRIPTION_CHARS),
  };
}
