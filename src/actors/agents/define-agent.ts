import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import type {
  AgentMessage,
  OutgoingMessage,
  OutgoingRequest,
  RequestOptions,
} from '../../schemas/agent-message.js';
import { formatZodIssues } from '../../schemas/validate.js';
import type {
  TaskDefinitionInput,
  WorkflowDefinitionInput,
} from '../../schemas/workflow-definition.js';
import type { WorkflowResult } from '../../schemas/workflow-result.js';
import type { LlmEventBody } from '../llm/llm-events.js';
import type { WaitForOptions } from './attempt-waits.js';

/**
 * Where an agent's work falls in a delivery, used by the heuristic planner to
 * order tasks: data and schema first, then backend, frontend, verification
 * (QA, security, operations), and documentation last.
 */
export const AGENT_STAGES = ['data', 'backend', 'frontend', 'verify', 'docs'] as const;
/** Where the heuristic planner puts an agent's tasks: data, backend, frontend, verify, docs (in that order). */
export type AgentStage = (typeof AGENT_STAGES)[number];

/** The task as an agent sees it. */
export interface AgentTask {
  /** The task id within its workflow. */
  id: string;
  workflowId: string;
  /** The role the task was assigned to. */
  agent: string;
  description: string;
  input: Readonly<Record<string, unknown>>;
}

/**
 * What an agent's `run` gets besides the task. Its methods and `signal` may
 * be taken off the object (`const { progress, signal } = ctx`); they are
 * made when first read, so a spread copy (`{ ...ctx }`) holds only the data
 * fields (`attempt`, `idempotencyKey`, `dependencies`, `messages`).
 */
export interface AgentRunContext {
  /** Aborted when the attempt times out or the workflow is cancelled. */
  signal: AbortSignal;
  /** `workflowId:taskId`: the same on every attempt and after a crash; use it to make side effects idempotent. */
  idempotencyKey: string;
  /** 1 for the first attempt. */
  attempt: number;
  /** Reports progress as a fraction between 0 and 1, with an optional message. */
  progress(fraction: number, message?: string): void;
  /**
   * Reports live activity to `engine.on` listeners (the CLI, the inspector):
   * LLM agents send their streamed text, tool calls and token usage here.
   * Not journaled; dropped once the attempt has ended, and by remote workers.
   */
  emit(event: LlmEventBody): void;
  /** Outputs of the completed tasks this one depends on, by task id. */
  dependencies: Readonly<Record<string, unknown>>;
  /** The workflow's shared context as it was when the task was dispatched. */
  shared: Readonly<Record<string, unknown>>;
  /** Merges keys into the shared context when (and only if) this attempt completes. */
  updateShared(updates: Record<string, unknown>): void;
  /** Adds tasks to the running workflow when this attempt completes (validated; a cycle fails the task). */
  addTasks(tasks: TaskDefinitionInput[]): void;
  /** Messages of this workflow delivered to this agent before the attempt started (result handoffs included), oldest first. */
  messages: readonly AgentMessage[];
  /** Sends a message from this agent; `workflowId` defaults to this task's workflow. */
  send(message: OutgoingMessage): Promise<AgentMessage>;
  /** Sends a request and resolves with the response; rejects with `REQUEST_TIMEOUT` naming the recipient. */
  request(message: OutgoingRequest, options?: RequestOptions): Promise<AgentMessage>;
  /**
   * Takes the communicator lock `key` of this workflow for this task, waiting
   * up to `timeoutMs` behind its holder (first come, first served). The task
   * keeps it until the attempt ends, when it is released; taking a lock the
   * task already holds does nothing. Rejects with `LOCK_TIMEOUT` naming the
   * holder (`context.holder`: `<role>:<taskId>`).
   */
  lock(key: string, options?: TaskLockOptions): Promise<void>;
  /**
   * Waits durably for an answer delivered by `engine.signal(workflowId, name, payload)`
   * (or `troupe signal`): the task is `waiting`, its agent slot is free, and
   * the process may exit. Resolves with the answer (parsed by `schema`);
   * rejects with `WAIT_TIMEOUT` after `timeoutMs`. Names are unique within a
   * run. After a restart this call returns the recorded answer at once; code
   * before it runs again, except `ctx.step` calls (see docs/waits.md).
   */
  waitFor<T = unknown>(name: string, options?: WaitForOptions<T>): Promise<T>;
  /** Sleeps durably: the wake time is stored, so a restart resumes at the right time, not from zero. */
  sleep(ms: number): Promise<void>;
  /** Sleeps durably until a time (Date or epoch ms). */
  sleepUntil(time: Date | number): Promise<void>;
  /**
   * Runs `fn` once per attempt: its result (JSON) is journaled, and when the
   * agent runs again after a restart the recorded result is returned without
   * calling `fn`. Put side effects that come before a wait in steps.
   */
  step<T>(name: string, fn: () => Promise<T> | T): Promise<T>;
  /**
   * Runs a workflow (a definition, or the name of one registered with
   * `engine.registerWorkflow`) as a child of this run, with an id derived
   * from this task's, and waits durably for its result.
   */
  startChild(
    workflow: WorkflowDefinitionInput | string,
    input?: Record<string, unknown>,
  ): Promise<WorkflowResult>;
}

/** Options of `ctx.lock`. */
export interface TaskLockOptions {
  /** How long to wait for a lock another task holds; 0 fails at once. @default 30_000 */
  timeoutMs?: number;
  /** The lease: the lock is taken back this long after it was granted, should the process die. @default 600_000 */
  ttlMs?: number;
}

/** What an agent's `onMessage` hook gets besides the message. */
export interface AgentMessageContext {
  /** The receiving agent's role (the `from` of what it sends). */
  role: string;
  /** The workflow of the message being handled, if it has one. */
  workflowId: string | undefined;
  /** Sends a message from this agent; `workflowId` defaults to the received message's. */
  send(message: OutgoingMessage): Promise<AgentMessage>;
  /** Sends a request from this agent and resolves with the response; rejects with `REQUEST_TIMEOUT`. */
  request(message: OutgoingRequest, options?: RequestOptions): Promise<AgentMessage>;
}

/**
 * Handles a message delivered to the agent. For a `request`, the return value
 * (JSON) is sent back as the `response`, and a throw as an `error` message.
 */
export type AgentMessageHandler = (message: AgentMessage, ctx: AgentMessageContext) => unknown;

/** An agent's work: gets the task and its context, returns the task's output (JSON). */
export type AgentRun<TOutput = unknown> = (
  task: AgentTask,
  ctx: AgentRunContext,
) => Promise<TOutput> | TOutput;

/** Options of {@link defineAgent}. */
export interface AgentOptions<TOutput = unknown> {
  /** Unique role name tasks are assigned to, for example `backend`. */
  role: string;
  /** Shown in the CLI and inspector. @default the role */
  displayName?: string;
  /** Keywords the heuristic planner matches against a task description. @default [] */
  expertise?: readonly string[];
  /** Most tasks this agent runs at once; more wait in its mailbox. @default 1 */
  concurrency?: number;
  /** Where its work falls in a delivery (planner ordering). @default 'backend' */
  stage?: AgentStage;
  /** Instructions for an LLM-backed implementation of this role. */
  systemPrompt?: string;
  /** Does the work. Must return JSON-serialisable output. */
  run: AgentRun<TOutput>;
  /**
   * Called for each message delivered to this agent, while tasks run or not.
   * Requests are answered with its return value. Messages also reach the
   * next task's `ctx.messages`, so agents that only read them there need no hook.
   * @default none: requests to this agent fail at once with `REQUEST_FAILED`
   */
  onMessage?: AgentMessageHandler;
}

/** A validated agent with every default applied. */
export interface AgentDefinition<TOutput = unknown> {
  readonly role: string;
  readonly displayName: string;
  readonly expertise: readonly string[];
  readonly concurrency: number;
  readonly stage: AgentStage;
  readonly systemPrompt?: string;
  readonly run: AgentRun<TOutput>;
  readonly onMessage?: AgentMessageHandler;
}

const agentOptionsSchema = z.strictObject({
  role: z
    .string()
    .min(1, 'must not be empty')
    .regex(/^[A-Za-z0-9_.:-]+$/, 'may only contain letters, digits and _ . : -'),
  displayName: z.string().min(1).optional(),
  expertise: z.array(z.string().min(1)).default([]),
  concurrency: z.number().int().min(1).max(10_000).default(1),
  stage: z.enum(AGENT_STAGES).default('backend'),
  systemPrompt: z.string().optional(),
  run: z.custom<AgentRun>((value) => typeof value === 'function', 'must be a function'),
  onMessage: z
    .custom<AgentMessageHandler>((value) => typeof value === 'function', 'must be a function')
    .optional(),
});

/** What `registerAgent` accepts: an agent as {@link defineAgent} returns it. */
export const agentDefinitionSchema = z.custom<AgentDefinition>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    agentOptionsSchema.shape.role.safeParse((value as AgentDefinition).role).success &&
    typeof (value as AgentDefinition).run === 'function' &&
    Number.isInteger((value as AgentDefinition).concurrency),
  { error: 'must be an agent made with defineAgent({ role, run, ... })' },
);

/**
 * Declares an agent. Validation happens here, so a mistake surfaces where the
 * agent is written rather than when a workflow first needs it.
 *
 * @throws TroupeError `INVALID_INPUT` naming each bad field.
 */
export function defineAgent<TOutput>(options: AgentOptions<TOutput>): AgentDefinition<TOutput> {
  const parsed = agentOptionsSchema.safeParse(options);
  if (!parsed.success) {
    const issues = formatZodIssues(parsed.error);
    throw new TroupeError(
      'INVALID_INPUT',
      `defineAgent(${JSON.stringify((options as { role?: unknown })?.role ?? null)}): ${issues.join('; ')}`,
      { issues },
    );
  }
  const { role, displayName, expertise, concurrency, stage, systemPrompt } = parsed.data;
  return {
    role,
    displayName: displayName ?? role,
    expertise: expertise.map((k) => k.toLowerCase()),
    concurrency,
    stage,
    ...(systemPrompt === undefined ? {} : { systemPrompt }),
    run: options.run,
    ...(options.onMessage === undefined ? {} : { onMessage: options.onMessage }),
  };
}
