/**
 * One task in full for the page's drawer (`task.get`): its input, a deep
 * preview of its output, every attempt known, its place in a saga rollback
 * and its idempotency key. Built on request for one task, so the run's task
 * list can stay small.
 */
import type { WorkflowContext } from '../../machines/workflow/context.js';
import type { RunRecord } from '../../schemas/run-record.js';
import type { TaskDefinition } from '../../schemas/workflow-definition.js';
import type { AttemptStarted, LoggedAttempt } from './attempt-log.js';
import { clip, previewJson } from './preview.js';
import type { AttemptView, TaskDelta, TaskDetailView } from './protocol.js';
import {
  compensationIndex,
  compensationOfContext,
  deltaOfResult,
  pendingDelta,
  taskDelta,
} from './run-view.js';

const OUTPUT_LIMITS = { depth: 8, keys: 60, items: 60, chars: 4_000, nodes: 2_000 };
const INPUT_LIMITS = { depth: 8, keys: 60, items: 60, chars: 2_000, nodes: 1_000 };

export function taskDetailFromContext(
  context: WorkflowContext,
  taskId: string,
  log: readonly LoggedAttempt[] | undefined,
  /** The attempt under way, as the engine's `task.started` told it: the context has no start until it ends. */
  started?: AttemptStarted,
): TaskDetailView | undefined {
  const index = context.index[taskId];
  const definition = index === undefined ? undefined : context.definition.tasks[index];
  const known = taskDelta(context, taskId, compensationOfContext(context));
  if (!definition || !known) return undefined;
  const delta =
    known.startedAt === undefined &&
    started !== undefined &&
    started.attempt === 1 &&
    known.attempts === 1
      ? { ...known, startedAt: started.at }
      : known;
  const run = context.runs[taskId]!;
  const detail = build(
    context.workflowId,
    definition,
    delta,
    run.output,
    context.dependents[taskId],
    log,
    { retryAt: run.retryAt },
  );
  const current = detail.attemptLog.find((a) => a.attempt === started?.attempt);
  if (current?.outcome === 'running' && current.startedAt === undefined)
    current.startedAt = started!.at;
  return detail;
}

export function taskDetailFromRecord(
  record: RunRecord,
  taskId: string,
  log: readonly LoggedAttempt[] | undefined,
): TaskDetailView | undefined {
  const definition = record.definition.tasks.find((t) => t.id === taskId);
  if (!definition) return undefined;
  const result = record.result?.tasks[taskId];
  const compensation = record.result?.compensation
    ? compensationIndex(record.result.compensation)
    : undefined;
  const delta = result ? deltaOfResult(result, compensation?.get(taskId)) : pendingDelta(taskId);
  const dependents = record.definition.tasks
    .filter((t) => t.dependsOn.includes(taskId))
    .map((t) => t.id);
  return build(record.workflowId, definition, delta, result?.output, dependents, log, {});
}

function build(
  workflowId: string,
  definition: TaskDefinition,
  delta: TaskDelta,
  output: unknown,
  dependents: readonly string[] | undefined,
  log: readonly LoggedAttempt[] | undefined,
  extra: { retryAt?: number | undefined },
): TaskDetailView {
  return {
    ...delta,
    workflowId,
    agent: definition.agent,
    description: clip(definition.description, 5_000),
    dependsOn: [...definition.dependsOn],
    dependents: [...(dependents ?? [])],
    input: previewJson(definition.input ?? null, INPUT_LIMITS),
    ...(output === undefined ? {} : { outputJson: previewJson(output, OUTPUT_LIMITS) }),
    attemptLog: attemptsOf(delta, definition.agent, log),
    idempotencyKey: `${workflowId}:${definition.id}`,
    ...(extra.retryAt === undefined ? {} : { retryAt: extra.retryAt }),
  };
}

/**
 * The attempts logged while this process ran the task, with the last one
 * completed from the task's current state. Without a log (a run from
 * before a restart) only the last attempt is known.
 */
function attemptsOf(
  task: TaskDelta,
  agent: string,
  log: readonly LoggedAttempt[] | undefined,
): AttemptView[] {
  if (task.attempts === 0) return [];
  // A backoff that has been waited out (a next attempt started, or the task is
  // ready again, say while the run is paused) is no longer a retry in waiting: that attempt failed.
  const attempts: AttemptView[] = (log ?? []).map((a) => ({
    ...a,
    agent,
    ...(a.outcome === 'retrying' && (a.attempt < task.attempts || task.status !== 'retrying')
      ? { outcome: 'failed' as const }
      : {}),
  }));
  const first = attempts[0];
  if (first?.attempt === 1 && first.startedAt === undefined && task.startedAt !== undefined) {
    first.startedAt = task.startedAt;
  }
  const last = attempts.find((a) => a.attempt === task.attempts);
  const outcome = lastOutcome(task);
  if (!outcome) return attempts;
  if (last) {
    if (last.outcome === 'running') {
      last.outcome = outcome;
      if (task.finishedAt !== undefined) last.endedAt = task.finishedAt;
      if (task.error && outcome !== 'completed') last.error = task.error;
    }
    return attempts;
  }
  attempts.push({
    attempt: task.attempts,
    agent,
    outcome,
    ...(task.attempts === 1 && task.startedAt !== undefined ? { startedAt: task.startedAt } : {}),
    ...(task.finishedAt === undefined ? {} : { endedAt: task.finishedAt }),
    ...(task.error && outcome !== 'completed' ? { error: task.error } : {}),
  });
  return attempts;
}

function lastOutcome(task: TaskDelta): AttemptView['outcome'] | undefined {
  switch (task.status) {
    case 'running':
    case 'completed':
    case 'failed':
    case 'cancelled':
      return task.status;
    default:
      // pending, retrying (the failed attempt is in the log), skipped: no attempt under way.
      return undefined;
  }
}
