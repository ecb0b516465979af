import { fromCallback } from 'xstate';
import { TroupeError } from '../../errors.js';
import type { MessageDelivery } from '../../machines/communicator/events.js';
import type { ExecutorEvent, TaskReport } from '../../machines/protocol.js';
import type { Clock } from '../../runtime/clock.js';
import type { ResolvedValueLimits } from '../../schemas/limits.js';
import type { LlmEvent } from '../llm/llm-events.js';
import { Attempt, type AttemptScope } from './attempt.js';
import type { AgentDefinition } from './define-agent.js';
import { type AgentMessaging, deliverMessages } from './message-delivery.js';
import type { WaitSchemas } from './wait-schemas.js';

export interface AgentExecutorDeps {
  /** The registered agent behind a role. */
  lookup(role: string): AgentDefinition | undefined;
  clock: Clock;
  /**
   * The communicator, read when needed (it is created after the actor
   * system): gives `run` its `messages`, `send` and `request`, and answers
   * delivered requests. @default none: agents cannot message
   */
  messaging?: () => AgentMessaging | undefined;
  /** The zod schemas of open waits, shared with the engine's `signal`. */
  waitSchemas: WaitSchemas;
  /** Delivers what `ctx.emit` reports (LLM text, tool calls, usage) to `engine.on`; not journaled. @default dropped */
  emit?: (event: LlmEvent) => void;
  /**
   * Tells the engine's listeners an attempt started. It is no event of the
   * run (the attempt's reports carry `startedAt`): nothing is journaled and
   * the run's machine takes one event less per task. @default nobody is told
   */
  announce?: (started: Extract<TaskReport, { type: 'task.started' }>) => void;
  /** Size limits of outputs, shared-context updates and progress messages. */
  limits: Pick<
    ResolvedValueLimits,
    'maxTaskOutputBytes' | 'maxSharedUpdateBytes' | 'maxMessageBytes'
  >;
}

/** What an executor is started with. */
type Input = { role: string };

/** What an executor receives: attempts from its agent, and messages the agent passes on. */
type Received = ExecutorEvent | MessageDelivery;

/**
 * The side-effecting half of an agent: runs `run(task, ctx)` for each
 * `execute` event, announces `task.started` to the engine's listeners, and
 * reports `task.progress`, `task.completed` or `task.failed` (each carrying
 * the attempt's `startedAt`) to its agent machine.
 *
 * Timeouts are enforced here, from the moment the attempt starts (not when it
 * was queued): the signal is aborted and the attempt reported failed at once.
 * A `run` that ignores its signal keeps running in the background, but its
 * late result is ignored.
 *
 * Every value `run` hands over (output, `updateShared`, `addTasks`,
 * `progress`) is checked here, where it enters (see `value-check.ts`): a bad
 * one throws `INVALID_VALUE` or `VALUE_TOO_LARGE` at the call and fails the
 * attempt for good even if `run` catches it, so it never reaches the run's
 * state or the journal batch it would share with other runs.
 */
export function createAgentExecutor(deps: AgentExecutorDeps) {
  return fromCallback<Received, Input>(({ input, receive, sendBack: send, system }) => {
    const scope: AttemptScope = {
      deps,
      role: input.role,
      toAgent: (report) => send(report),
      /**
       * An attempt's end goes straight to its run, which gives the agent its
       * slot back (see `SlotRelease`): one event less per task than through
       * the agent. A run that is gone (halted, stopped) cannot, so the report
       * then goes to the agent, which frees the slot itself.
       */
      end: (replyTo, report) => {
        const run = system.get(replyTo);
        if (run?.getSnapshot().status === 'active') run.send(report);
        else send(report);
      },
      toRun: (replyTo, report) => system.get(replyTo)?.send(report),
      running: new Map(),
    };

    receive((event) => {
      if (event.type === 'message.deliver') {
        const port = deps.messaging?.();
        if (port) deliverMessages(deps.lookup(input.role), input.role, event.messages, port);
        return;
      }
      if (event.type === 'execute') {
        new Attempt(scope, event.assignment).start(deps.lookup(input.role));
        return;
      }
      if (event.type === 'task.signal') {
        const held = scope.running.get(`${event.workflowId}:${event.taskId}`);
        if (held?.number === event.attempt) held.waits().deliver(event.name, event.outcome);
        return;
      }
      const { workflowId, taskId, reason } = event;
      scope.running.get(`${workflowId}:${taskId}`)?.stop(
        new TroupeError('TASK_ABORTED', `Task "${taskId}" was aborted: ${reason}`, {
          workflowId,
          taskId,
        }),
        true,
      );
    });

    // Stopped with the runtime: abort whatever still runs, report nothing.
    return () => {
      const closed = new TroupeError('RUNTIME_CLOSED', `Agent "${input.role}" stopped.`);
      for (const attempt of [...scope.running.values()]) attempt.stop(closed, false);
    };
  });
}
