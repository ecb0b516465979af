import {
  type ActorRefFrom,
  type ActorSystem,
  type ActorSystemInfo,
  type AnyActorRef,
  enqueueActions,
  setup,
} from 'xstate';
import { serializeError, TroupeError } from '../../errors.js';
import { validateAddedTasks } from '../../schemas/validate.js';
import type { TaskDefinition } from '../../schemas/workflow-definition.js';
import type { WorkflowStatus } from '../../schemas/workflow-result.js';
import { type AgentEvent, agentSystemId, type TaskAssignment } from '../protocol.js';
import type { WorkflowContext, WorkflowInput } from './context.js';
import type { WorkflowEmitted, WorkflowEvent } from './events.js';
import { buildWorkflowResult } from './result.js';
import {
  cancelUnsettled,
  createWorkflowContext,
  currentRun,
  type GuardRegistry,
  initialReady,
  recordCancellation,
  recordCompletion,
  recordFailure,
  recordStart,
  releaseDueRetries,
  runningTasks,
  takeDispatchable,
  taskDefinition,
  totalTasks,
} from './scheduler.js';

/** What a workflow run needs from the runtime: registered names, never I/O. */
export interface WorkflowMachineDeps {
  /** Condition guards by name (pure functions). */
  guards: GuardRegistry;
  /** Roles of the registered agents, to validate tasks added at run time. */
  roles: () => ReadonlySet<string>;
}

type Outcome = Exclude<WorkflowStatus, 'running' | 'paused'>;
type Context = WorkflowContext & { outcome?: Outcome };

/**
 * A workflow run: a DAG of tasks dispatched as events to long-lived agent
 * actors. States: `created` (waiting for `workflow.run`), `running` (dispatching), `paused` (recording results,
 * starting nothing), `failing` and `cancelling` (waiting for in-flight work
 * to settle), and the final `completed`, `failed`, `cancelled`.
 *
 * Pure: time arrives on events (`at`, `now`), retry timers are XState delayed
 * events computed from deadlines kept in context.
 */
export function createWorkflowMachine(deps: WorkflowMachineDeps) {
  type Params = {
    context: Context;
    event: WorkflowEvent;
    enqueue: Enqueue;
    system: ActorSystem<ActorSystemInfo>;
  };

  const dispatch = ({
    context,
    enqueue,
    system,
  }: Pick<Params, 'context' | 'enqueue' | 'system'>) => {
    for (const assignment of takeDispatchable(context)) {
      const agent = system.get(agentSystemId(assignment.agent));
      if (agent) enqueue.sendTo(agent, { type: 'task.assign', assignment } satisfies AgentEvent);
      else enqueue.raise(missingAgentFailure(assignment));
    }
  };

  /**
   * Asks the machine to check whether the run ends, when it might: nothing in
   * flight, or a task failed for good. An explicit event instead of `always`
   * transitions, which XState re-evaluates after every event at a cost that
   * doubled the time per task.
   */
  const checkEnd = (context: Context, enqueue: Enqueue) => {
    if (context.inFlight === 0 || context.failure) enqueue.raise({ type: 'run.check' });
  };

  const emitAll = (enqueue: Params['enqueue'], emitted: readonly WorkflowEmitted[]) => {
    for (const event of emitted) enqueue.emit(event);
  };

  /**
   * One timer per task waiting out a backoff, armed when its failure is
   * reported. The delay is computed from the report's time, which is current;
   * a single timer re-armed from a `wake` event would compute it from that
   * event's deadline instead, so a wake that fires late (a busy event loop, a
   * simulated clock advanced past several deadlines) would delay every later
   * retry by the same amount.
   */
  const armRetry = (enqueue: Enqueue, taskId: string, retryAt: number, now: number) => {
    const id = wakeId(taskId);
    // Scheduling under an id in use does not clear the old timer: cancel first.
    enqueue.cancel(id);
    enqueue.raise({ type: 'wake', now: retryAt }, { id, delay: Math.max(0, retryAt - now) });
  };

  const completeTask = (params: Params, flow: { release: boolean; dispatch: boolean }) => {
    const { context, event, enqueue } = params;
    if (event.type !== 'task.completed') return;
    const run = currentRun(context, event);
    if (!run) return;
    let added: TaskDefinition[] = [];
    if (event.addedTasks && event.addedTasks.length > 0) {
      try {
        added = validateAddedTasks(event.addedTasks, taskLookup(context), {
          roles: deps.roles(),
          guards: new Set(deps.guards.keys()),
        });
      } catch (error) {
        // An agent that asks for invalid work has failed, whatever it output.
        enqueue.raise({
          type: 'task.failed',
          workflowId: event.workflowId,
          taskId: event.taskId,
          attempt: event.attempt,
          at: event.at,
          error: serializeError(error),
          retryable: false,
        });
        return;
      }
    }
    emitAll(enqueue, recordCompletion(context, run, event, added, deps.guards, flow.release));
    if (flow.dispatch) dispatch(params);
    checkEnd(context, enqueue);
  };

  const failTask = (params: Params, flow: { dispatch: boolean }) => {
    const { context, event, enqueue } = params;
    if (event.type !== 'task.failed') return;
    const run = currentRun(context, event);
    if (!run) return;
    const outcome = recordFailure(context, run, event);
    enqueue.emit(outcome);
    if (outcome.type === 'task.retrying')
      armRetry(enqueue, outcome.taskId, outcome.retryAt, event.at);
    if (flow.dispatch) dispatch(params);
    checkEnd(context, enqueue);
  };

  return setup({
    types: {
      context: {} as Context,
      events: {} as WorkflowEvent,
      input: {} as WorkflowInput,
      emitted: {} as WorkflowEmitted,
      output: {} as ReturnType<typeof buildWorkflowResult>,
    },
    guards: {
      hasFailure: ({ context }) => context.failure !== undefined,
      allSettled: ({ context }) =>
        context.inFlight === 0 && context.settled === totalTasks(context),
      nothingInFlight: ({ context }) => context.inFlight === 0,
    },
    actions: {
      begin: enqueueActions((params) => {
        const { context, event, enqueue } = params;
        if (event.type !== 'workflow.run') return;
        context.startedAt = event.at;
        context.lastEventAt = event.at;
        enqueue.emit({
          type: 'workflow.started',
          workflowId: context.workflowId,
          name: context.definition.name,
          at: context.startedAt,
        });
        emitAll(enqueue, initialReady(context, deps.guards));
        dispatch(params);
        checkEnd(context, enqueue);
      }),
      recordStart: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'task.started') return;
        const run = currentRun(context, event);
        if (!run) return;
        recordStart(context, run, event.at);
        enqueue.emit(event);
      }),
      recordProgress: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'task.progress') return;
        const run = currentRun(context, event);
        if (!run) return;
        run.progress = event.progress;
        run.progressMessage = event.message;
        enqueue.emit(event);
      }),
      completeAndDispatch: enqueueActions((p) =>
        completeTask(p, { release: true, dispatch: true }),
      ),
      completeWhilePaused: enqueueActions((p) =>
        completeTask(p, { release: true, dispatch: false }),
      ),
      completeWhileDraining: enqueueActions((p) =>
        completeTask(p, { release: false, dispatch: false }),
      ),
      failAndDispatch: enqueueActions((p) => failTask(p, { dispatch: true })),
      failWithoutDispatch: enqueueActions((p) => failTask(p, { dispatch: false })),
      /** An attempt ended badly during cancellation (usually its abort): the task is cancelled, not failed. */
      cancelTask: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'task.failed') return;
        const run = currentRun(context, event);
        if (!run) return;
        recordCancellation(context, run, event);
        checkEnd(context, enqueue);
      }),
      releaseRetries: enqueueActions(({ context, event }) => {
        if (event.type !== 'wake') return;
        releaseDueRetries(context, event.now);
      }),
      dispatch: enqueueActions((params) => {
        dispatch(params);
        checkEnd(params.context, params.enqueue);
      }),
      check: enqueueActions(({ enqueue }) => enqueue.raise({ type: 'run.check' })),
      emitPaused: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'workflow.pause') return;
        context.lastEventAt = event.at;
        enqueue.emit({ type: 'workflow.paused', workflowId: context.workflowId, at: event.at });
      }),
      emitResumed: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'workflow.resume') return;
        context.lastEventAt = event.at;
        enqueue.emit({ type: 'workflow.resumed', workflowId: context.workflowId, at: event.at });
      }),
      abortRunning: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'workflow.cancel') return;
        context.lastEventAt = event.at;
        context.cancelReason = event.reason;
        // One event per agent, so it can drop queued attempts before aborting running ones.
        const byAgent = new Map<string, string[]>();
        for (const { taskId, agent } of runningTasks(context)) {
          byAgent.set(agent, [...(byAgent.get(agent) ?? []), taskId]);
        }
        for (const [agent, taskIds] of byAgent) {
          const ref = system.get(agentSystemId(agent));
          if (!ref) continue;
          const abort: AgentEvent = {
            type: 'task.abort',
            workflowId: context.workflowId,
            taskIds,
            reason: event.reason,
            at: event.at,
          };
          enqueue.sendTo(ref, abort);
        }
      }),
      finish: enqueueActions(({ context, enqueue }, params: { outcome: Outcome }) => {
        context.outcome = params.outcome;
        for (const taskId of context.retrying) enqueue.cancel(wakeId(taskId));
        if (params.outcome !== 'completed') cancelUnsettled(context);
        const at = context.lastEventAt;
        const workflowId = context.workflowId;
        if (params.outcome === 'completed')
          enqueue.emit({ type: 'workflow.completed', workflowId, at });
        else if (params.outcome === 'cancelled') {
          enqueue.emit({
            type: 'workflow.cancelled',
            workflowId,
            at,
            reason: context.cancelReason ?? '',
          });
        } else if (context.failure) {
          enqueue.emit({ type: 'workflow.failed', workflowId, at, ...context.failure });
        }
      }),
    },
  }).createMachine({
    id: 'workflow',
    context: ({ input }) => createWorkflowContext(input),
    on: {
      'task.started': { actions: 'recordStart' },
      'task.progress': { actions: 'recordProgress' },
      'task.completed': { actions: 'completeWhileDraining' },
      'task.failed': { actions: 'failWithoutDispatch' },
      wake: { actions: 'releaseRetries' },
    },
    initial: 'created',
    states: {
      /** Waits for `workflow.run`, so the runtime can subscribe before the first event is emitted. */
      created: {
        on: { 'workflow.run': { target: 'running', actions: 'begin' } },
      },
      running: {
        on: {
          'run.check': [
            { guard: 'hasFailure', target: 'failing' },
            { guard: 'allSettled', target: 'completed' },
          ],
          'task.completed': { actions: 'completeAndDispatch' },
          'task.failed': { actions: 'failAndDispatch' },
          wake: { actions: ['releaseRetries', 'dispatch'] },
          'workflow.pause': { target: 'paused', actions: 'emitPaused' },
          'workflow.cancel': { target: 'cancelling', actions: 'abortRunning' },
        },
      },
      paused: {
        on: {
          'run.check': { guard: 'hasFailure', target: 'failing' },
          'task.completed': { actions: 'completeWhilePaused' },
          'workflow.resume': { target: 'running', actions: ['emitResumed', 'dispatch'] },
          'workflow.cancel': { target: 'cancelling', actions: 'abortRunning' },
        },
      },
      failing: {
        entry: 'check',
        on: {
          'run.check': { guard: 'nothingInFlight', target: 'failed' },
          'workflow.cancel': { target: 'cancelling', actions: 'abortRunning' },
        },
      },
      cancelling: {
        entry: 'check',
        on: {
          'run.check': { guard: 'nothingInFlight', target: 'cancelled' },
          'task.failed': { actions: 'cancelTask' },
        },
      },
      completed: { type: 'final', entry: { type: 'finish', params: { outcome: 'completed' } } },
      failed: { type: 'final', entry: { type: 'finish', params: { outcome: 'failed' } } },
      cancelled: { type: 'final', entry: { type: 'finish', params: { outcome: 'cancelled' } } },
    },
    output: ({ context }) => buildWorkflowResult(context, context.outcome ?? 'failed'),
  });
}

/** The part of XState's `enqueue` object the helpers above use. */
interface Enqueue {
  sendTo(ref: AnyActorRef, event: AgentEvent): void;
  raise(event: WorkflowEvent, options?: { id: string; delay: number }): void;
  cancel(id: string): void;
  emit(event: WorkflowEmitted): void;
}

export type WorkflowMachine = ReturnType<typeof createWorkflowMachine>;
export type WorkflowActorRef = ActorRefFrom<WorkflowMachine>;

function taskLookup(context: WorkflowContext): ReadonlyMap<string, TaskDefinition> {
  return {
    get: (id: string) => (id in context.index ? taskDefinition(context, id) : undefined),
    has: (id: string) => id in context.index,
  } as ReadonlyMap<string, TaskDefinition>;
}

function wakeId(taskId: string): string {
  return `wake:${taskId}`;
}

function missingAgentFailure(assignment: TaskAssignment): WorkflowEvent {
  const error = new TroupeError(
    'UNKNOWN_AGENT',
    `No agent "${assignment.agent}" is registered to run task "${assignment.taskId}"; register it with rt.registerAgent().`,
    { workflowId: assignment.workflowId, taskId: assignment.taskId, agent: assignment.agent },
  );
  return {
    type: 'task.failed',
    workflowId: assignment.workflowId,
    taskId: assignment.taskId,
    attempt: assignment.attempt,
    at: Number.NaN,
    error: serializeError(error),
    retryable: false,
  };
}
