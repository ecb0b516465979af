/**
 * Durable waits, as pure functions over a run's context (the machine decides
 * when each applies and performs the effects they ask for).
 *
 * A wait is a record in `context.waits`, keyed by its name (unique within a
 * run). Two owners:
 * - `agent`: an attempt called `ctx.waitFor`, `ctx.sleep` or
 *   `ctx.startChild`. The task is `waiting`; the outcome goes back to the
 *   agent's code, which resumes. After a restart the attempt is dispatched
 *   again with the outcomes (and `ctx.step` results) it already had, so those
 *   calls return at once.
 * - `task`: the task itself waits (kinds `approval`, `input`, `workflow`, and
 *   a `notBefore` time). The outcome settles the task, or releases it.
 *
 * Deadlines are data: the machine arms one timer per wait from them, again
 * after a restore.
 */
import type { SerializedError } from '../../errors.js';
import type { TaskDefinition } from '../../schemas/workflow-definition.js';
import type { WaitInfo } from '../../schemas/workflow-result.js';
import type { ChildSpec, TaskReport, WaitOutcome, WaitRequest } from '../protocol.js';
import type { TaskRun, WaitState, WorkflowContext } from './context.js';
import type { WorkflowEmitted } from './events.js';

/** The answer schema of an `approval` task (and of `troupe approve` / `reject`). */
export const APPROVAL_SCHEMA: Record<string, unknown> = {
  type: 'object',
  properties: {
    approved: { type: 'boolean' },
    reason: { type: 'string' },
    by: { type: 'string' },
  },
  required: ['approved'],
  additionalProperties: false,
};

export function waitsOf(context: WorkflowContext): Record<string, WaitState> {
  context.waits ??= {};
  return context.waits;
}

/** The id of a child run: derived from its parent's, so a restarted parent finds the same child. */
export function childRunId(workflowId: string, taskId: string, index?: number): string {
  return index === undefined ? `${workflowId}.${taskId}` : `${workflowId}.${taskId}.${index}`;
}

/** Name of the wait that holds a task until its `notBefore` time. */
export function notBeforeWaitName(taskId: string): string {
  return `notBefore:${taskId}`;
}

export function notBeforeTime(task: TaskDefinition): number | undefined {
  if (task.notBefore === undefined) return undefined;
  return typeof task.notBefore === 'number' ? task.notBefore : Date.parse(task.notBefore);
}

function waitingEvent(context: WorkflowContext, wait: WaitState, at: number): WorkflowEmitted {
  return {
    type: 'task.waiting',
    workflowId: context.workflowId,
    taskId: wait.taskId,
    name: wait.name,
    kind: wait.kind,
    at,
    ...(wait.prompt === undefined ? {} : { prompt: wait.prompt }),
    ...(wait.schema === undefined ? {} : { schema: wait.schema }),
    ...(wait.deadline === undefined ? {} : { deadline: wait.deadline }),
    ...(wait.child ? { childId: wait.child.id } : {}),
  };
}

function childStart(context: WorkflowContext, wait: WaitState): WorkflowEmitted {
  return {
    type: 'child.start',
    workflowId: context.workflowId,
    taskId: wait.taskId,
    name: wait.name,
    child: wait.child!,
  };
}

/** The effects of opening (or announcing again) a wait. */
function announce(context: WorkflowContext, wait: WaitState, at: number): WorkflowEmitted[] {
  const emitted = [waitingEvent(context, wait, at)];
  if (wait.child) emitted.push(childStart(context, wait));
  return emitted;
}

/** What opening an agent's wait asks the machine to do. */
export type AgentWaitResult =
  | { type: 'opened'; emitted: WorkflowEmitted[] }
  /** The wait had already ended (a report sent again): its outcome goes back to the agent. */
  | { type: 'resolved'; outcome: WaitOutcome }
  | { type: 'refused'; error: SerializedError };

/**
 * An attempt reports that it waits. The same wait reported again (the agent
 * re-invoked after a restart) keeps its first deadline: time already waited
 * counts.
 */
export function openAgentWait(
  context: WorkflowContext,
  run: TaskRun,
  report: Extract<TaskReport, { type: 'task.waiting' }>,
): AgentWaitResult {
  const waits = waitsOf(context);
  const { wait: request, taskId, attempt, at } = report;
  context.lastEventAt = Math.max(context.lastEventAt, at);
  const existing = waits[request.name];
  if (existing && existing.taskId !== taskId) {
    return {
      type: 'refused',
      error: {
        name: 'TroupeError',
        code: 'INVALID_INPUT',
        message: `Task "${taskId}" waits for "${request.name}", a name task "${existing.taskId}" already uses in workflow "${context.workflowId}"; wait names are unique within a run.`,
      },
    };
  }
  if (existing && existing.attempt === attempt) {
    if (existing.outcome) return { type: 'resolved', outcome: existing.outcome };
    run.status = 'waiting';
    return { type: 'opened', emitted: announce(context, existing, at) };
  }
  const wait = newWait(request, { taskId, attempt, owner: 'agent', since: at });
  waits[wait.name] = wait;
  run.waits ??= [];
  run.waits.push(wait.name);
  run.status = 'waiting';
  return { type: 'opened', emitted: announce(context, wait, at) };
}

function newWait(
  request: WaitRequest | (Omit<WaitRequest, 'kind'> & { kind: WaitState['kind'] }),
  fields: Pick<WaitState, 'taskId' | 'attempt' | 'owner' | 'since'>,
): WaitState {
  return {
    name: request.name,
    kind: request.kind,
    status: 'waiting',
    ...fields,
    ...(request.prompt === undefined ? {} : { prompt: request.prompt }),
    ...(request.schema === undefined ? {} : { schema: request.schema }),
    ...(request.deadline === undefined ? {} : { deadline: request.deadline }),
    ...(request.child ? { child: request.child } : {}),
  };
}

/**
 * A task of kind `approval`, `input` or `workflow` was dispatched: it waits
 * (holding its concurrency slot) instead of going to an agent.
 */
export function openTaskWait(
  context: WorkflowContext,
  task: TaskDefinition,
  run: TaskRun,
): WorkflowEmitted[] {
  const at = context.lastEventAt;
  const kind = task.kind === 'workflow' ? 'child' : (task.kind as 'approval' | 'input');
  const timeoutMs = task.timeoutMs ?? context.definition.defaults.timeoutMs;
  const child: ChildSpec | undefined =
    task.kind === 'workflow'
      ? {
          id: childRunId(context.workflowId, task.id),
          ...(task.workflow?.name === undefined ? {} : { name: task.workflow.name }),
          ...(task.workflow?.definition === undefined
            ? {}
            : { definition: task.workflow.definition }),
          input: task.input,
        }
      : undefined;
  const wait = newWait(
    {
      name: task.wait?.name ?? task.id,
      kind,
      ...(task.wait?.prompt === undefined ? {} : { prompt: task.wait.prompt }),
      ...(kind === 'approval'
        ? { schema: APPROVAL_SCHEMA }
        : task.wait?.schema === undefined
          ? {}
          : { schema: task.wait.schema }),
      ...(timeoutMs === undefined || kind === 'child' ? {} : { deadline: at + timeoutMs }),
      ...(child ? { child } : {}),
    },
    { taskId: task.id, attempt: run.attempts, owner: 'task', since: at },
  );
  waitsOf(context)[wait.name] = wait;
  run.waits = [wait.name];
  run.status = 'waiting';
  run.startedAt ??= at;
  return announce(context, wait, at);
}

/** A task whose `notBefore` is still ahead waits for it, without a concurrency slot. */
export function openNotBefore(
  context: WorkflowContext,
  taskId: string,
  run: TaskRun,
  until: number,
): WorkflowEmitted[] {
  const wait = newWait(
    { name: notBeforeWaitName(taskId), kind: 'sleep', deadline: until },
    { taskId, attempt: run.attempts, owner: 'task', since: context.lastEventAt },
  );
  waitsOf(context)[wait.name] = wait;
  run.status = 'waiting';
  return announce(context, wait, context.lastEventAt);
}

/** Records how a wait ended. Returns the event that says so. */
export function resolveWait(
  context: WorkflowContext,
  wait: WaitState,
  outcome: WaitOutcome,
  at: number,
): WorkflowEmitted {
  context.lastEventAt = Math.max(context.lastEventAt, at);
  wait.status = outcome.ok ? 'answered' : 'timed_out';
  wait.outcome = outcome;
  wait.pending = undefined;
  return {
    type: 'wait.resolved',
    workflowId: context.workflowId,
    taskId: wait.taskId,
    name: wait.name,
    kind: wait.kind,
    status: wait.status,
    at,
  };
}

/** What a deadline means for a wait: a sleep wakes, anything else times out. */
export function deadlineOutcome(context: WorkflowContext, wait: WaitState): WaitOutcome {
  if (wait.kind === 'sleep') return { ok: true, value: null };
  return {
    ok: false,
    error: {
      name: 'TroupeError',
      code: 'WAIT_TIMEOUT',
      message: `Wait "${wait.name}" of task "${wait.taskId}" in workflow "${context.workflowId}" got no answer before its deadline (${new Date(wait.deadline ?? 0).toISOString()}).`,
    },
  };
}

/**
 * The report that settles a task-owned wait's task: an `approval` completes
 * with the answer or fails if rejected, an `input` completes with it, a
 * `workflow` task completes with the child's result or fails with its error.
 */
export function taskReportFor(
  context: WorkflowContext,
  wait: WaitState,
  outcome: WaitOutcome,
  at: number,
): TaskReport {
  const base = { workflowId: context.workflowId, taskId: wait.taskId, attempt: wait.attempt, at };
  const fail = (error: SerializedError): TaskReport => ({
    type: 'task.failed',
    ...base,
    error,
    retryable: false,
  });
  if (!outcome.ok) return fail(outcome.error);
  const value = outcome.value as Record<string, unknown> | null;
  if (wait.kind === 'approval' && value?.approved !== true) {
    const reason = typeof value?.reason === 'string' ? `: ${value.reason}` : '';
    return fail({
      name: 'TroupeError',
      code: 'APPROVAL_REJECTED',
      message: `Approval "${wait.name}" of workflow "${context.workflowId}" was rejected${reason}.`,
    });
  }
  if (wait.kind === 'child') {
    const child = value as { status?: string; error?: SerializedError } | null;
    if (child?.status !== 'completed') {
      return fail({
        name: 'TroupeError',
        code: 'CHILD_FAILED',
        message: `Child workflow "${wait.child!.id}" ended ${child?.status ?? 'without a result'}${child?.error ? `: ${child.error.message}` : ''}.`,
      });
    }
  }
  return { type: 'task.completed', ...base, output: outcome.value };
}

/** The open waits of a run, oldest first. */
export function openWaits(context: WorkflowContext): WaitState[] {
  return Object.values(waitsOf(context)).filter((w) => w.status === 'waiting');
}

/** The outcomes an attempt already had, handed back when it is dispatched again. */
export function memoOf(
  context: WorkflowContext,
  run: TaskRun,
): { steps?: Record<string, unknown>; waits?: Record<string, WaitOutcome> } | undefined {
  let waits: Record<string, WaitOutcome> | undefined;
  for (const name of run.waits ?? []) {
    const outcome = context.waits?.[name]?.outcome;
    if (!outcome) continue;
    waits ??= {};
    waits[name] = outcome;
  }
  if (!waits && !run.steps) return undefined;
  return { ...(run.steps ? { steps: run.steps } : {}), ...(waits ? { waits } : {}) };
}

/** A wait that will never be answered: its task ended, or the run is stopping. */
export function closeWait(wait: WaitState): void {
  if (wait.status !== 'waiting') return;
  wait.status = 'cancelled';
  wait.pending = undefined;
}

/** The public view of a wait (in results, `getState` and `engine.waiting()`). */
export function waitInfo(wait: WaitState): WaitInfo {
  return {
    name: wait.name,
    taskId: wait.taskId,
    kind: wait.kind,
    status: wait.status,
    since: wait.since,
    ...(wait.prompt === undefined ? {} : { prompt: wait.prompt }),
    ...(wait.schema === undefined ? {} : { schema: wait.schema }),
    ...(wait.deadline === undefined ? {} : { deadline: wait.deadline }),
    ...(wait.child ? { childId: wait.child.id } : {}),
    ...(wait.outcome?.ok ? { answer: wait.outcome.value } : {}),
  };
}
