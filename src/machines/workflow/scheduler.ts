/**
 * The scheduling rules of a workflow run, as pure functions over its context.
 * The machine (workflow.machine.ts) decides *when* each applies; these decide
 * *what* changes and which effects follow. They never copy a collection, so
 * the cost per event does not grow with the size of the workflow.
 *
 * Readiness and skipping, the documented rule:
 * - A task becomes eligible when every dependency has settled.
 * - If it has dependencies and every one of them was skipped, it is skipped
 *   too ("upstream skipped"): a skip propagates to whatever depends only on
 *   skipped tasks, and stops at a task with at least one completed dependency.
 * - Otherwise its condition, if any, is evaluated: false skips the task.
 * - Eligible tasks are dispatched in the order they became eligible, at most
 *   `maxConcurrency` at a time.
 */
import type { SerializedError } from '../../errors.js';
import { dict } from '../../schemas/dict.js';
import {
  DEFAULT_RETRY_POLICY,
  type RetryPolicy,
  type TaskDefinition,
} from '../../schemas/workflow-definition.js';
import { backoffDelay } from '../backoff.js';
import { createFifo, fifoPush, fifoSize, fifoTake } from '../fifo.js';
import { type AttemptStart, type TaskAssignment, workflowSystemId } from '../protocol.js';
import { recordAttemptStart, rememberFailedAttempt } from './attempt-history.js';
import { type ConditionGuard, type ConditionSubject, evaluateCondition } from './conditions.js';
import type { TaskRun, WorkflowContext, WorkflowInput } from './context.js';
import type { WorkflowEmitted } from './events.js';
import { applySharedUpdates, releaseSharedView, sharedViewOf } from './shared-versions.js';
import { memoOf, notBeforeTime, notBeforeWaitName, openNotBefore } from './waits.js';

export function createWorkflowContext(input: WorkflowInput): WorkflowContext {
  const context: WorkflowContext = {
    workflowId: input.workflowId,
    definition: input.definition,
    index: dict(),
    runs: dict(),
    dependents: dict(),
    ready: createFifo(),
    retrying: [],
    inFlight: 0,
    settled: 0,
    // Its own object: it is updated in place.
    shared: { ...input.shared },
    startedAt: 0,
    lastEventAt: 0,
    completionOrder: [],
  };
  linkTasks(context, input.definition.tasks, 0);
  return context;
}

/**
 * A context rebuilt from the store (plain JSON), handed over by its reader:
 * its tables keyed by task id get their prototype-free form back, so a task
 * added later with the id `__proto__` or `constructor` is stored like any
 * other. In place (JSON.parse makes every key an own property, `__proto__`
 * included): copying the three tables cost a resumed 10,000-task run about
 * 50 ms, setting their prototypes costs nothing.
 */
export function restoreWorkflowContext(context: WorkflowContext): WorkflowContext {
  for (const table of [context.index, context.runs, context.dependents]) {
    Object.setPrototypeOf(table, null);
  }
  if (context.compensation?.outputs) Object.setPrototypeOf(context.compensation.outputs, null);
  return context;
}

/** Indexes tasks (new or added at run time) and their edges. Returns the ids with nothing to wait for. */
function linkTasks(context: WorkflowContext, tasks: readonly TaskDefinition[], offset: number) {
  const unblocked: string[] = [];
  tasks.forEach((task, i) => {
    context.index[task.id] = offset + i;
    context.dependents[task.id] ??= [];
    let waitingOn = 0;
    for (const dep of task.dependsOn) {
      if (!isSettled(context.runs[dep])) waitingOn++;
    }
    context.runs[task.id] = { status: 'pending', attempts: 0, waitingOn };
    if (waitingOn === 0) unblocked.push(task.id);
  });
  // Edges after all runs exist, so tasks added together can depend on each other.
  for (const task of tasks) {
    for (const dep of task.dependsOn) {
      const dependents = context.dependents[dep] ?? [];
      dependents.push(task.id);
      context.dependents[dep] = dependents;
    }
  }
  return unblocked;
}

function isSettled(run: TaskRun | undefined): boolean {
  return run !== undefined && (run.status === 'completed' || run.status === 'skipped');
}

export function taskDefinition(context: WorkflowContext, taskId: string): TaskDefinition {
  return context.definition.tasks[context.index[taskId]!]!;
}

export function totalTasks(context: WorkflowContext): number {
  return context.definition.tasks.length;
}

/** The tasks that can start at the beginning of a run. */
export function initialReady(context: WorkflowContext, guards: GuardRegistry): WorkflowEmitted[] {
  const emitted: WorkflowEmitted[] = [];
  // Collected before resolving: a skip propagates and brings dependents to
  // `waitingOn === 0`, and those must not be resolved (and counted) twice.
  const unblocked = context.definition.tasks.filter((t) => context.runs[t.id]!.waitingOn === 0);
  for (const task of unblocked) resolveEligible(context, task.id, guards, emitted);
  return emitted;
}

export type GuardRegistry = ReadonlyMap<string, ConditionGuard>;

/**
 * A task's dependencies have all settled: queue it, or skip it and propagate
 * the skip (iteratively, so a long chain cannot overflow the stack).
 */
function resolveEligible(
  context: WorkflowContext,
  taskId: string,
  guards: GuardRegistry,
  emitted: WorkflowEmitted[],
): void {
  const stack = [taskId];
  while (stack.length > 0) {
    const id = stack.pop()!;
    const task = taskDefinition(context, id);
    const skipReason = whySkip(context, task, guards);
    if (skipReason === undefined) {
      const notBefore = notBeforeTime(task);
      if (notBefore !== undefined && notBefore > context.lastEventAt) {
        emitted.push(...openNotBefore(context, id, context.runs[id]!, notBefore));
      } else fifoPush(context.ready, id);
      continue;
    }
    const run = context.runs[id]!;
    run.status = 'skipped';
    run.skipReason = skipReason;
    run.finishedAt = context.lastEventAt;
    context.settled++;
    emitted.push({
      type: 'task.skipped',
      workflowId: context.workflowId,
      taskId: id,
      reason: skipReason,
    });
    for (const dependent of context.dependents[id]!) {
      if (--context.runs[dependent]!.waitingOn === 0) stack.push(dependent);
    }
  }
}

function whySkip(
  context: WorkflowContext,
  task: TaskDefinition,
  guards: GuardRegistry,
): string | undefined {
  if (
    task.dependsOn.length > 0 &&
    task.dependsOn.every((d) => context.runs[d]!.status === 'skipped')
  ) {
    return `every dependency was skipped (${task.dependsOn.join(', ')})`;
  }
  if (!task.condition) return undefined;
  const verdict = evaluateCondition(task.condition, {
    results: context.runs as Record<string, ConditionSubject>,
    shared: context.shared,
    guards,
  });
  return verdict.pass ? undefined : `condition not met: ${verdict.reason}`;
}

/** Takes ready tasks while there is room under `maxConcurrency` (and at most `max` of them). */
export function takeDispatchable(context: WorkflowContext, max = Infinity): TaskAssignment[] {
  const assignments: TaskAssignment[] = [];
  const limit = context.definition.maxConcurrency;
  while (context.inFlight < limit && fifoSize(context.ready) > 0 && assignments.length < max) {
    const taskId = fifoTake(context.ready)!;
    const task = taskDefinition(context, taskId);
    const run = context.runs[taskId]!;
    run.status = 'running';
    run.attempts++;
    context.inFlight++;
    // Keyed by task id: prototype-free, which also spares V8 a new object
    // shape per distinct id (a plain object literal got one per task).
    const dependencies = dict<unknown>();
    for (const dep of task.dependsOn) {
      const depRun = context.runs[dep]!;
      if (depRun.status === 'completed') dependencies[dep] = depRun.output;
    }
    const timeoutMs = task.timeoutMs ?? context.definition.defaults.timeoutMs;
    const memo = memoOf(context, run);
    const assignment = {
      workflowId: context.workflowId,
      taskId,
      attempt: run.attempts,
      agent: task.agent,
      description: task.description,
      input: task.input,
      dependencies,
      replyTo: workflowSystemId(context.workflowId),
      dispatchedAt: context.lastEventAt,
    } as TaskAssignment;
    if (timeoutMs !== undefined) assignment.timeoutMs = timeoutMs;
    if (memo) assignment.memo = memo;
    // Built when read: most tasks never read it, and a copy per dispatch is O(keys).
    Object.defineProperty(assignment, 'shared', {
      get: sharedViewOf(context.shared, taskId),
      enumerable: true,
    });
    assignments.push(assignment);
  }
  return assignments;
}

/** The run of the attempt a report is about, or undefined if the report is stale. */
export function currentRun(
  context: WorkflowContext,
  report: { taskId: string; attempt: number },
): TaskRun | undefined {
  const run = context.runs[report.taskId];
  // A waiting attempt is still the current one: it may end without its wait.
  if ((run?.status !== 'running' && run?.status !== 'waiting') || run.attempts !== report.attempt)
    return undefined;
  return run;
}

/** A `task.started` event, as journals written before reports carried `startedAt` hold it. */
export function recordStart(context: WorkflowContext, run: TaskRun, at: number): void {
  context.lastEventAt = at;
  recordAttemptStart(run, at);
}

/**
 * A task completed. Its dependents are released only while the run is
 * `releasing` (running or paused); a failing or cancelling run lets in-flight
 * work finish and starts nothing new.
 */
export function recordCompletion(
  context: WorkflowContext,
  run: TaskRun,
  report: {
    taskId: string;
    at: number;
    output: unknown;
    sharedUpdates?: Record<string, unknown>;
  } & AttemptStart,
  addedTasks: readonly TaskDefinition[],
  guards: GuardRegistry,
  releasing: boolean,
): WorkflowEmitted[] {
  recordAttemptStart(run, report.startedAt);
  context.lastEventAt = report.at;
  context.inFlight--;
  context.settled++;
  run.status = 'completed';
  context.completionOrder.push(report.taskId);
  run.output = report.output;
  run.finishedAt = report.at;
  run.progress = 1;
  // Released first: in a chain no other view is in flight, so nothing is logged.
  releaseSharedView(context.shared, report.taskId);
  if (report.sharedUpdates) applySharedUpdates(context.shared, report.sharedUpdates);
  const emitted: WorkflowEmitted[] = [
    {
      type: 'task.completed',
      workflowId: context.workflowId,
      taskId: report.taskId,
      output: report.output,
      at: report.at,
    },
  ];
  if (releasing) {
    for (const dependent of context.dependents[report.taskId]!) {
      const next = context.runs[dependent]!;
      if (next.status === 'pending' && --next.waitingOn === 0) {
        resolveEligible(context, dependent, guards, emitted);
      }
    }
  }
  // Added tasks are linked after the release above: one that depends on this
  // task already counts it as settled, so it must not be released again.
  if (addedTasks.length > 0) {
    const offset = context.definition.tasks.length;
    context.definition.tasks.push(...addedTasks);
    const unblocked = linkTasks(context, addedTasks, offset);
    emitted.push({
      type: 'tasks.added',
      workflowId: context.workflowId,
      by: report.taskId,
      taskIds: addedTasks.map((t) => t.id),
    });
    // Added tasks that depend only on settled tasks are ready at once.
    if (releasing) {
      for (const id of unblocked) resolveEligible(context, id, guards, emitted);
    }
  }
  return emitted;
}

/** An attempt failed: schedule a retry, or fail the task (and so the run) for good. */
export function recordFailure(
  context: WorkflowContext,
  run: TaskRun,
  report: { taskId: string; at: number; error: SerializedError; retryable: boolean } & AttemptStart,
): WorkflowEmitted {
  recordAttemptStart(run, report.startedAt);
  context.lastEventAt = report.at;
  context.inFlight--;
  releaseSharedView(context.shared, report.taskId);
  run.error = report.error;
  const task = taskDefinition(context, report.taskId);
  const policy = retryPolicy(context, task);
  if (report.retryable && run.attempts < policy.maxAttempts) {
    const delayMs = backoffDelay(
      policy,
      run.attempts,
      `${context.workflowId}:${task.id}:${run.attempts}`,
    );
    rememberFailedAttempt(run, report.at, report.error);
    run.status = 'retrying';
    run.retryAt = report.at + delayMs;
    // A new attempt starts afresh: its steps run and its waits ask again.
    run.steps = undefined;
    run.waits = undefined;
    context.retrying.push(task.id);
    return {
      type: 'task.retrying',
      workflowId: context.workflowId,
      taskId: task.id,
      attempt: run.attempts,
      error: report.error,
      at: report.at,
      retryAt: run.retryAt,
    };
  }
  run.status = 'failed';
  run.finishedAt = report.at;
  context.settled++;
  context.failure ??= { taskId: task.id, error: report.error };
  return {
    type: 'task.failed',
    workflowId: context.workflowId,
    taskId: task.id,
    attempt: run.attempts,
    error: report.error,
    at: report.at,
  };
}

/**
 * An attempt failed while the run is cancelling, most often because the
 * cancellation aborted it: the task ends `cancelled` (keeping the error), it
 * does not fail the run and is not retried.
 */
export function recordCancellation(
  context: WorkflowContext,
  run: TaskRun,
  report: { at: number; error: SerializedError; taskId: string } & AttemptStart,
): WorkflowEmitted {
  // The aborted attempt's report says when it started: its start is kept as a finished one's is.
  recordAttemptStart(run, report.startedAt);
  context.lastEventAt = report.at;
  context.inFlight--;
  context.settled++;
  releaseSharedView(context.shared, report.taskId);
  run.status = 'cancelled';
  run.error = report.error;
  run.finishedAt = report.at;
  return {
    type: 'task.cancelled',
    workflowId: context.workflowId,
    taskId: report.taskId,
    at: report.at,
    reason: report.error.message,
  };
}

export function retryPolicy(context: WorkflowContext, task: TaskDefinition): RetryPolicy {
  return { ...DEFAULT_RETRY_POLICY, ...context.definition.defaults.retry, ...task.retry };
}

/** Moves tasks whose backoff has elapsed back to the ready queue. */
export function releaseDueRetries(context: WorkflowContext, now: number): WorkflowEmitted[] {
  context.lastEventAt = Math.max(context.lastEventAt, now);
  const waiting: string[] = [];
  const emitted: WorkflowEmitted[] = [];
  for (const taskId of context.retrying) {
    const run = context.runs[taskId]!;
    if (run.status !== 'retrying') continue;
    if (run.retryAt! <= now) {
      run.status = 'pending';
      run.retryAt = undefined;
      fifoPush(context.ready, taskId);
      emitted.push({ type: 'task.ready', workflowId: context.workflowId, taskId, at: now });
    } else {
      waiting.push(taskId);
    }
  }
  context.retrying = waiting;
  return emitted;
}

/** Attempts an agent holds (running, or waiting inside its code), for aborting them. */
export function runningTasks(context: WorkflowContext): { taskId: string; agent: string }[] {
  const running: { taskId: string; agent: string }[] = [];
  for (const task of context.definition.tasks) {
    if (heldByAgent(context, task, context.runs[task.id]!))
      running.push({ taskId: task.id, agent: task.agent });
  }
  return running;
}

/** Whether an agent holds the task's attempt: running, or waiting inside its code (not for its `notBefore` time). */
function heldByAgent(context: WorkflowContext, task: TaskDefinition, run: TaskRun): boolean {
  if (task.kind !== 'agent') return false;
  if (run.status === 'running') return true;
  return (
    run.status === 'waiting' && context.waits?.[notBeforeWaitName(task.id)]?.status !== 'waiting'
  );
}

/**
 * After a restore: attempts that were in flight when the process died go back
 * to the front of the ready queue with their attempt number, so they are
 * dispatched again as the same attempt (a crash is not the task's failure).
 */
export function requeueInFlight(context: WorkflowContext): string[] {
  const requeued: string[] = [];
  for (const task of context.definition.tasks) {
    const run = context.runs[task.id]!;
    // An agent waiting inside its code runs again up to its wait (see waits.ts).
    if (!heldByAgent(context, task, run)) continue;
    run.status = 'pending';
    run.attempts--;
    context.inFlight--;
    requeued.push(task.id);
  }
  // Ahead of tasks that became ready later.
  context.ready.items.splice(context.ready.head, 0, ...requeued);
  return requeued;
}

/** Why a run stops early, once it does: the cancel's reason, else the task failure that stops it. */
export function earlyStopReason(context: WorkflowContext): string | undefined {
  if (context.cancelReason !== undefined) return context.cancelReason;
  return context.failure ? `the run stopped: task "${context.failure.taskId}" failed` : undefined;
}

/** The reason a run that ended `outcome` (not completed) gives the tasks it cancels, and its result's `stopReason`. */
export function stopReason(context: WorkflowContext, outcome: string): string {
  return earlyStopReason(context) ?? `the run ended ${outcome}`;
}

/** At the end of a run that did not complete: whatever never settled is cancelled. */
export function cancelUnsettled(context: WorkflowContext, reason: string): WorkflowEmitted[] {
  const emitted: WorkflowEmitted[] = [];
  for (const task of context.definition.tasks) {
    const run = context.runs[task.id]!;
    if (
      run.status === 'pending' ||
      run.status === 'retrying' ||
      run.status === 'running' ||
      run.status === 'waiting'
    ) {
      run.status = 'cancelled';
      run.retryAt = undefined;
      emitted.push({
        type: 'task.cancelled',
        workflowId: context.workflowId,
        taskId: task.id,
        at: context.lastEventAt,
        reason,
      });
    }
  }
  context.retrying = [];
  return emitted;
}
