import { type ActorRefFrom, enqueueActions, fromCallback, setup } from 'xstate';
import type { MessageDelivery } from '../communicator/events.js';
import { createFifo, type Fifo, fifoPush, fifoRemove, fifoSize, fifoTake } from '../fifo.js';
import {
  type AgentEvent,
  type ExecutorEvent,
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
  /** Attempts handed to the executor and not yet reported finished. */
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

function attemptKey(report: { workflowId: string; taskId: string; attempt: number }): string {
  return `${report.workflowId}:${report.taskId}:${report.attempt}`;
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
 */
export const agentMachine = setup({
  types: {
    context: {} as AgentMachineContext,
    events: {} as AgentEvent | MessageDelivery,
    input: {} as AgentMachineInput,
  },
  actors: { executor: executorPlaceholder },
  guards: {
    /** The finishing attempt is the last one running and nothing waits. */
    lastRunning: ({ context }) => context.running === 1 && fifoSize(context.mailbox) === 0,
    /** The report is about an attempt that waits (or waited) and holds no slot. */
    suspended: ({ context, event }) =>
      (event.type === 'task.completed' ||
        event.type === 'task.failed' ||
        event.type === 'task.waiting') &&
      context.suspended.includes(attemptKey(event)),
  },
  actions: {
    accept: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'task.assign') return;
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
    forward: enqueueActions(({ event, enqueue, system }) => {
      if (
        event.type === 'task.assign' ||
        event.type === 'task.abort' ||
        event.type === 'task.signal' ||
        event.type === 'message.deliver'
      )
        return;
      const workflow = system.get(workflowSystemId(event.workflowId));
      if (workflow) enqueue.sendTo(workflow, event);
    }),
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
    /** A suspended attempt ended: it holds no slot to free. */
    unsuspend: enqueueActions(({ context, event }) => {
      if (event.type !== 'task.completed' && event.type !== 'task.failed') return;
      const key = attemptKey(event);
      context.suspended = context.suspended.filter((k) => k !== key);
      context.finished++;
    }),
    /** Frees the slot of a finished attempt and starts the next waiting one. */
    release: enqueueActions(({ context, enqueue }) => {
      context.finished++;
      freeSlot(context, enqueue);
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
    'task.assign': { actions: 'accept' },
    'task.abort': { actions: 'abort' },
    'task.progress': { actions: 'forward' },
    'message.deliver': { actions: 'deliverMessage' },
    'task.signal': { actions: 'deliverMessage' },
    // A suspended attempt reports in any state (it holds no slot).
    'task.waiting': { guard: 'suspended', actions: 'forward' },
    'task.completed': { guard: 'suspended', actions: ['forward', 'unsuspend'] },
    'task.failed': { guard: 'suspended', actions: ['forward', 'unsuspend'] },
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
          { guard: 'suspended', actions: ['forward', 'unsuspend'] },
          { guard: 'lastRunning', target: 'idle', actions: ['forward', 'release'] },
          { actions: ['forward', 'release'] },
        ],
        'task.failed': [
          { guard: 'suspended', actions: ['forward', 'unsuspend'] },
          { guard: 'lastRunning', target: 'idle', actions: ['forward', 'release'] },
          { actions: ['forward', 'release'] },
        ],
      },
    },
  },
});

export type AgentActorRef = ActorRefFrom<typeof agentMachine>;
