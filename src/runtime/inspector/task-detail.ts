/**
 * One task in full for the page's drawer (`task.get`): its input, a deep
 * preview of its output, every attempt (from the task's kept history, so
 * after a restart too, and this process's log of the attempt under way), its
 * place in a saga rollback with what its compensation returned, and its
 * idempotency key. Built on request for one task, so the run's task
 * list can stay small.
 */
import { keptMessage } from '../../machines/workflow/attempt-history.js';
import type { WorkflowContext } from '../../machines/workflow/context.js';
import { ownValue } from '../../schemas/dict.js';
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
    run,
    context.dependents[taskId],
    log,
    {
      retryAt: run.retryAt,
      compensationOutput: ownValue(context.compensation?.outputs, taskId),
    },
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
  const result = ownValue(record.result?.tasks, taskId);
  const compensation = record.result?.compensation
    ? compensationIndex(record.result.compensation)
    : undefined;
  const delta = result ? deltaOfResult(result, compensation?.get(taskId)) : pendingDelta(taskId);
  const dependents = record.definition.tasks
    .filter((t) => t.dependsOn.includes(taskId))
    .map((t) => t.id);
  return build(record.workflowId, definition, delta, result ?? {}, dependents, log, {
    compensationOutput: ownValue(record.result?.compensation?.outputs, taskId),
  });
}

/** What a task's run state or stored result says about its attempts and output. */
interface TaskHistory {
  output?: unknown;
  /** The last attempt's error, whole. */
  error?: { message: string } | undefined;
  lastAttemptStartedAt?: number | undefined;
  failedAttempts?:
    | readonly {
        attempt: number;
        startedAt?: number | undefined;
        endedAt: number;
        error: { message: string };
      }[]
    | undefined;
}

function build(
  workflowId: string,
  definition: TaskDefinition,
  delta: TaskDelta,
  history: TaskHistory,
  dependents: readonly string[] | undefined,
  log: readonly LoggedAttempt[] | undefined,
  extra: { retryAt?: number | undefined; compensationOutput?: unknown },
): TaskDetailView {
  const { output } = history;
  return {
    ...delta,
    workflowId,
    agent: definition.agent,
    description: clip(definition.description, 5_000),
    dependsOn: [...definition.dependsOn],
    dependents: [...(dependents ?? [])],
    input: previewJson(definition.input ?? null, INPUT_LIMITS),
    ...(output === undefined ? {} : { outputJson: previewJson(output, OUTPUT_LIMITS) }),
    attemptLog: attemptsOf(delta, definition.agent, history, log),
    idempotencyKey: `${workflowId}:${definition.id}`,
    ...(extra.retryAt === undefined ? {} : { retryAt: extra.retryAt }),
    ...(extra.compensationOutput === undefined
      ? {}
      : { compensationOutput: previewJson(extra.compensationOutput, OUTPUT_LIMITS) }),
  };
}

/**
 * Every attempt known, oldest first: the failed ones the task keeps (see
 * attempt-history.ts), what this process logged (the attempt under way, one
 * a cancel aborted), and the last one completed from the task's state.
 * What the process logged before the oldest kept attempt is left out, and
 * each error is clipped as a kept one is, so that a page of a later process,
 * which has only the kept state, shows the same.
 */
function attemptsOf(
  task: TaskDelta,
  agent: string,
  history: TaskHistory,
  log: readonly LoggedAttempt[] | undefined,
): AttemptView[] {
  if (task.attempts === 0) return [];
  const byAttempt = new Map<number, AttemptView>();
  const oldestKept = history.failedAttempts?.[0]?.attempt ?? 1;
  for (const logged of log ?? []) {
    if (logged.attempt >= oldestKept) byAttempt.set(logged.attempt, { ...logged, agent });
  }
  for (const failed of history.failedAttempts ?? []) {
    const logged = byAttempt.get(failed.attempt);
    byAttempt.set(failed.attempt, {
      attempt: failed.attempt,
      agent,
      outcome: 'failed',
      ...(failed.startedAt === undefined ? {} : { startedAt: failed.startedAt }),
      endedAt: failed.endedAt,
      error: failed.error.message,
      ...(logged?.retryAt === undefined ? {} : { retryAt: logged.retryAt }),
    });
  }
  const attempts = [...byAttempt.values()].sort((a, b) => a.attempt - b.attempt);
  for (const attempt of attempts) {
    if (attempt.outcome !== 'retrying' && attempt.outcome !== 'failed') continue;
    // Only the latest attempt of a task in backoff is a retry in waiting; a
    // backoff that has been waited out (a next attempt started, or the task
    // is ready again, say while the run is paused) leaves that attempt failed.
    const waiting = attempt.attempt === task.attempts && task.status === 'retrying';
    attempt.outcome = waiting ? 'retrying' : 'failed';
    if (!waiting) delete attempt.retryAt;
  }
  const first = attempts[0];
  if (first?.attempt === 1 && first.startedAt === undefined && task.startedAt !== undefined) {
    first.startedAt = task.startedAt;
  }
  const outcome = lastOutcome(task);
  if (!outcome) return attempts;
  const startedAt = task.attempts === 1 ? task.startedAt : history.lastAttemptStartedAt;
  // A task keeps its last error while its next attempt runs: only an attempt that ended badly has it.
  const error = ended(outcome) ? history.error && keptMessage(history.error.message) : undefined;
  const last = attempts.find((a) => a.attempt === task.attempts);
  if (last) {
    if (last.outcome === 'running') {
      last.outcome = outcome;
      if (last.startedAt === undefined && startedAt !== undefined) last.startedAt = startedAt;
      if (task.finishedAt !== undefined) last.endedAt = task.finishedAt;
    }
    if (error !== undefined && last.outcome === outcome) last.error = error;
    return attempts;
  }
  attempts.push({
    attempt: task.attempts,
    agent,
    outcome,
    ...(startedAt === undefined ? {} : { startedAt }),
    ...(task.finishedAt === undefined ? {} : { endedAt: task.finishedAt }),
    ...(error === undefined ? {} : { error }),
  });
  return attempts;
}

function ended(outcome: AttemptView['outcome']): boolean {
  return outcome === 'failed' || outcome === 'cancelled';
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
