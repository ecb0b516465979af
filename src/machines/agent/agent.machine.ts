import {
  type ActorRefFrom,
  type AnyActorRef,
  enqueueActions,
  fromCallback,
  sendTo,
  setup,
} from 'xstate';
import type { MessageDelivery } from '../communicator/events.js';
import { createFifo, type Fifo, fifoPush, fifoRemove, fifoSize, fifoTake } from '../fifo.js';
import {
  type AgentEvent,
  type ExecutorEvent,
  type SlotRelease,
  type TaskAssignment,
  type TaskReport,
  workflowSystemId,
} from '../protocol.js';

export interface AgentMachineInput {
  role: string;
  /** Most attempts this agent runs at once. */
  concurrency: number;
}

export interface AgentMachineContext {
  role: string;
  concurrency: number;
  /** Attempts handed to the executor whose slot is not given back yet. */
  running: number;
  /** Assignments waiting for a free slot, oldest first. */
  mailbox: Fifo<TaskAssignment>;
  /** Attempts finished since the agent started (for the inspector and stats). */
  finished: number;
  /**
   * Attempts waiting inside their code (`ctx.waitFor`, `ctx.sleep`), as
   * `workflowId:taskId:attempt`: they gave their slot back, so their end
   * frees none. Few at a time, hence an array (plain JSON).
   */
  suspended: string[];
}

/** Gives a slot back and starts the next waiting assignment in it. */
function freeSlot(
  context: AgentMachineContext,
  enqueue: { sendTo(to: 'executor', event: ExecutorEvent): void },
): void {
  context.running--;
  const next = fifoTake(context.mailbox);
  if (next) {
    context.running++;
    enqueue.sendTo('executor', { type: 'execute', assignment: next });
  }
}

/** Passes a report on to the workflow that assigned the task. */
function forward(
  event: AgentEvent | MessageDelivery,
  enqueue: { sendTo(to: AnyActorRef, event: TaskReport): void },
  system: { get(systemId: string): AnyActorRef | undefined },
): void {
  if (
    event.type === 'task.assign' ||
    event.type === 'task.abort' ||
    event.type === 'task.signal' ||
    event.type === 'task.release' ||
    event.type === 'message.deliver'
  )
    return;
  const workflow = system.get(workflowSystemId(event.workflowId));
  if (workflow) enqueue.sendTo(workflow, event);
}

function attemptKey(report: SlotRelease): string {
  return `${report.workflowId}:${report.taskId}:${report.attempt}`;
}

/** The attempt whose slot an event gives back, if it gives one back. */
function endedAttempt(event: AgentEvent | MessageDelivery): SlotRelease | undefined {
  switch (event.type) {
    case 'task.completed':
    case 'task.failed':
    case 'task.waiting':
    case 'task.release':
      return event;
    case 'task.assign':
      return event.released;
    default:
      return undefined;
  }
}

/**
 * Gives back the slot of an attempt that ended: none if it was suspended
 * (it gave its slot back when it started waiting).
 */
function release(
  context: AgentMachineContext,
  attempt: SlotRelease,
  enqueue: { sendTo(to: 'executor', event: ExecutorEvent): void },
): void {
  context.finished++;
  if (context.suspended.length > 0) {
    const key = attemptKey(attempt);
    const at = context.suspended.indexOf(key);
    if (at >= 0) {
      context.suspended = context.suspended.filter((k) => k !== key);
      return;
    }
  }
  // A release the agent holds no slot for (never expected) must not make room for more.
  if (context.running > 0) freeSlot(context, enqueue);
}

/**
 * The executor is the agent's only side-effecting part: a long-lived callback
 * actor that runs the agent's `run` function for each `execute` event and
 * reports back. The pure machine only decides *when* to run what. The runtime
 * provides the real implementation (`src/actors/agent-executor.ts`).
 */
const executorPlaceholder = fromCallback<ExecutorEvent | MessageDelivery, { role: string }>(() => {
  throw new Error('agent executor not provided: build the agent machine with provideAgentExecutor');
});

/**
 * One agent: a mailbox, a concurrency limit and two explicit states, `idle`
 * (nothing running) and `busy`. Tasks arrive as events from workflow runs and
 * are handed to one executor child; there is no actor per task, because
 * spawning is O(siblings) in XState and a task stream can be long.
 *
 * The executor reports an attempt's end straight to its run, which gives the
 * slot back (`task.release`, or `released` on its next assignment to this
 * agent: a chain then costs the agent one event per task and it stays
 * `busy`). A report that finds its run gone comes here instead, and the
 * agent frees the slot itself.
 */
export const agentMachine = setup({
  types: {
    context: {} as AgentMachineContext,
    events: {} as AgentEvent | MessageDelivery,
    input: {} as AgentMachineInput,
  },
  actors: { executor: executorPlaceholder },
  guards: {
    /**
     * The assignment starts at once and nothing else happens: no slot comes
     * back to a queued assignment or to a suspended attempt, and there is
     * room once the slot it brings back (if any) is free.
     */
    startsAtOnce: ({ context, event }) => {
      if (event.type !== 'task.assign') return false;
      if (!event.released) return context.running < context.concurrency;
      if (context.suspended.length > 0 || fifoSize(context.mailbox) > 0) return false;
      return context.running - (context.running > 0 ? 1 : 0) < context.concurrency;
    },
    /** The finishing attempt is the last one running and nothing waits. */
    lastRunning: ({ context }) => context.running === 1 && fifoSize(context.mailbox) === 0,
    /** The report is about an attempt that waits (or waited) and holds no slot. */
    suspended: ({ context, event }) => {
      // Checked on every report: no key is built while nothing is suspended (the usual case).
      if (context.suspended.length === 0) return false;
      const attempt = endedAttempt(event);
      return attempt !== undefined && context.suspended.includes(attemptKey(attempt));
    },
  },
  actions: {
    /**
     * `accept` of an assignment that `startsAtOnce`, as a plain action and a
     * static send: `enqueueActions` makes a dozen functions per call, and a
     * chain's agent takes one such event per task.
     */
    takeSlot: ({ context, event }) => {
      if (event.type !== 'task.assign') return;
      if (event.released) {
        context.finished++;
        if (context.running > 0) context.running--;
      }
      context.running++;
    },
    startExecution: sendTo('executor', ({ event }) => ({
      type: 'execute' as const,
      assignment: (event as Extract<AgentEvent, { type: 'task.assign' }>).assignment,
    })),
    accept: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'task.assign') return;
      // The slot the run gives back with this assignment is free first.
      if (event.released) release(context, event.released, enqueue);
      if (context.running < context.concurrency) {
        context.running++;
        enqueue.sendTo('executor', { type: 'execute', assignment: event.assignment });
      } else {
        fifoPush(context.mailbox, event.assignment);
      }
    }),
    abort: enqueueActions(({ context, event, enqueue, system }) => {
      if (event.type !== 'task.abort') return;
      const { workflowId, reason, at } = event;
      const running: string[] = [];
      for (const taskId of event.taskIds) {
        const queued = fifoRemove(
          context.mailbox,
          (a) => a.workflowId === workflowId && a.taskId === taskId,
        );
        if (!queued) {
          running.push(taskId);
          continue;
        }
        const report: TaskReport = {
          type: 'task.failed',
          workflowId,
          taskId,
          attempt: queued.attempt,
          at,
          error: { name: 'AbortError', message: `aborted before it started: ${reason}` },
          retryable: false,
          slotless: true,
        };
        const workflow = system.get(queued.replyTo);
        if (workflow) enqueue.sendTo(workflow, report);
      }
      // Only now, with the run's queued attempts gone: each abort frees a slot.
      for (const taskId of running) {
        enqueue.sendTo('executor', { type: 'abort', workflowId, taskId, reason, at });
      }
    }),
    /** Passes a report on to the workflow that assigned the task. */
    forward: enqueueActions(({ event, enqueue, system }) => forward(event, enqueue, system)),
    /**
     * A message from the communicator goes straight to the executor, which
     * runs the `onMessage` hook: in any state, beside running tasks, and
     * without touching the slot accounting.
     */
    deliverMessage: enqueueActions(({ event, enqueue }) => {
      if (event.type === 'message.deliver' || event.type === 'task.signal')
        enqueue.sendTo('executor', event);
    }),
    /** An attempt waits: its slot goes to the next assignment (the attempt resumes without one). */
    suspend: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'task.waiting') return;
      context.suspended.push(attemptKey(event));
      freeSlot(context, enqueue);
    }),
    /** An attempt ended (a suspended one frees no slot): reported by its run (see `SlotRelease`). */
    release: enqueueActions(({ context, event, enqueue }) => {
      if (event.type === 'task.release') release(context, event, enqueue);
    }),
    /**
     * Passes a finished attempt's report on, frees its slot and starts the
     * next waiting assignment: one action, as this runs once per task.
     */
    finish: enqueueActions(({ context, event, enqueue, system }) => {
      forward(event, enqueue, system);
      const attempt = endedAttempt(event);
      if (attempt) release(context, attempt, enqueue);
    }),
  },
}).createMachine({
  id: 'agent',
  context: ({ input }) => ({
    role: input.role,
    concurrency: input.concurrency,
    running: 0,
    mailbox: createFifo(),
    finished: 0,
    suspended: [],
  }),
  invoke: { id: 'executor', src: 'executor', input: ({ context }) => ({ role: context.role }) },
  on: {
    'task.assign': [
      { guard: 'startsAtOnce', actions: ['takeSlot', 'startExecution'] },
      { actions: 'accept' },
    ],
    'task.abort': { actions: 'abort' },
    'task.progress': { actions: 'forward' },
    'message.deliver': { actions: 'deliverMessage' },
    'task.signal': { actions: 'deliverMessage' },
    // A suspended attempt reports in any state (it holds no slot).
    'task.waiting': { guard: 'suspended', actions: 'forward' },
    'task.completed': { guard: 'suspended', actions: 'finish' },
    'task.failed': { guard: 'suspended', actions: 'finish' },
    'task.release': { guard: 'suspended', actions: 'release' },
  },
  initial: 'idle',
  // Explicit transitions rather than `always`: eventless transitions are
  // re-checked after every event, which cost a quarter of an agent's time.
  states: {
    idle: {
      on: { 'task.assign': { target: 'busy', actions: 'accept' } },
    },
    busy: {
      on: {
        'task.waiting': [
          { guard: 'suspended', actions: 'forward' },
          { guard: 'lastRunning', target: 'idle', actions: ['forward', 'suspend'] },
          { actions: ['forward', 'suspend'] },
        ],
        'task.completed': [
          { guard: 'suspended', actions: 'finish' },
          { guard: 'lastRunning', target: 'idle', actions: 'finish' },
          { actions: 'finish' },
        ],
        'task.failed': [
          { guard: 'suspended', actions: 'finish' },
          { guard: 'lastRunning', target: 'idle', actions: 'finish' },
          { actions: 'finish' },
        ],
        'task.release': [
          { guard: 'suspended', actions: 'release' },
          { guard: 'lastRunning', target: 'idle', actions: 'release' },
          { actions: 'release' },
        ],
      },
    },
  },
});

export type AgentActorRef = ActorRefFrom<typeof agentMachine>;
