/**
 * The queue's one long-lived runner child: it calls job handlers when the
 * queue machine sends `run` orders, aborts them on `abort` orders, and
 * reports how each run ended.
 *
 * Invariants:
 * - One runner per queue, however many jobs run (a child per job would cost
 *   O(n) per spawn in XState).
 * - Reports are batched: outcomes settled in the same microtask checkpoint go
 *   back as one `job.settled` event, and so do runs ending in separate
 *   callbacks of one event-loop turn after the turn's first report (see
 *   `settle`), which keeps the machine's per-job cost low.
 * - After an abort the run's late result is dropped here; the machine drops
 *   stale reports too (it checks the attempt number).
 * - The AbortController is created on first use of `ctx.signal` only: most
 *   handlers never look at it, and creating one per job is measurable.
 */
import { type CallbackActorLogic, fromCallback, type NonReducibleUnknown } from 'xstate';
import {
  type SerializedError,
  serializeError,
  TroupeError,
  type TroupeErrorCode,
} from '../../errors.js';
import type {
  JobOutcome,
  QueueEvent,
  RunnerCommand,
  RunOrder,
} from '../../machines/queue/queue-types.js';
import type { Clock } from '../../runtime/clock.js';
import type { JobHandlerRegistry } from './job-handlers.js';
import { failure, isPromiseLike, isRetryable, Run } from './job-run.js';

export interface JobRunnerDeps {
  handlers: JobHandlerRegistry;
  clock: Clock;
  /** Checks a durable job's result (plain JSON, within `maxJobBytes`); throws the typed error. */
  checkResult: (jobId: string, result: unknown) => void;
}

type Report = (event: QueueEvent) => void;

export function createJobRunner(
  deps: JobRunnerDeps,
): CallbackActorLogic<RunnerCommand, NonReducibleUnknown> {
  return fromCallback<RunnerCommand>(({ sendBack, receive }) => {
    let stopped = false;
    const report: Report = (event) => {
      if (!stopped) sendBack(event);
    };
    const inflight = new Map<string, Run>();
    let outcomes: JobOutcome[] = [];
    // When the batch's first run settled: that, not the moment the batch is
    // sent, is when the attempts ended.
    let settledAt = 0;
    // Event-loop turns, counted by an immediate armed when runs start or
    // outcomes are reported. Outcomes go back at the end of the microtask
    // checkpoint they settle in, except when this turn already reported some
    // and the run did not start in this turn: runs that end in separate
    // callbacks of one turn (each after its own I/O or timer) are then
    // reported together at the turn's end, which costs the queue one event,
    // one step and one write for all of them, not one each. A run that ends
    // alone, and runs with nothing to wait for, are reported at once.
    let turn = 0;
    let turnArmed = false;
    let reportedTurn = -1;
    let flushScheduled = false;
    const nextTurn = (): void => {
      turn++;
      turnArmed = false;
    };
    const armTurn = (): void => {
      if (turnArmed) return;
      turnArmed = true;
      setImmediate(nextTurn);
    };

    const flushOutcomes = (): void => {
      flushScheduled = false;
      reportedTurn = turn;
      armTurn();
      const batch = outcomes;
      outcomes = [];
      report({ type: 'job.settled', at: settledAt, outcomes: batch });
    };

    const settle = (run: Run, outcome: JobOutcome): void => {
      if (run.done) return;
      run.done = true;
      if (inflight.get(run.jobId) === run) inflight.delete(run.jobId);
      if (outcomes.length === 0) settledAt = deps.clock.now();
      outcomes.push(outcome);
      if (flushScheduled) return;
      flushScheduled = true;
      if (run.turn === turn || reportedTurn !== turn) queueMicrotask(flushOutcomes);
      else setImmediate(flushOutcomes);
    };

    const succeed = (run: Run, result: unknown): void => {
      if (run.durable && result !== undefined) {
        try {
          deps.checkResult(run.jobId, result);
        } catch (error) {
          fail(run, serializeError(error), false);
          return;
        }
      }
      settle(run, { id: run.jobId, attempt: run.attempt, ok: true, result });
    };

    const fail = (run: Run, error: SerializedError, retryable: boolean): void => {
      settle(run, { id: run.jobId, attempt: run.attempt, ok: false, error, retryable });
    };

    const onProgress = (run: Run, value: number, message: string | null): void => {
      report({
        type: 'job.progress',
        at: deps.clock.now(),
        id: run.jobId,
        attempt: run.attempt,
        value,
        message,
      });
    };

    const start = (order: RunOrder): void => {
      const run = new Run(
        order.id,
        order.name,
        order.attempt,
        order.args,
        order.durable,
        onProgress,
      );
      const handler =
        order.handler === null
          ? deps.handlers.forJob(order.id)
          : deps.handlers.named(order.handler);
      if (!handler) {
        const message =
          order.handler === null
            ? `Job ${JSON.stringify(order.id)} (${order.name}) had a function handler, which does not survive a restart. Register the handler by name with queue.register() to make the job durable.`
            : `No handler named ${JSON.stringify(order.handler)} is registered for job ${JSON.stringify(order.id)}. Call queue.register(${JSON.stringify(order.handler)}, fn) before start().`;
        fail(run, failure('UNKNOWN_HANDLER', message, order.id), false);
        return;
      }
      inflight.set(order.id, run);
      run.turn = turn;
      armTurn();
      let value: unknown;
      try {
        value = handler(run);
      } catch (error) {
        fail(run, serializeError(error), isRetryable(error));
        return;
      }
      if (isPromiseLike(value)) {
        value.then(
          (result) => succeed(run, result),
          (error: unknown) => fail(run, serializeError(error), isRetryable(error)),
        );
      } else {
        succeed(run, value);
      }
    };

    const abort = (id: string, attempt: number, reason: SerializedError): void => {
      const run = inflight.get(id);
      if (!run || run.attempt !== attempt) return;
      inflight.delete(id);
      const code = (reason.code ?? 'TASK_ABORTED') as TroupeErrorCode;
      run.abort(new TroupeError(code, reason.message, { jobId: id, attempt }));
    };

    // A runner that starts runs nothing: if the queue says jobs are running,
    // this is a restore (XState restarts callback children) and they were
    // interrupted; the queue re-queues them, re-arms its timers (XState does
    // not persist them) and waits for start(). On a fresh queue this changes
    // nothing. Sent now, so the queue has recovered before its start() returns.
    report({ type: 'queue.recover', at: deps.clock.now() });

    receive((command) => {
      // Aborts first: a command never aborts a run it also starts.
      for (const order of command.aborts) abort(order.id, order.attempt, order.reason);
      for (const order of command.runs) start(order);
    });

    return () => {
      stopped = true;
      for (const run of inflight.values()) {
        run.abort(
          new TroupeError(
            'QUEUE_STOPPED',
            `Job ${JSON.stringify(run.jobId)} (${run.name}) was aborted because its queue actor stopped.`,
            { jobId: run.jobId },
          ),
        );
      }
      inflight.clear();
    };
  });
}
