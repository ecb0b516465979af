import { z } from 'zod';
import { TroupeError, type TroupeErrorCode } from '../../errors.js';
import type {
  TaskAssignment,
  TaskReport,
  WaitOutcome,
  WaitRequest,
} from '../../machines/protocol.js';
import { childRunId } from '../../machines/workflow/waits.js';
import type { Clock } from '../../runtime/clock.js';
import type { WorkflowDefinitionInput } from '../../schemas/workflow-definition.js';
import type { WorkflowResult } from '../../schemas/workflow-result.js';
import type { WaitSchemas } from './wait-schemas.js';

/** Options of `ctx.waitFor`. */
export interface WaitForOptions<T> {
  /**
   * The answer's schema: `engine.signal` refuses an answer that does not
   * match (`INVALID_SIGNAL`) and the wait goes on. Stored as JSON Schema with
   * the wait, so a run restored in another process (or the CLI) validates too.
   * @default any JSON value
   */
  schema?: z.ZodType<T>;
  /** Ends the wait with a `WAIT_TIMEOUT` error after this long; the deadline survives a restart. @default no timeout */
  timeoutMs?: number;
  /** What a person is asked (CLI, inspector, the `task.waiting` event). */
  prompt?: string;
}

const waitNameSchema = z
  .string()
  .min(1)
  .max(200)
  .regex(/^[A-Za-z0-9_.:-]+$/, 'may only contain letters, digits and _ . : -');

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: unknown) => void;
  schema?: z.ZodType;
}

export interface AttemptWaitsDeps {
  assignment: TaskAssignment;
  /** When the attempt started: `task.waiting` carries it (see `AttemptStart`). */
  startedAt: number;
  clock: Clock;
  schemas: WaitSchemas;
  /** Reports through the agent machine (`task.waiting` frees the agent's slot). */
  toAgent: (report: TaskReport) => void;
  /** Reports straight to the run (`task.step`). */
  toRun: (report: TaskReport) => void;
  /** Called when the first wait opens and when the last one ends (the attempt's timeout pauses between). */
  onWaiting: (waiting: boolean) => void;
}

/**
 * The durable calls of one attempt: `waitFor`, `sleep`, `step`,
 * `startChild`. Each is keyed by a name (given, or numbered in call order for
 * sleeps and children), and what an earlier run of the same attempt recorded
 * (`assignment.memo`) is returned at once: after a restart the agent's code
 * runs again from the top, and these calls do not repeat.
 */
export class AttemptWaits {
  private readonly pending = new Map<string, Pending>();
  /** Outcomes that arrived before the code reached its wait (after a restart). */
  private readonly early = new Map<string, WaitOutcome>();
  private sleeps = 0;
  private children = 0;
  private closed = false;

  constructor(private readonly deps: AttemptWaitsDeps) {}

  waitFor<T>(name: string, options: WaitForOptions<T> = {}): Promise<T> {
    const valid = waitNameSchema.safeParse(name);
    if (!valid.success) {
      return Promise.reject(
        this.error(
          'INVALID_INPUT',
          `ctx.waitFor(${JSON.stringify(name)}): the name ${valid.error.issues[0]?.message}.`,
        ),
      );
    }
    const { schema, timeoutMs, prompt } = options;
    if (timeoutMs !== undefined && !(Number.isInteger(timeoutMs) && timeoutMs > 0)) {
      return Promise.reject(
        this.error(
          'INVALID_INPUT',
          `ctx.waitFor("${name}"): timeoutMs must be a positive integer.`,
        ),
      );
    }
    return this.wait(
      {
        name,
        kind: 'signal',
        ...(prompt === undefined ? {} : { prompt }),
        ...(schema ? { schema: jsonSchemaOf(schema) } : {}),
        ...(timeoutMs === undefined ? {} : { deadline: this.deps.clock.now() + timeoutMs }),
      },
      schema,
    ) as Promise<T>;
  }

  sleepUntil(time: Date | number): Promise<void> {
    const deadline = time instanceof Date ? time.getTime() : time;
    if (!Number.isFinite(deadline)) {
      return Promise.reject(
        this.error('INVALID_INPUT', 'ctx.sleepUntil(time): time must be a valid Date or epoch ms.'),
      );
    }
    const name = `${this.deps.assignment.taskId}:sleep:${++this.sleeps}`;
    // A time already past needs no wait (the name is still used up, so later sleeps keep theirs).
    if (deadline <= this.deps.clock.now() && !this.deps.assignment.memo?.waits?.[name])
      return Promise.resolve();
    return this.wait({ name, kind: 'sleep', deadline }).then(() => undefined);
  }

  sleep(ms: number): Promise<void> {
    if (!(Number.isFinite(ms) && ms >= 0)) {
      return Promise.reject(
        this.error('INVALID_INPUT', 'ctx.sleep(ms): ms must be a number >= 0.'),
      );
    }
    return this.sleepUntil(this.deps.clock.now() + ms);
  }

  async step<T>(name: string, fn: () => Promise<T> | T): Promise<T> {
    const steps = this.deps.assignment.memo?.steps;
    if (steps && Object.hasOwn(steps, name)) return steps[name] as T;
    const output = await fn();
    const { workflowId, taskId, attempt } = this.deps.assignment;
    if (!this.closed)
      this.deps.toRun({ type: 'task.step', workflowId, taskId, attempt, name, output });
    return output;
  }

  startChild(
    workflow: WorkflowDefinitionInput | string,
    input: Record<string, unknown> = {},
  ): Promise<WorkflowResult> {
    const { workflowId, taskId } = this.deps.assignment;
    const index = ++this.children;
    const child = {
      id: childRunId(workflowId, taskId, index),
      ...(typeof workflow === 'string'
        ? { name: workflow }
        : { definition: workflow as unknown as Record<string, unknown> }),
      input,
    };
    return this.wait({
      name: `${taskId}:child:${index}`,
      kind: 'child',
      child,
    }) as Promise<WorkflowResult>;
  }

  /** A wait's outcome from the run (`task.signal`). */
  deliver(name: string, outcome: WaitOutcome): void {
    const pending = this.pending.get(name);
    if (!pending) {
      this.early.set(name, outcome);
      return;
    }
    this.pending.delete(name);
    if (this.pending.size === 0) this.deps.onWaiting(false);
    this.settle(name, outcome, pending);
  }

  /** The attempt ended (or was aborted): waits still open reject, so the code unwinds. */
  close(error: () => unknown): void {
    this.closed = true;
    // Built only if a wait is open: most attempts never wait, and an Error captures a stack.
    const reason = this.pending.size > 0 ? error() : undefined;
    for (const [name, pending] of this.pending) {
      this.deps.schemas.delete(this.deps.assignment.workflowId, name);
      pending.reject(reason);
    }
    this.pending.clear();
  }

  private wait(request: WaitRequest, schema?: z.ZodType): Promise<unknown> {
    const known = this.deps.assignment.memo?.waits?.[request.name] ?? this.early.get(request.name);
    if (known) {
      this.early.delete(request.name);
      return new Promise((resolve, reject) =>
        this.settle(request.name, known, { resolve, reject, ...(schema ? { schema } : {}) }),
      );
    }
    if (this.closed) return Promise.reject(this.error('TASK_ABORTED', 'The attempt has ended.'));
    const { workflowId, taskId, attempt } = this.deps.assignment;
    if (schema) this.deps.schemas.set(workflowId, request.name, schema);
    return new Promise((resolve, reject) => {
      this.pending.set(request.name, { resolve, reject, ...(schema ? { schema } : {}) });
      if (this.pending.size === 1) this.deps.onWaiting(true);
      this.deps.toAgent({
        type: 'task.waiting',
        workflowId,
        taskId,
        attempt,
        at: this.deps.clock.now(),
        wait: request,
        startedAt: this.deps.startedAt,
      });
    });
  }

  private settle(name: string, outcome: WaitOutcome, pending: Pending): void {
    this.deps.schemas.delete(this.deps.assignment.workflowId, name);
    if (!outcome.ok) {
      const code = (outcome.error.code ?? 'TASK_FAILED') as TroupeErrorCode;
      pending.reject(this.error(code, outcome.error.message, name));
      return;
    }
    if (!pending.schema) {
      pending.resolve(outcome.value);
      return;
    }
    // Again here: the answer may come from the journal, and a schema may transform it.
    const parsed = pending.schema.safeParse(outcome.value);
    if (parsed.success) pending.resolve(parsed.data);
    else
      pending.reject(
        this.error(
          'INVALID_SIGNAL',
          `The answer to "${name}" does not match its schema: ${parsed.error.message}`,
          name,
        ),
      );
  }

  private error(code: TroupeErrorCode, message: string, wait?: string): TroupeError {
    const { workflowId, taskId } = this.deps.assignment;
    return new TroupeError(code, message, { workflowId, taskId, ...(wait ? { wait } : {}) });
  }
}

/** The JSON Schema stored with a wait; parts JSON Schema cannot express accept anything (zod checks them in process). */
export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  try {
    return z.toJSONSchema(schema, { unrepresentable: 'any', io: 'input' }) as Record<
      string,
      unknown
    >;
  } catch {
    return {};
  }
}
