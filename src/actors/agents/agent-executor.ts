import { fromCallback } from 'xstate';
import { serializeError, TroupeError } from '../../errors.js';
import type { MessageDelivery } from '../../machines/communicator/events.js';
import type { ExecutorEvent, TaskAssignment, TaskReport } from '../../machines/protocol.js';
import type { Clock } from '../../runtime/clock.js';
import type { ResolvedValueLimits } from '../../schemas/limits.js';
import { checkValue, checkValueObject, type ValueCheck } from '../../schemas/value-check.js';
import type { TaskDefinitionInput } from '../../schemas/workflow-definition.js';
import type { LlmEvent } from '../llm/llm-events.js';
import { AttemptWaits } from './attempt-waits.js';
import type { AgentDefinition, AgentRunContext } from './define-agent.js';
import { type AgentMessaging, deliverMessages, messageContext } from './message-delivery.js';
import { TaskLocks } from './task-locks.js';
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

/** Errors no retry can fix: the same code would hand over the same value again. */
const FINAL_CODES: ReadonlySet<string> = new Set([
  'TASK_ABORTED',
  'INVALID_VALUE',
  'VALUE_TOO_LARGE',
  // A retry would spend more of a budget that is already used up.
  'BUDGET_EXCEEDED',
]);

/** The report that ends an attempt. */
type AttemptEnd = Extract<TaskReport, { type: 'task.completed' | 'task.failed' }>;

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
    const sendBack = (report: TaskReport) => send(report);
    /**
     * An attempt's end goes straight to its run, which gives the agent its
     * slot back (see `SlotRelease`): one event less per task than through
     * the agent. A run that is gone (halted, stopped) cannot, so the report
     * then goes to the agent, which frees the slot itself.
     */
    const toRun = (replyTo: string, report: AttemptEnd) => {
      const run = system.get(replyTo);
      if (run?.getSnapshot().status === 'active') run.send(report);
      else sendBack(report);
    };
    /** Running attempts by `workflowId:taskId`; `abort` fails one at once. */
    const inFlight = new Map<string, (error: TroupeError, report: boolean) => void>();
    /** The durable calls (`waitFor`, `sleep`, `step`, `startChild`) of running attempts, by the same key. */
    const waiting = new Map<string, { attempt: number; waits: () => AttemptWaits }>();

    const execute = (assignment: TaskAssignment) => {
      const agent = deps.lookup(input.role);
      const { workflowId, taskId, attempt } = assignment;
      const key = `${workflowId}:${taskId}`;
      // Made when `run` first reads `ctx.signal`: most attempts never do, and
      // an AbortController per task was a visible share of a task's cost.
      let controller: AbortController | undefined;
      let abortedWith: unknown;
      const abort = (error: unknown) => {
        if (abortedWith !== undefined) return;
        abortedWith = error;
        controller?.abort(error);
      };
      const startedAt = deps.clock.now();
      let settled = false;
      let timer: unknown;
      const endedWhileWaiting = () =>
        new TroupeError('TASK_ABORTED', `Task "${taskId}" ended while waiting.`, {
          workflowId,
          taskId,
        });
      // The durable calls and the locks are made when first used (or a signal
      // arrives): most attempts use neither, and they were a visible share of
      // what a task allocates. Made after the attempt ended, they start ended.
      let waits: AttemptWaits | undefined;
      const attemptWaits = (): AttemptWaits => {
        if (!waits) {
          waits = new AttemptWaits({
            assignment,
            startedAt,
            clock: deps.clock,
            schemas: deps.waitSchemas,
            toAgent: (report) => {
              if (!settled) sendBack(report);
            },
            toRun: (report) => system.get(assignment.replyTo)?.send(report),
            onWaiting: (isWaiting) => pauseTimeout(isWaiting),
          });
          if (settled) waits.close(endedWhileWaiting);
        }
        return waits;
      };
      waiting.set(key, { attempt, waits: attemptWaits });
      let locks: TaskLocks | undefined;
      const taskLocks = (): TaskLocks => {
        if (!locks) {
          locks = new TaskLocks(deps.messaging?.(), workflowId, input.role, taskId);
          if (settled) locks.releaseAll();
        }
        return locks;
      };
      const settle = (report: AttemptEnd | undefined) => {
        if (settled) return;
        settled = true;
        // Before the report: a task that starts because this one ended finds the locks free.
        locks?.releaseAll();
        if (timer !== undefined) deps.clock.clearTimeout(timer);
        inFlight.delete(key);
        if (waiting.get(key)?.waits === attemptWaits) waiting.delete(key);
        waits?.close(endedWhileWaiting);
        if (report) toRun(assignment.replyTo, report);
      };
      const fail = (error: unknown, retryable: boolean) =>
        settle({
          type: 'task.failed',
          workflowId,
          taskId,
          attempt,
          at: deps.clock.now(),
          error: serializeError(error),
          retryable,
          startedAt,
        });
      inFlight.set(key, (error, report) => {
        abort(error);
        if (report) fail(error, false);
        else settle(undefined);
      });

      deps.announce?.({ type: 'task.started', workflowId, taskId, attempt, at: startedAt });
      if (!agent) {
        fail(
          new TroupeError('UNKNOWN_AGENT', `Agent "${input.role}" is no longer registered.`, {
            workflowId,
            taskId,
            agent: input.role,
          }),
          false,
        );
        return;
      }
      // The attempt's timeout counts working time: it pauses while the attempt waits.
      const timeoutMs = assignment.timeoutMs;
      let remaining = timeoutMs ?? 0;
      let armedAt = 0;
      const armTimeout = () => {
        if (timeoutMs === undefined) return;
        armedAt = deps.clock.now();
        timer = deps.clock.setTimeout(() => {
          const error = new TroupeError(
            'TASK_TIMEOUT',
            `Task "${taskId}" of workflow "${workflowId}" timed out after ${timeoutMs} ms (attempt ${attempt}).`,
            { workflowId, taskId, agent: input.role },
          );
          abort(error);
          fail(error, true);
        }, remaining);
      };
      const pauseTimeout = (isWaiting: boolean) => {
        if (timeoutMs === undefined || settled) return;
        if (isWaiting) {
          deps.clock.clearTimeout(timer);
          timer = undefined;
          remaining = Math.max(0, remaining - (deps.clock.now() - armedAt));
        } else armTimeout();
      };
      armTimeout();

      let sharedUpdates: Record<string, unknown> | undefined;
      let addedTasks: TaskDefinitionInput[] | undefined;
      /** The first value refused during the attempt: it fails the attempt, even if caught. */
      let refused: unknown;
      const subject = `Agent "${input.role}" in task "${taskId}" of workflow "${workflowId}"`;
      const where = { workflowId, taskId, agent: input.role };
      const checked = <T>(check: () => T): T => {
        try {
          return check();
        } catch (error) {
          refused ??= error;
          throw error;
        }
      };
      const outputCheck = (root: string): ValueCheck => ({
        subject,
        root,
        context: where,
        limit: {
          name: 'maxTaskOutputBytes',
          max: deps.limits.maxTaskOutputBytes,
          raise: 'createRuntime({ limits: { maxTaskOutputBytes } })',
        },
      });
      const port = deps.messaging?.();
      const { send: sendMessage, request } = messageContext(port, input.role, workflowId);
      const ctx: AgentRunContext = {
        messages: [],
        send: sendMessage,
        request,
        lock: (lockKey, options) => taskLocks().take(lockKey, options),
        get signal() {
          if (!controller) {
            controller = new AbortController();
            if (abortedWith !== undefined) controller.abort(abortedWith);
          }
          return controller.signal;
        },
        idempotencyKey: key,
        attempt,
        dependencies: assignment.dependencies,
        // Read through: the view is built only if the agent reads it.
        get shared() {
          return assignment.shared;
        },
        progress: (fraction, message) => {
          checked(() => checkProgress(fraction, message, subject, where, deps.limits));
          if (settled) return;
          sendBack({
            type: 'task.progress',
            workflowId,
            taskId,
            attempt,
            progress: Math.min(1, Math.max(0, fraction)),
            ...(message === undefined ? {} : { message }),
          });
        },
        emit: (event) => {
          if (settled || !deps.emit) return;
          deps.emit({
            ...event,
            workflowId,
            taskId,
            agent: input.role,
            attempt,
            at: deps.clock.now(),
          });
        },
        updateShared: (updates) => {
          // A frozen copy: the agent may change its object after the call.
          const frozen = checked(() =>
            checkValueObject(updates, {
              subject,
              root: 'updateShared(updates)',
              freeze: true,
              context: where,
              limit: {
                name: 'maxSharedUpdateBytes',
                max: deps.limits.maxSharedUpdateBytes,
                raise: 'createRuntime({ limits: { maxSharedUpdateBytes } })',
              },
            }),
          );
          sharedUpdates = { ...sharedUpdates, ...frozen };
        },
        addTasks: (tasks) => {
          const frozen = checked(() => {
            if (!Array.isArray(tasks)) {
              throw new TroupeError(
                'INVALID_VALUE',
                `${subject}: addTasks(tasks) takes an array of task definitions.`,
                {
                  ...where,
                  path: 'addTasks(tasks)',
                  issues: ['addTasks(tasks): must be an array'],
                },
              );
            }
            return checkValue(tasks, { ...outputCheck('addTasks(tasks)'), freeze: true });
          }) as TaskDefinitionInput[];
          addedTasks = [...(addedTasks ?? []), ...frozen];
        },
        waitFor: (name, options) => attemptWaits().waitFor(name, options),
        sleep: (ms) => attemptWaits().sleep(ms),
        sleepUntil: (time) => attemptWaits().sleepUntil(time),
        step: (name, fn) => attemptWaits().step(name, fn),
        startChild: (workflow, childInput) => attemptWaits().startChild(workflow, childInput),
      };
      const task = {
        id: taskId,
        workflowId,
        agent: assignment.agent,
        description: assignment.description,
        input: assignment.input,
      };
      // Through a resolved promise, so a `run` that throws synchronously is
      // reported like one that rejects. The inbox is in memory (no extra
      // tick) unless the workflow's messages must first be read from the store.
      Promise.resolve(port ? port.inbox(input.role, workflowId) : [])
        .then((messages) => {
          ctx.messages = messages;
          return agent.run(task, ctx);
        })
        .then(
          (output) => {
            try {
              if (refused !== undefined) throw refused;
              if (output !== undefined) checkValue(output, outputCheck('output'));
            } catch (error) {
              fail(error, false);
              return;
            }
            settle({
              type: 'task.completed',
              workflowId,
              taskId,
              attempt,
              at: deps.clock.now(),
              output,
              ...(sharedUpdates ? { sharedUpdates } : {}),
              ...(addedTasks ? { addedTasks } : {}),
              startedAt,
            });
          },
          (error: unknown) => {
            const final = refused ?? error;
            fail(final, !(final instanceof TroupeError && FINAL_CODES.has(final.code)));
          },
        );
    };

    receive((event) => {
      if (event.type === 'message.deliver') {
        const port = deps.messaging?.();
        if (port) deliverMessages(deps.lookup(input.role), input.role, event.messages, port);
        return;
      }
      if (event.type === 'execute') {
        execute(event.assignment);
        return;
      }
      if (event.type === 'task.signal') {
        const held = waiting.get(`${event.workflowId}:${event.taskId}`);
        if (held?.attempt === event.attempt) held.waits().deliver(event.name, event.outcome);
        return;
      }
      const { workflowId, taskId, reason } = event;
      inFlight.get(`${workflowId}:${taskId}`)?.(
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
      for (const stop of [...inFlight.values()]) stop(closed, false);
    };
  });
}

/** A progress report: a finite fraction and, optionally, a string message within the message limit. */
function checkProgress(
  fraction: unknown,
  message: unknown,
  subject: string,
  where: { workflowId: string; taskId: string; agent: string },
  limits: AgentExecutorDeps['limits'],
): void {
  const refuse = (path: string, reason: string) =>
    new TroupeError('INVALID_VALUE', `${subject}: ${path}: ${reason}.`, {
      ...where,
      path,
      issues: [`${path}: ${reason}`],
    });
  if (typeof fraction !== 'number' || !Number.isFinite(fraction)) {
    throw refuse('progress(fraction)', 'must be a finite number between 0 and 1');
  }
  if (message === undefined) return;
  if (typeof message !== 'string') throw refuse('progress(message)', 'must be a string');
  checkValue(message, {
    subject,
    root: 'progress(message)',
    context: where,
    limit: {
      name: 'maxMessageBytes',
      max: limits.maxMessageBytes,
      raise: 'createRuntime({ limits: { maxMessageBytes } })',
    },
  });
}
