/**
 * The task queue as a statechart: `stopped` -> `running` -> (`draining` ->)
 * `stopped`.
 *
 * Invariants:
 * - Pure: no I/O and no clock. Time arrives on events (`at`); handlers run in
 *   ONE long-lived runner child (never one child per job: spawning is O(n)
 *   per sibling in XState); writes go to ONE persister child.
 * - Context is plain JSON, and every deadline (scheduled time, retry time,
 *   attempt timeout) is data in it. XState does not persist delayed events;
 *   after a snapshot restore the restarted runner sends `queue.recover`, which
 *   re-arms the wake-up timer from those deadlines and re-queues the jobs that
 *   were running (their handlers died with the old process).
 * - The context is mutated in place by the step actions (a copy per event
 *   would make every event O(n), and even a shallow copy per action is most of
 *   a job's cost). Old snapshots therefore share it: read what you need from a
 *   snapshot right away, or copy it.
 * - A step collects its effects in `context.outbox` and carries them out at
 *   its end (see carryOut()), so every effect sees the finished state.
 */

import { and, assertEvent, enqueueActions, fromCallback, not, setup } from 'xstate';
import { TroupeError } from '../../errors.js';
import { timerDelay } from '../../schemas/limits.js';
import { admitJobs, cancelJob, recordProgress, settleOutcomes } from './job-lifecycle.js';
import { advanceClock, createQueueContext, isOutboxEmpty } from './queue-context.js';
import {
  cancelWake,
  type FollowUp,
  followUp,
  interruptRunning,
  loadJobs,
} from './queue-scheduling.js';
import type {
  PersisterCommand,
  QueueContext,
  QueueEmitted,
  QueueEvent,
  QueueSettings,
  RunnerCommand,
} from './queue-types.js';

/** Params of the step actions: what follows the step in the current state. */
export interface StepParams {
  next: FollowUp;
}
const DISPATCH: StepParams = { next: 'dispatch' };
const DRAIN: StepParams = { next: 'drain' };
const HOLD: StepParams = { next: 'hold' };

function missing(child: string): never {
  throw new TroupeError(
    'CONFIG_ERROR',
    `The queue machine has no ${child}: build its logic with createQueueLogic(deps) from src/runtime/queue/queue-logic.ts instead of using queueMachine directly.`,
    { child },
  );
}

/**
 * The part of XState's `enqueue` the queue uses to carry out a step's effects.
 * Method syntax on purpose: XState's own overloads are checked against it
 * bivariantly, so its typed `enqueue` object fits.
 */
interface EffectQueue {
  emit(event: QueueEmitted): void;
  sendTo(target: 'runner', event: RunnerCommand): void;
  sendTo(target: 'persister', event: PersisterCommand): void;
  raise(event: QueueEvent, options: { id: string; delay: number }): void;
  cancel(id: string): void;
}

/**
 * Carries out the effects a step collected in `context.outbox`. Writes go
 * first, so a job's `running` state is in the write buffer before its handler
 * starts (a handler that awaits `queue.flush()` then knows it is stored). The
 * arrays handed over now belong to their receivers, so the outbox gets new
 * ones; it is transient (empty between events), hence reset in place.
 */
function carryOut(context: QueueContext, enqueue: EffectQueue): void {
  const out = context.outbox;
  if (isOutboxEmpty(out)) return;
  if (out.writes.length > 0 || out.attempts.length > 0 || out.deletes.length > 0) {
    enqueue.sendTo('persister', {
      type: 'persist',
      puts: out.writes,
      attempts: out.attempts,
      deletes: out.deletes,
    });
    out.writes = [];
    out.attempts = [];
    out.deletes = [];
  }
  if (out.notices.length > 0) {
    enqueue.emit({ type: 'queue.notices', notices: out.notices });
    out.notices = [];
  }
  if (out.runs.length > 0 || out.aborts.length > 0) {
    enqueue.sendTo('runner', { type: 'runner.commands', runs: out.runs, aborts: out.aborts });
    out.runs = [];
    out.aborts = [];
  }
  if (out.rearm) {
    out.rearm = false;
    enqueue.cancel('wake');
    if (context.wakeAt !== null) {
      // A job scheduled further ahead than a timer can wait wakes the queue
      // early; the wake finds nothing due and plans the next one.
      const delay = timerDelay(context.wakeAt - context.now);
      enqueue.raise({ type: 'queue.wake', at: context.now + delay }, { id: 'wake', delay });
    }
  }
}

export const queueMachine = setup({
  types: {
    /** The queue's job table, counters and settings (plain JSON, so it persists). */
    context: {} as QueueContext,
    events: {} as QueueEvent,
    input: {} as QueueSettings,
    emitted: {} as QueueEmitted,
  },
  actors: {
    // Provided by createQueueLogic(); these only make a misuse fail loudly.
    runner: fromCallback<RunnerCommand>(() => missing('job runner')),
    persister: fromCallback<PersisterCommand>(() => missing('persister')),
  },
  // One action per transition: each step mutates the context in place and
  // carries out its effects itself. An assign per step would copy the
  // snapshot each time, and at a few jobs per event that copy is most of the
  // cost of a job.
  actions: {
    admitJobs: enqueueActions(({ context, event, enqueue }, params: StepParams) => {
      assertEvent(event, 'job.enqueue');
      advanceClock(context, event.at);
      admitJobs(context, event.jobs, event.unique === true);
      followUp(context, params.next);
      carryOut(context, enqueue);
    }),
    cancelJob: enqueueActions(({ context, event, enqueue }, params: StepParams) => {
      assertEvent(event, 'job.cancel');
      advanceClock(context, event.at);
      cancelJob(context, event.id);
      followUp(context, params.next);
      carryOut(context, enqueue);
    }),
    settleOutcomes: enqueueActions(({ context, event, enqueue }, params: StepParams) => {
      assertEvent(event, 'job.settled');
      advanceClock(context, event.at);
      settleOutcomes(context, event.outcomes);
      followUp(context, params.next);
      carryOut(context, enqueue);
    }),
    recordProgress: enqueueActions(({ context, event, enqueue }) => {
      assertEvent(event, 'job.progress');
      advanceClock(context, event.at);
      recordProgress(context, event.id, event.attempt, event.value, event.message);
      carryOut(context, enqueue);
    }),
    loadJobs: enqueueActions(({ context, event, enqueue }, params: StepParams) => {
      assertEvent(event, 'queue.load');
      advanceClock(context, event.at);
      loadJobs(context, event.jobs);
      followUp(context, params.next);
      carryOut(context, enqueue);
    }),
    /** After a restore no handler and no timer survived: re-queue running jobs, re-arm. */
    recover: enqueueActions(({ context, event, enqueue }, params: StepParams) => {
      advanceClock(context, event.at);
      interruptRunning(context, false);
      context.wakeAt = null;
      context.outbox.rearm = true;
      followUp(context, params.next);
      carryOut(context, enqueue);
    }),
    /** The armed wake-up timer fired, so none is armed now. */
    wake: enqueueActions(({ context, event, enqueue }, params: StepParams) => {
      advanceClock(context, event.at);
      context.wakeAt = null;
      followUp(context, params.next);
      carryOut(context, enqueue);
    }),
    /** Entering a state: start what may start, plan the next wake-up. */
    drive: enqueueActions(({ context, event, enqueue }, params: StepParams) => {
      advanceClock(context, event.at);
      followUp(context, params.next);
      carryOut(context, enqueue);
    }),
    /** Non-graceful stop: abort the handlers, re-queue their jobs. */
    stopNow: enqueueActions(({ context, event, enqueue }) => {
      advanceClock(context, event.at);
      interruptRunning(context, true);
      cancelWake(context);
      context.outbox.notices.push({ type: 'queue.stopped', at: context.now });
      carryOut(context, enqueue);
    }),
    /** The last running job of a graceful stop finished. */
    stopDrained: enqueueActions(({ context, enqueue }) => {
      cancelWake(context);
      context.outbox.notices.push({ type: 'queue.stopped', at: context.now });
      carryOut(context, enqueue);
    }),
  },
  guards: {
    isGraceful: ({ event }) => event.type === 'queue.stop' && event.graceful,
    hasRunningJobs: ({ context }) => context.running > 0,
    hasNoRunningJobs: ({ context }) => context.running === 0,
  },
}).createMachine({
  id: 'queue',
  context: ({ input }) => createQueueContext(input),
  invoke: [
    { id: 'runner', src: 'runner' },
    { id: 'persister', src: 'persister' },
  ],
  initial: 'stopped',
  // Every event is handled by one step action; its `next` says what follows
  // in the current state (see followUp()).
  on: {
    'job.enqueue': { actions: { type: 'admitJobs', params: HOLD } },
    'job.cancel': { actions: { type: 'cancelJob', params: HOLD } },
    'job.settled': { actions: { type: 'settleOutcomes', params: HOLD } },
    'job.progress': { actions: 'recordProgress' },
    'queue.load': { actions: { type: 'loadJobs', params: HOLD } },
    'queue.recover': { actions: { type: 'recover', params: HOLD } },
    'queue.wake': { actions: { type: 'wake', params: HOLD } },
  },
  states: {
    stopped: {
      on: {
        'queue.start': { target: 'running' },
      },
    },
    running: {
      entry: { type: 'drive', params: DISPATCH },
      on: {
        'job.enqueue': { actions: { type: 'admitJobs', params: DISPATCH } },
        'job.cancel': { actions: { type: 'cancelJob', params: DISPATCH } },
        'job.settled': { actions: { type: 'settleOutcomes', params: DISPATCH } },
        'queue.load': { actions: { type: 'loadJobs', params: DISPATCH } },
        // Restored while running: wait for start(), so handlers can be
        // registered before the first job runs.
        'queue.recover': { target: 'stopped', actions: { type: 'recover', params: HOLD } },
        'queue.wake': { actions: { type: 'wake', params: DISPATCH } },
        'queue.stop': [
          { guard: and(['isGraceful', 'hasRunningJobs']), target: 'draining' },
          { target: 'stopped', actions: 'stopNow' },
        ],
      },
    },
    /** Graceful stop: running jobs finish (timeouts still apply), nothing new starts. */
    draining: {
      entry: { type: 'drive', params: DRAIN },
      always: {
        guard: 'hasNoRunningJobs',
        target: 'stopped',
        actions: 'stopDrained',
      },
      on: {
        'queue.start': { target: 'running' },
        'job.cancel': { actions: { type: 'cancelJob', params: DRAIN } },
        'job.settled': { actions: { type: 'settleOutcomes', params: DRAIN } },
        'queue.wake': { actions: { type: 'wake', params: DRAIN } },
        'queue.recover': { target: 'stopped', actions: { type: 'recover', params: HOLD } },
        'queue.stop': {
          guard: not('isGraceful'),
          target: 'stopped',
          actions: 'stopNow',
        },
      },
    },
  },
});

export type QueueMachine = typeof queueMachine;
