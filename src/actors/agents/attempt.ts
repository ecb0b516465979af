/**
 * One attempt of a task on its agent's executor: runs `run(task, ctx)`,
 * enforces the attempt's timeout, checks what `run` hands over, and reports
 * the attempt's end once.
 *
 * It runs once per task, so it is allocated lean: the attempt is one object
 * with its methods on the prototype, and the `ctx` given to `run` is another
 * whose methods are made (bound, so `const { progress } = ctx` works) only
 * when the agent first reads them. Most agents read none, and a closure per
 * method per attempt was the largest share of what a task allocated.
 */
import { serializeError, TroupeError } from '../../errors.js';
import type { TaskAssignment, TaskReport } from '../../machines/protocol.js';
import type { AgentMessage } from '../../schemas/agent-message.js';
import { checkValue, checkValueObject, type ValueCheck } from '../../schemas/value-check.js';
import type {
  TaskDefinitionInput,
  WorkflowDefinitionInput,
} from '../../schemas/workflow-definition.js';
import type { LlmEventBody } from '../llm/llm-events.js';
import type { AgentExecutorDeps } from './agent-executor.js';
import { AttemptWaits, type WaitForOptions } from './attempt-waits.js';
import type { AgentDefinition, AgentRunContext, TaskLockOptions } from './define-agent.js';
import { messageContext } from './message-delivery.js';
import { TaskLocks } from './task-locks.js';

/** The report that ends an attempt. */
export type AttemptEnd = Extract<TaskReport, { type: 'task.completed' | 'task.failed' }>;

/** What the attempts of one executor share. */
export interface AttemptScope {
  deps: AgentExecutorDeps;
  /** The agent's role. */
  role: string;
  /** Reports through the agent machine (`task.progress`, `task.waiting`). */
  toAgent(report: TaskReport): void;
  /** Reports the attempt's end (see `createAgentExecutor`). */
  end(replyTo: string, report: AttemptEnd): void;
  /** Reports straight to a run (`task.step`). */
  toRun(replyTo: string, report: TaskReport): void;
  /** Running attempts by `workflowId:taskId`: an attempt removes itself when it ends. */
  running: Map<string, Attempt>;
}

/** Errors no retry can fix: the same code would hand over the same value again. */
const FINAL_CODES: ReadonlySet<string> = new Set([
  'TASK_ABORTED',
  'INVALID_VALUE',
  'VALUE_TOO_LARGE',
  // A retry would spend more of a budget that is already used up.
  'BUDGET_EXCEEDED',
]);

/** The methods of `ctx`, made when first read. */
const CONTEXT_METHODS = [
  'send',
  'request',
  'lock',
  'progress',
  'emit',
  'updateShared',
  'addTasks',
  'waitFor',
  'sleep',
  'sleepUntil',
  'step',
  'startChild',
] as const satisfies readonly (keyof AgentRunContext)[];
type ContextMethods = Pick<AgentRunContext, (typeof CONTEXT_METHODS)[number]>;

export class Attempt {
  readonly key: string;
  readonly assignment: TaskAssignment;
  readonly #scope: AttemptScope;
  readonly #startedAt: number;
  #settled = false;
  #timer: unknown;
  /** Made when `run` first reads `ctx.signal`: most attempts never do. */
  #controller: AbortController | undefined;
  #abortedWith: unknown;
  /** The durable calls and the locks, made when first used (or a signal arrives). */
  #waits: AttemptWaits | undefined;
  #locks: TaskLocks | undefined;
  /** Working time left before the timeout: it pauses while the attempt waits. */
  #remaining = 0;
  #armedAt = 0;
  #sharedUpdates: Record<string, unknown> | undefined;
  #addedTasks: TaskDefinitionInput[] | undefined;
  /** The first value refused during the attempt: it fails the attempt, even if caught. */
  #refused: unknown;
  readonly #context: AttemptContext;
  #methods: Partial<ContextMethods> | undefined;

  constructor(scope: AttemptScope, assignment: TaskAssignment) {
    this.#scope = scope;
    this.assignment = assignment;
    this.key = `${assignment.workflowId}:${assignment.taskId}`;
    this.#startedAt = scope.deps.clock.now();
    this.#context = new AttemptContext(this);
  }

  get number(): number {
    return this.assignment.attempt;
  }

  /** Starts the attempt with the agent's definition (undefined: the agent is no longer registered). */
  start(agent: AgentDefinition | undefined): void {
    const { deps, role } = this.#scope;
    const { workflowId, taskId, attempt } = this.assignment;
    this.#scope.running.set(this.key, this);
    deps.announce?.({ type: 'task.started', workflowId, taskId, attempt, at: this.#startedAt });
    if (!agent) {
      this.#fail(
        new TroupeError('UNKNOWN_AGENT', `Agent "${role}" is no longer registered.`, {
          workflowId,
          taskId,
          agent: role,
        }),
        false,
      );
      return;
    }
    this.#remaining = this.assignment.timeoutMs ?? 0;
    this.#armTimeout();
    const port = deps.messaging?.();
    const task = {
      id: taskId,
      workflowId,
      agent: this.assignment.agent,
      description: this.assignment.description,
      input: this.assignment.input,
    };
    const ctx = this.#context;
    // Through a resolved promise, so a `run` that throws synchronously is
    // reported like one that rejects. The inbox is in memory (no extra
    // tick) unless the workflow's messages must first be read from the store.
    Promise.resolve(port ? port.inbox(role, workflowId) : [])
      .then((messages) => {
        ctx.messages = messages;
        return agent.run(task, ctx);
      })
      .then(
        (output) => this.#completed(output),
        (error: unknown) => {
          const final = this.#refused ?? error;
          this.#fail(final, !(final instanceof TroupeError && FINAL_CODES.has(final.code)));
        },
      );
  }

  /** Aborts the attempt: reported failed with `error`, or (`report` false) ended silently. */
  stop(error: TroupeError, report: boolean): void {
    this.#abort(error);
    if (report) this.#fail(error, false);
    else this.#settle(undefined);
  }

  /** The durable calls of the attempt (made on first use; made after the attempt ended, they start ended). */
  waits(): AttemptWaits {
    if (!this.#waits) {
      const scope = this.#scope;
      const { replyTo } = this.assignment;
      this.#waits = new AttemptWaits({
        assignment: this.assignment,
        startedAt: this.#startedAt,
        clock: scope.deps.clock,
        schemas: scope.deps.waitSchemas,
        toAgent: (report) => {
          if (!this.#settled) scope.toAgent(report);
        },
        toRun: (report) => scope.toRun(replyTo, report),
        onWaiting: (isWaiting) => this.#pauseTimeout(isWaiting),
      });
      if (this.#settled) this.#waits.close(() => this.#endedWhileWaiting());
    }
    return this.#waits;
  }

  /** `ctx.signal`. */
  signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#abortedWith !== undefined) this.#controller.abort(this.#abortedWith);
    }
    return this.#controller.signal;
  }

  /** A method of `ctx`, made (and kept) when first read. */
  method<K extends keyof ContextMethods>(name: K): ContextMethods[K] {
    this.#methods ??= {};
    const made = this.#methods[name];
    if (made) return made;
    const method = this.#makeMethod(name) as ContextMethods[K];
    this.#methods[name] = method;
    return method;
  }

  #makeMethod(name: keyof ContextMethods): ContextMethods[keyof ContextMethods] {
    switch (name) {
      case 'send':
        return this.#messaging().send;
      case 'request':
        return this.#messaging().request;
      case 'lock':
        return (key: string, options?: TaskLockOptions) => this.#taskLocks().take(key, options);
      case 'progress':
        return (fraction: number, message?: string) => this.#progress(fraction, message);
      case 'emit':
        return (event: LlmEventBody) => this.#emit(event);
      case 'updateShared':
        return (updates: Record<string, unknown>) => this.#updateShared(updates);
      case 'addTasks':
        return (tasks: TaskDefinitionInput[]) => this.#addTasks(tasks);
      case 'waitFor':
        return <T>(waitName: string, options?: WaitForOptions<T>) =>
          this.waits().waitFor(waitName, options);
      case 'sleep':
        return (ms: number) => this.waits().sleep(ms);
      case 'sleepUntil':
        return (time: Date | number) => this.waits().sleepUntil(time);
      case 'step':
        return <T>(stepName: string, fn: () => Promise<T> | T) => this.waits().step(stepName, fn);
      case 'startChild':
        return (workflow: WorkflowDefinitionInput | string, childInput?: Record<string, unknown>) =>
          this.waits().startChild(workflow, childInput);
    }
  }

  #messaging() {
    return messageContext(
      this.#scope.deps.messaging?.(),
      this.#scope.role,
      this.assignment.workflowId,
    );
  }

  #taskLocks(): TaskLocks {
    if (!this.#locks) {
      const { deps, role } = this.#scope;
      const { workflowId, taskId } = this.assignment;
      this.#locks = new TaskLocks(deps.messaging?.(), workflowId, role, taskId);
      if (this.#settled) this.#locks.releaseAll();
    }
    return this.#locks;
  }

  #abort(error: unknown): void {
    if (this.#abortedWith !== undefined) return;
    this.#abortedWith = error;
    this.#controller?.abort(error);
  }

  #endedWhileWaiting(): TroupeError {
    const { workflowId, taskId } = this.assignment;
    return new TroupeError('TASK_ABORTED', `Task "${taskId}" ended while waiting.`, {
      workflowId,
      taskId,
    });
  }

  #settle(report: AttemptEnd | undefined): void {
    if (this.#settled) return;
    this.#settled = true;
    const scope = this.#scope;
    // Before the report: a task that starts because this one ended finds the locks free.
    this.#locks?.releaseAll();
    if (this.#timer !== undefined) scope.deps.clock.clearTimeout(this.#timer);
    if (scope.running.get(this.key) === this) scope.running.delete(this.key);
    this.#waits?.close(() => this.#endedWhileWaiting());
    if (report) scope.end(this.assignment.replyTo, report);
  }

  #fail(error: unknown, retryable: boolean): void {
    const { workflowId, taskId, attempt } = this.assignment;
    this.#settle({
      type: 'task.failed',
      workflowId,
      taskId,
      attempt,
      at: this.#scope.deps.clock.now(),
      error: serializeError(error),
      retryable,
      startedAt: this.#startedAt,
    });
  }

  #completed(output: unknown): void {
    try {
      if (this.#refused !== undefined) throw this.#refused;
      if (output !== undefined) checkValue(output, this.#outputCheck('output'));
    } catch (error) {
      this.#fail(error, false);
      return;
    }
    const { workflowId, taskId, attempt } = this.assignment;
    const sharedUpdates = this.#sharedUpdates;
    const addedTasks = this.#addedTasks;
    this.#settle({
      type: 'task.completed',
      workflowId,
      taskId,
      attempt,
      at: this.#scope.deps.clock.now(),
      output,
      ...(sharedUpdates ? { sharedUpdates } : {}),
      ...(addedTasks ? { addedTasks } : {}),
      startedAt: this.#startedAt,
    });
  }

  #armTimeout(): void {
    const timeoutMs = this.assignment.timeoutMs;
    if (timeoutMs === undefined) return;
    const { clock } = this.#scope.deps;
    this.#armedAt = clock.now();
    this.#timer = clock.setTimeout(() => {
      const { workflowId, taskId, attempt } = this.assignment;
      const error = new TroupeError(
        'TASK_TIMEOUT',
        `Task "${taskId}" of workflow "${workflowId}" timed out after ${timeoutMs} ms (attempt ${attempt}).`,
        { workflowId, taskId, agent: this.#scope.role },
      );
      this.#abort(error);
      this.#fail(error, true);
    }, this.#remaining);
  }

  /** The attempt's timeout counts working time: it pauses while the attempt waits. */
  #pauseTimeout(isWaiting: boolean): void {
    if (this.assignment.timeoutMs === undefined || this.#settled) return;
    if (isWaiting) {
      const { clock } = this.#scope.deps;
      clock.clearTimeout(this.#timer);
      this.#timer = undefined;
      this.#remaining = Math.max(0, this.#remaining - (clock.now() - this.#armedAt));
    } else this.#armTimeout();
  }

  /** Runs a check of a value `run` handed over; the first refusal fails the attempt even if caught. */
  #checked<T>(check: () => T): T {
    try {
      return check();
    } catch (error) {
      this.#refused ??= error;
      throw error;
    }
  }

  #subject(): string {
    const { workflowId, taskId } = this.assignment;
    return `Agent "${this.#scope.role}" in task "${taskId}" of workflow "${workflowId}"`;
  }

  #where(): { workflowId: string; taskId: string; agent: string } {
    const { workflowId, taskId } = this.assignment;
    return { workflowId, taskId, agent: this.#scope.role };
  }

  #outputCheck(root: string): ValueCheck {
    return {
      subject: () => this.#subject(),
      root,
      context: this.#where(),
      limit: {
        name: 'maxTaskOutputBytes',
        max: this.#scope.deps.limits.maxTaskOutputBytes,
        raise: 'createRuntime({ limits: { maxTaskOutputBytes } })',
      },
    };
  }

  #emit(event: LlmEventBody): void {
    const { deps, role } = this.#scope;
    if (this.#settled || !deps.emit) return;
    const { workflowId, taskId, attempt } = this.assignment;
    deps.emit({ ...event, workflowId, taskId, agent: role, attempt, at: deps.clock.now() });
  }

  #progress(fraction: number, message: string | undefined): void {
    const { deps } = this.#scope;
    this.#checked(() =>
      checkProgress(fraction, message, this.#subject(), this.#where(), deps.limits),
    );
    if (this.#settled) return;
    const { workflowId, taskId, attempt } = this.assignment;
    this.#scope.toAgent({
      type: 'task.progress',
      workflowId,
      taskId,
      attempt,
      progress: Math.min(1, Math.max(0, fraction)),
      ...(message === undefined ? {} : { message }),
      at: deps.clock.now(),
    });
  }

  #updateShared(updates: Record<string, unknown>): void {
    // A frozen copy: the agent may change its object after the call.
    const frozen = this.#checked(() =>
      checkValueObject(updates, {
        subject: this.#subject(),
        root: 'updateShared(updates)',
        freeze: true,
        context: this.#where(),
        limit: {
          name: 'maxSharedUpdateBytes',
          max: this.#scope.deps.limits.maxSharedUpdateBytes,
          raise: 'createRuntime({ limits: { maxSharedUpdateBytes } })',
        },
      }),
    );
    this.#sharedUpdates = { ...this.#sharedUpdates, ...frozen };
  }

  #addTasks(tasks: TaskDefinitionInput[]): void {
    const frozen = this.#checked(() => {
      if (!Array.isArray(tasks)) {
        throw new TroupeError(
          'INVALID_VALUE',
          `${this.#subject()}: addTasks(tasks) takes an array of task definitions.`,
          {
            ...this.#where(),
            path: 'addTasks(tasks)',
            issues: ['addTasks(tasks): must be an array'],
          },
        );
      }
      return checkValue(tasks, { ...this.#outputCheck('addTasks(tasks)'), freeze: true });
    }) as TaskDefinitionInput[];
    this.#addedTasks = [...(this.#addedTasks ?? []), ...frozen];
  }
}

/**
 * The `ctx` an agent's `run` gets. Its methods live on the prototype as
 * getters that hand out the attempt's bound function, made on first read;
 * the attempt's state is out of reach (a private field).
 */
class AttemptContext implements AgentRunContext {
  messages: readonly AgentMessage[] = [];
  readonly idempotencyKey: string;
  readonly attempt: number;
  readonly dependencies: Readonly<Record<string, unknown>>;
  readonly #attempt: Attempt;
  declare readonly send: AgentRunContext['send'];
  declare readonly request: AgentRunContext['request'];
  declare readonly lock: AgentRunContext['lock'];
  declare readonly progress: AgentRunContext['progress'];
  declare readonly emit: AgentRunContext['emit'];
  declare readonly updateShared: AgentRunContext['updateShared'];
  declare readonly addTasks: AgentRunContext['addTasks'];
  declare readonly waitFor: AgentRunContext['waitFor'];
  declare readonly sleep: AgentRunContext['sleep'];
  declare readonly sleepUntil: AgentRunContext['sleepUntil'];
  declare readonly step: AgentRunContext['step'];
  declare readonly startChild: AgentRunContext['startChild'];

  constructor(attempt: Attempt) {
    this.#attempt = attempt;
    this.idempotencyKey = attempt.key;
    this.attempt = attempt.assignment.attempt;
    this.dependencies = attempt.assignment.dependencies;
  }

  get signal(): AbortSignal {
    return this.#attempt.signal();
  }

  /** Read through: the view is built only if the agent reads it. */
  get shared(): Readonly<Record<string, unknown>> {
    return this.#attempt.assignment.shared;
  }

  // One getter per method on the prototype (not own properties, so a spread
  // of ctx copies only the data fields), each read through to the attempt.
  static {
    for (const name of CONTEXT_METHODS) {
      Object.defineProperty(AttemptContext.prototype, name, {
        get(this: AttemptContext) {
          return this.#attempt.method(name);
        },
        configurable: true,
      });
    }
  }
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
