import {
  type ActorRefFrom,
  type ActorSystem,
  type ActorSystemInfo,
  type AnyActorRef,
  and,
  enqueueActions,
  setup,
} from 'xstate';
import { serializeError, TroupeError } from '../../errors.js';
import { validateAddedTasks } from '../../schemas/validate.js';
import type { TaskDefinition } from '../../schemas/workflow-definition.js';
import type { WorkflowStatus } from '../../schemas/workflow-result.js';
import { fifoPush } from '../fifo.js';
import type { SlotRelease, WaitOutcome } from '../protocol.js';
import {
  type AgentEvent,
  agentSystemId,
  COMPENSATOR_SYSTEM_ID,
  type CompensationRequest,
} from '../protocol.js';
import { recordAttemptStart } from './attempt-history.js';
import {
  beginCompensation,
  compensationDone,
  isCurrentStep,
  nextCompensationRequest,
  recordStepCompleted,
  recordStepFailed,
  shouldCompensate,
} from './compensation.js';
import type { WaitState, WorkflowContext, WorkflowInput } from './context.js';
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
  requeueInFlight,
  restoreWorkflowContext,
  runningTasks,
  stopReason,
  takeDispatchable,
  taskDefinition,
  totalTasks,
} from './scheduler.js';
import {
  closeWait,
  deadlineOutcome,
  notBeforeWaitName,
  openAgentWait,
  openTaskWait,
  openWaits,
  resolveWait,
  taskReportFor,
  waitsOf,
} from './waits.js';

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
  type Params = { context: Context; event: WorkflowEvent; enqueue: Enqueue };

  /**
   * Sends ready tasks to their agents. The agent is looked up when the send
   * executes, not when it is decided, so the decision stays pure: replaying a
   * journal through `transition()` computes the same sends and executes none.
   * Every role was checked when the run started or was restored.
   */
  const dispatch = (
    { context, enqueue }: Pick<Params, 'context' | 'enqueue'>,
    max = Number.POSITIVE_INFINITY,
    freed?: FreedSlot,
  ) => {
    let released = freed;
    for (const assignment of takeDispatchable(context, max)) {
      const task = taskDefinition(context, assignment.taskId);
      if (task.kind !== 'agent') {
        // A person or a child run does the work: the task waits for it.
        emitAll(enqueue, openTaskWait(context, task, context.runs[task.id]!));
        continue;
      }
      // The slot a task just freed goes back with the next assignment to its agent.
      const carried = released?.agent === assignment.agent ? released.slot : undefined;
      if (carried) released = undefined;
      const assign: Extract<AgentEvent, { type: 'task.assign' }> = {
        type: 'task.assign',
        assignment,
      };
      if (carried) assign.released = carried;
      enqueue.sendTo(actorBySystemId(agentSystemId(assignment.agent)), assign);
    }
    giveBack(enqueue, released);
  };

  /**
   * The agent slot of the attempt a report ends, if it holds one: an agent
   * task's attempt reported by its executor (see `SlotRelease`). Stale
   * reports give theirs back too: the attempt ran in a slot all the same.
   */
  const freedSlot = (context: Context, event: WorkflowEvent): FreedSlot | undefined => {
    if (event.type !== 'task.completed' && event.type !== 'task.failed') return undefined;
    if (event.type === 'task.failed' && event.slotless) return undefined;
    if (!(event.taskId in context.index)) return undefined;
    const task = taskDefinition(context, event.taskId);
    if (task.kind !== 'agent') return undefined;
    const { workflowId, taskId, attempt } = event;
    return { agent: task.agent, slot: { workflowId, taskId, attempt } };
  };

  const giveBack = (enqueue: Enqueue, freed: FreedSlot | undefined) => {
    if (!freed) return;
    enqueue.sendTo(actorBySystemId(agentSystemId(freed.agent)), {
      type: 'task.release',
      ...freed.slot,
    } satisfies AgentEvent);
  };

  /**
   * Ends a wait and resumes what waited: the agent's code (the outcome goes
   * to its executor), the task itself (settled by a raised report), or a
   * task held until its `notBefore` time (queued).
   */
  const applyOutcome = (
    params: Pick<Params, 'context' | 'enqueue'>,
    wait: WaitState,
    outcome: WaitOutcome,
    at: number,
  ) => {
    const { context, enqueue } = params;
    enqueue.cancel(deadlineId(wait.name));
    enqueue.emit(resolveWait(context, wait, outcome, at));
    const run = context.runs[wait.taskId]!;
    if (wait.owner === 'agent') {
      // A task requeued after a restore gets the outcome with its dispatch (`memo`).
      if (run.attempts !== wait.attempt || (run.status !== 'waiting' && run.status !== 'running'))
        return;
      run.status = 'running';
      const { taskId, attempt, name } = wait;
      const agent = taskDefinition(context, taskId).agent;
      enqueue.sendTo(actorBySystemId(agentSystemId(agent)), {
        type: 'task.signal',
        workflowId: context.workflowId,
        taskId,
        attempt,
        name,
        outcome,
      } satisfies AgentEvent);
      return;
    }
    if (wait.name === notBeforeWaitName(wait.taskId)) {
      run.status = 'pending';
      fifoPush(context.ready, wait.taskId);
      dispatch(params);
      return;
    }
    run.status = 'running';
    enqueue.raise(taskReportFor(context, wait, outcome, at));
  };

  /**
   * Waits that will get no answer because the run stops: task-owned ones end
   * their task `cancelled` now, agents waiting in their code are aborted
   * (unless the caller already aborted every agent), children are cancelled.
   */
  const abortWaits = (
    { context, enqueue }: Pick<Params, 'context' | 'enqueue'>,
    stop: { reason: string; compensate: boolean; at: number; abortAgents: boolean },
  ) => {
    const byAgent = new Map<string, string[]>();
    for (const wait of openWaits(context)) {
      closeWait(wait);
      enqueue.cancel(deadlineId(wait.name));
      if (wait.child) {
        enqueue.emit({
          type: 'child.cancel',
          workflowId: context.workflowId,
          childId: wait.child.id,
          reason: stop.reason,
          compensate: stop.compensate,
        });
      }
      const run = context.runs[wait.taskId]!;
      if (wait.owner === 'agent') {
        const agent = taskDefinition(context, wait.taskId).agent;
        byAgent.set(agent, [...(byAgent.get(agent) ?? []), wait.taskId]);
      } else if (wait.name !== notBeforeWaitName(wait.taskId)) {
        enqueue.emit(
          recordCancellation(context, run, {
            at: stop.at,
            error: { name: 'CancelledError', message: stop.reason },
            taskId: wait.taskId,
          }),
        );
      }
    }
    if (!stop.abortAgents) return;
    for (const [agent, taskIds] of byAgent) {
      enqueue.sendTo(actorBySystemId(agentSystemId(agent)), {
        type: 'task.abort',
        workflowId: context.workflowId,
        taskIds,
        reason: stop.reason,
        at: stop.at,
      } satisfies AgentEvent);
    }
  };

  /** The waits an attempt left open when it ended will never be answered. */
  const closeTaskWaits = (context: Context, enqueue: Enqueue, taskId: string) => {
    for (const name of context.runs[taskId]?.waits ?? []) {
      const wait = waitsOf(context)[name];
      if (wait?.status !== 'waiting') continue;
      closeWait(wait);
      enqueue.cancel(deadlineId(name));
    }
  };

  const requestCompensation = ({ context, enqueue }: Pick<Params, 'context' | 'enqueue'>) => {
    const request = nextCompensationRequest(context);
    if (request) enqueue.sendTo(actorBySystemId(COMPENSATOR_SYSTEM_ID), request);
    else enqueue.raise({ type: 'run.check' });
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

  /** Emits, and arms the deadline of every wait that opens (deadlines are data; timers are not). */
  const emitAll = (enqueue: Params['enqueue'], emitted: readonly WorkflowEmitted[]) => {
    for (const event of emitted) {
      enqueue.emit(event);
      if (event.type === 'task.waiting' && event.deadline !== undefined)
        armDeadline(enqueue, event.name, event.deadline, event.at);
    }
  };

  const armDeadline = (enqueue: Enqueue, name: string, deadline: number, now: number) => {
    const id = deadlineId(name);
    enqueue.cancel(id);
    enqueue.raise(
      { type: 'wait.deadline', name, now: deadline },
      { id, delay: Math.max(0, deadline - now) },
    );
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
    const freed = freedSlot(context, event);
    const run = currentRun(context, event);
    if (!run) {
      giveBack(enqueue, freed);
      return;
    }
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
          slotless: true,
        });
        giveBack(enqueue, freed);
        return;
      }
    }
    closeTaskWaits(context, enqueue, event.taskId);
    emitAll(enqueue, recordCompletion(context, run, event, added, deps.guards, flow.release));
    if (flow.dispatch) dispatch(params, Number.POSITIVE_INFINITY, freed);
    else giveBack(enqueue, freed);
    checkEnd(context, enqueue);
  };

  const failTask = (params: Params, flow: { dispatch: boolean }) => {
    const { context, event, enqueue } = params;
    if (event.type !== 'task.failed') return;
    const freed = freedSlot(context, event);
    const run = currentRun(context, event);
    if (!run) {
      giveBack(enqueue, freed);
      return;
    }
    closeTaskWaits(context, enqueue, event.taskId);
    const outcome = recordFailure(context, run, event);
    enqueue.emit(outcome);
    if (outcome.type === 'task.retrying')
      armRetry(enqueue, outcome.taskId, outcome.retryAt, event.at);
    if (flow.dispatch) dispatch(params, Number.POSITIVE_INFINITY, freed);
    else giveBack(enqueue, freed);
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
      compensates: ({ context }) => shouldCompensate(context),
      compensationDone: ({ context }) => compensationDone(context),
      compensationFailed: ({ context }) => (context.compensation?.failed.length ?? 0) > 0,
      wasCancelled: ({ context }) => context.cancelReason !== undefined,
      restoredAs: ({ context }, state: string) => context.restoredState === state,
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
      openWait: enqueueActions((params) => {
        const { context, event, enqueue } = params;
        if (event.type !== 'task.waiting') return;
        const run = currentRun(context, event);
        if (!run) return;
        recordAttemptStart(run, event.startedAt);
        const opened = openAgentWait(context, run, event);
        if (opened.type === 'opened') {
          emitAll(enqueue, opened.emitted);
          return;
        }
        const outcome: WaitOutcome =
          opened.type === 'resolved' ? opened.outcome : { ok: false, error: opened.error };
        const agent = taskDefinition(context, event.taskId).agent;
        enqueue.sendTo(actorBySystemId(agentSystemId(agent)), {
          type: 'task.signal',
          workflowId: context.workflowId,
          taskId: event.taskId,
          attempt: event.attempt,
          name: event.wait.name,
          outcome,
        } satisfies AgentEvent);
      }),
      recordStep: enqueueActions(({ context, event }) => {
        if (event.type !== 'task.step') return;
        const run = currentRun(context, event);
        if (!run) return;
        run.steps ??= {};
        run.steps[event.name] = event.output;
      }),
      /** A wait's answer or deadline, applied now (running) or kept for `workflow.resume` (paused). */
      answer: enqueueActions((params, mode: { apply: boolean }) => {
        const { context, event } = params;
        if (event.type !== 'wait.signal' && event.type !== 'wait.deadline') return;
        const wait = waitsOf(context)[event.name];
        if (wait?.status !== 'waiting') return;
        const at = event.type === 'wait.signal' ? event.at : event.now;
        const outcome: WaitOutcome =
          event.type === 'wait.signal'
            ? { ok: true, value: event.payload }
            : deadlineOutcome(context, wait);
        if (mode.apply) applyOutcome(params, wait, outcome, at);
        else wait.pending = outcome;
      }),
      applyPending: enqueueActions((params) => {
        for (const wait of openWaits(params.context)) {
          if (wait.pending) applyOutcome(params, wait, wait.pending, params.context.lastEventAt);
        }
      }),
      abortWaitsOnFailure: enqueueActions(({ context, enqueue }) =>
        abortWaits(
          { context, enqueue },
          {
            reason: `the run is failing: task "${context.failure?.taskId}" failed`,
            compensate: false,
            at: context.lastEventAt,
            abortAgents: true,
          },
        ),
      ),
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
        giveBack(enqueue, freedSlot(context, event));
        const run = currentRun(context, event);
        if (!run) return;
        enqueue.emit(recordCancellation(context, run, event));
        checkEnd(context, enqueue);
      }),
      releaseRetries: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'wake') return;
        emitAll(enqueue, releaseDueRetries(context, event.now));
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
      abortRunning: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'workflow.cancel') return;
        context.lastEventAt = event.at;
        context.cancelReason = event.reason;
        context.compensateOnCancel = event.compensate === true;
        // One event per agent, so it can drop queued attempts before aborting running ones.
        const byAgent = new Map<string, string[]>();
        for (const { taskId, agent } of runningTasks(context)) {
          byAgent.set(agent, [...(byAgent.get(agent) ?? []), taskId]);
        }
        for (const [agent, taskIds] of byAgent) {
          const abort: AgentEvent = {
            type: 'task.abort',
            workflowId: context.workflowId,
            taskIds,
            reason: event.reason,
            at: event.at,
          };
          enqueue.sendTo(actorBySystemId(agentSystemId(agent)), abort);
        }
        abortWaits(
          { context, enqueue },
          {
            reason: event.reason,
            compensate: context.compensateOnCancel,
            at: event.at,
            abortAgents: false,
          },
        );
      }),
      agentMissing: enqueueActions(({ event, enqueue }) => {
        if (event.type !== 'task.assign') return;
        const { workflowId, taskId, attempt, agent } = event.assignment;
        const error = new TroupeError(
          'UNKNOWN_AGENT',
          `No agent "${agent}" is registered to run task "${taskId}"; register it with rt.registerAgent().`,
          { workflowId, taskId, agent },
        );
        enqueue.raise({
          type: 'task.failed',
          workflowId,
          taskId,
          attempt,
          at: event.assignment.dispatchedAt,
          error: serializeError(error),
          retryable: false,
          // It never reached an agent.
          slotless: true,
        });
      }),
      /**
       * The run was rebuilt from the store: attempts that were in flight
       * when the process died are dispatched again (same idempotency key),
       * and retry timers are armed again from the deadlines kept in context.
       */
      restore: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'workflow.restore') return;
        const state = context.restoredState ?? 'running';
        context.restoredState = undefined;
        context.lastEventAt = Math.max(context.lastEventAt, event.at);
        const requeued = requeueInFlight(context);
        // A failing run waits for its in-flight work (a saga then undoes it):
        // the attempts that died with the process run again, nothing else
        // starts. (Running and paused runs dispatch them with the rest.)
        if (state === 'failing') dispatch({ context, enqueue }, requeued.length);
        for (const taskId of context.retrying) {
          armRetry(enqueue, taskId, context.runs[taskId]!.retryAt ?? event.at, event.at);
        }
        for (const wait of openWaits(context)) {
          if (wait.deadline !== undefined) armDeadline(enqueue, wait.name, wait.deadline, event.at);
          // An agent that started a child starts it again when it runs again (requeued above).
          if (wait.child && wait.owner === 'task')
            enqueue.emit({
              type: 'child.start',
              workflowId: context.workflowId,
              taskId: wait.taskId,
              name: wait.name,
              child: wait.child,
            });
        }
        const compensation = context.compensation;
        if (compensation?.retryAt !== undefined) {
          enqueue.raise(
            { type: 'compensate.wake', now: compensation.retryAt },
            { id: COMPENSATION_WAKE, delay: Math.max(0, compensation.retryAt - event.at) },
          );
        } else if (compensation && state === 'compensating') {
          // The step under way when the process died runs again.
          compensation.attempts = Math.max(0, compensation.attempts - 1);
          requestCompensation({ context, enqueue });
        }
        enqueue.emit({
          type: 'workflow.restored',
          workflowId: context.workflowId,
          at: event.at,
          state,
          requeued,
        });
      }),
      beginCompensation: enqueueActions(({ context, enqueue }) => {
        // Entered again by a restore, which has already asked for the step under way.
        if (context.compensation) return;
        const state = beginCompensation(context);
        enqueue.emit({
          type: 'compensation.started',
          workflowId: context.workflowId,
          at: context.lastEventAt,
          taskIds: [...state.queue],
        });
        requestCompensation({ context, enqueue });
      }),
      compensationStepDone: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'compensate.done' || !isCurrentStep(context, event)) return;
        recordStepCompleted(context, event.at, event.output);
        enqueue.emit({
          type: 'compensation.step',
          workflowId: context.workflowId,
          taskId: event.taskId,
          status: 'completed',
          attempt: event.attempt,
        });
        requestCompensation({ context, enqueue });
      }),
      compensationStepFailed: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'compensate.failed' || !isCurrentStep(context, event)) return;
        const retryAt = recordStepFailed(context, event.at, event.error);
        enqueue.emit({
          type: 'compensation.step',
          workflowId: context.workflowId,
          taskId: event.taskId,
          status: retryAt === undefined ? 'failed' : 'retrying',
          attempt: event.attempt,
          error: event.error,
        });
        if (retryAt === undefined) requestCompensation({ context, enqueue });
        else
          enqueue.raise(
            { type: 'compensate.wake', now: retryAt },
            { id: COMPENSATION_WAKE, delay: Math.max(0, retryAt - event.at) },
          );
      }),
      retryCompensation: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'compensate.wake' || context.compensation?.retryAt === undefined) return;
        context.lastEventAt = Math.max(context.lastEventAt, event.now);
        requestCompensation({ context, enqueue });
      }),
      finish: enqueueActions(({ context, enqueue }, params: { outcome: Outcome }) => {
        context.outcome = params.outcome;
        for (const taskId of context.retrying) enqueue.cancel(wakeId(taskId));
        for (const wait of openWaits(context)) {
          enqueue.cancel(deadlineId(wait.name));
          closeWait(wait);
        }
        if (params.outcome !== 'completed') {
          emitAll(enqueue, cancelUnsettled(context, stopReason(context, params.outcome)));
        }
        const compensation = context.compensation;
        if (compensation) {
          const at = context.lastEventAt;
          if (compensation.failed.length > 0) {
            enqueue.emit({
              type: 'compensation.failed',
              workflowId: context.workflowId,
              at,
              failed: compensation.failed,
            });
          } else {
            enqueue.emit({
              type: 'compensation.completed',
              workflowId: context.workflowId,
              at,
              compensated: compensation.compensated,
            });
          }
        }
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
        } else if (context.cancelReason !== undefined) {
          enqueue.emit({
            type: 'workflow.cancelled',
            workflowId,
            at,
            reason: context.cancelReason,
          });
        }
      }),
    },
  }).createMachine({
    id: 'workflow',
    context: ({ input }) =>
      input.restore
        ? { ...restoreWorkflowContext(input.restore.context), restoredState: input.restore.value }
        : createWorkflowContext(input),
    on: {
      'task.started': { actions: 'recordStart' },
      'task.progress': { actions: 'recordProgress' },
      'task.completed': { actions: 'completeWhileDraining' },
      'task.failed': { actions: 'failWithoutDispatch' },
      'task.waiting': { actions: 'openWait' },
      'task.step': { actions: 'recordStep' },
      wake: { actions: 'releaseRetries' },
    },
    initial: 'created',
    states: {
      /** Waits for `workflow.run`, so the runtime can subscribe before the first event is emitted. */
      created: {
        on: {
          'workflow.run': { target: 'running', actions: 'begin' },
          'workflow.restore': [
            {
              guard: { type: 'restoredAs', params: 'paused' },
              target: 'paused',
              actions: 'restore',
            },
            {
              guard: { type: 'restoredAs', params: 'failing' },
              target: 'failing',
              actions: 'restore',
            },
            {
              guard: { type: 'restoredAs', params: 'cancelling' },
              target: 'cancelling',
              actions: 'restore',
            },
            {
              guard: { type: 'restoredAs', params: 'compensating' },
              target: 'compensating',
              actions: 'restore',
            },
            { target: 'running', actions: ['restore', 'dispatch'] },
          ],
        },
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
          'wait.signal': { actions: { type: 'answer', params: { apply: true } } },
          'wait.deadline': { actions: { type: 'answer', params: { apply: true } } },
          'workflow.pause': { target: 'paused', actions: 'emitPaused' },
          'workflow.cancel': { target: 'cancelling', actions: 'abortRunning' },
        },
      },
      paused: {
        on: {
          'run.check': { guard: 'hasFailure', target: 'failing' },
          'task.completed': { actions: 'completeWhilePaused' },
          'wait.signal': { actions: { type: 'answer', params: { apply: false } } },
          'wait.deadline': { actions: { type: 'answer', params: { apply: false } } },
          'workflow.resume': {
            target: 'running',
            actions: ['emitResumed', 'applyPending', 'dispatch'],
          },
          'workflow.cancel': { target: 'cancelling', actions: 'abortRunning' },
        },
      },
      failing: {
        entry: ['abortWaitsOnFailure', 'check'],
        on: {
          'task.waiting': { actions: ['openWait', 'abortWaitsOnFailure'] },
          'run.check': [
            { guard: and(['nothingInFlight', 'compensates']), target: 'compensating' },
            { guard: 'nothingInFlight', target: 'failed' },
          ],
          'workflow.cancel': { target: 'cancelling', actions: 'abortRunning' },
        },
      },
      cancelling: {
        entry: 'check',
        on: {
          'run.check': [
            { guard: and(['nothingInFlight', 'compensates']), target: 'compensating' },
            { guard: 'nothingInFlight', target: 'cancelled' },
          ],
          'task.failed': { actions: 'cancelTask' },
          // The attempt was aborted: whatever it waits for now will not come.
          'task.waiting': {},
        },
      },
      /** Undoing completed tasks in reverse completion order (see compensation.ts). */
      compensating: {
        entry: 'beginCompensation',
        on: {
          'compensate.done': { actions: 'compensationStepDone' },
          'compensate.failed': { actions: 'compensationStepFailed' },
          'compensate.wake': { actions: 'retryCompensation' },
          'run.check': [
            {
              guard: and(['compensationDone', 'compensationFailed']),
              target: 'compensationFailed',
            },
            { guard: and(['compensationDone', 'wasCancelled']), target: 'cancelled' },
            { guard: 'compensationDone', target: 'compensated' },
          ],
        },
      },
      compensated: { type: 'final', entry: { type: 'finish', params: { outcome: 'compensated' } } },
      compensationFailed: {
        type: 'final',
        entry: { type: 'finish', params: { outcome: 'compensation_failed' } },
      },
      completed: { type: 'final', entry: { type: 'finish', params: { outcome: 'completed' } } },
      failed: { type: 'final', entry: { type: 'finish', params: { outcome: 'failed' } } },
      cancelled: { type: 'final', entry: { type: 'finish', params: { outcome: 'cancelled' } } },
    },
    output: ({ context }) => buildWorkflowResult(context, context.outcome ?? 'failed'),
  });
}

/** A send target looked up by system id when the send is resolved (see `dispatch`). */
type LazyTarget = (args: {
  system: ActorSystem<ActorSystemInfo>;
  self: AnyActorRef;
}) => AnyActorRef;

/**
 * When no actor has the id (an agent unregistered, or the inert system of a
 * replay), the event comes back to the run itself, which fails the task with
 * a clear error instead of waiting forever (see `agentMissing`).
 */
function actorBySystemId(systemId: string): LazyTarget {
  let target = lazyTargets.get(systemId);
  if (!target) {
    target = ({ system, self }) => system.get(systemId) ?? self;
    lazyTargets.set(systemId, target);
  }
  return target;
}

/**
 * One lookup function per system id (agents and the compensator: a few),
 * instead of a closure per dispatched task. It holds no actor, only the id.
 */
const lazyTargets = new Map<string, LazyTarget>();

/** An agent slot a report freed, and the agent it goes back to. */
interface FreedSlot {
  agent: string;
  slot: SlotRelease;
}

/** The part of XState's `enqueue` object the helpers above use. */
interface Enqueue {
  sendTo(to: LazyTarget, event: AgentEvent | CompensationRequest): void;
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

/** Id of the delayed event that retries a failed compensation step. */
const COMPENSATION_WAKE = 'wake:compensation';

function wakeId(taskId: string): string {
  return `wake:${taskId}`;
}

/** Id of the delayed event that ends a wait at its deadline. */
function deadlineId(waitName: string): string {
  return `deadline:${waitName}`;
}
