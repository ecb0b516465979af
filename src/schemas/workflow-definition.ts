import { z } from 'zod';
import { conditionSchema } from './condition.js';
import { durationMs } from './limits.js';
import { jsonObjectSchema as jsonObject } from './value-check.js';

/** Bumped when the stored shape of a definition changes incompatibly. */
export const DEFINITION_FORMAT_VERSION = 1;

/** Ids, agent roles and names: the rule shared with definition-shape.ts's hand check. */
export const IDENTIFIER_PATTERN = /^[A-Za-z0-9_.:-]+$/;
export const MAX_IDENTIFIER_LENGTH = 200;
/** Longest task or workflow description. */
export const MAX_DESCRIPTION_LENGTH = 10_000;

const identifier = z
  .string()
  .min(1, 'must not be empty')
  .max(MAX_IDENTIFIER_LENGTH, `must be at most ${MAX_IDENTIFIER_LENGTH} characters`)
  .regex(IDENTIFIER_PATTERN, 'may only contain letters, digits and _ . : -');

/** A task's time limit: whole ms, more than 0, at most the longest timer Node can arm. */
const timeoutMs = durationMs({ min: 1, int: true });

const retryFields = {
  maxAttempts: z.number().int().min(1).max(100),
  initialDelayMs: durationMs({ int: true }),
  factor: z.number().min(1).finite(),
  maxDelayMs: durationMs({ int: true }),
  jitter: z.number().min(0).max(1),
};

export const retryPolicySchema = z.strictObject({
  /** Total attempts including the first. @default 1 (no retry) */
  maxAttempts: retryFields.maxAttempts.default(1),
  /** Delay before the first retry. @default 100 */
  initialDelayMs: retryFields.initialDelayMs.default(100),
  /** Growth per retry. @default 2 */
  factor: retryFields.factor.default(2),
  /** Cap on any single delay. @default 30000 */
  maxDelayMs: retryFields.maxDelayMs.default(30_000),
  /** Randomised fraction of each delay (0..1). @default 0.2 */
  jitter: retryFields.jitter.default(0.2),
});

/**
 * A partial policy (workflow defaults, task overrides): only the fields given.
 * Not `retryPolicySchema.partial()`, which in zod 4 still fills in every
 * default, so a task setting one field would reset the workflow's others.
 */
export const retryOverrideSchema = z.strictObject(retryFields).partial();
/** A task's retry policy with every field filled in. */
export type RetryPolicy = z.output<typeof retryPolicySchema>;

/** The retry policy of a task that sets none, and of each field it leaves out. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = retryPolicySchema.parse({});
export type RetryPolicyInput = z.input<typeof retryPolicySchema>;

/** What runs a task: an agent, a person (`approval`, `input`), or a child workflow. */
export const TASK_KINDS = ['agent', 'approval', 'input', 'workflow'] as const;
/** One of {@link TASK_KINDS}. */
export type TaskKind = (typeof TASK_KINDS)[number];

/** How a waiting task (`approval`, `input`) asks, and how its answer must look. */
export const taskWaitSchema = z.strictObject({
  /** The name `engine.signal(workflowId, name, payload)` answers. @default the task id */
  name: identifier.optional(),
  /** What the person is asked, shown by the CLI, the inspector and `task.waiting`. */
  prompt: z.string().max(10_000).optional(),
  /** JSON Schema the answer of an `input` task must match. @default any JSON */
  schema: z.record(z.string(), z.unknown()).optional(),
});

/** The workflow a task of kind `workflow` runs as a child: inline, or registered by name. */
export const childWorkflowSchema = z
  .strictObject({
    /** Name of a definition registered with `engine.registerWorkflow(definition)`. */
    name: z.string().min(1).max(200).optional(),
    /** An inline definition (validated like any other when the parent starts). */
    definition: z.record(z.string(), z.unknown()).optional(),
  })
  .refine((w) => (w.name === undefined) !== (w.definition === undefined), {
    message: 'give exactly one of name or definition',
  });

const taskFields = {
  /** Unique within the workflow; used in idempotency keys `workflowId:taskId`. */
  id: identifier,
  /** What runs the task. @default 'agent' */
  kind: z.enum(TASK_KINDS).default('agent'),
  /**
   * The role of the agent that runs the task (for example `backend`); required
   * for kind `agent`. @default the kind, for the other kinds
   */
  agent: identifier.optional(),
  /** What the agent should do, in words. */
  description: z.string().max(MAX_DESCRIPTION_LENGTH).default(''),
  /** Arbitrary JSON input handed to the agent. */
  input: jsonObject.default(() => ({})),
  /** Ids of tasks that must settle first. */
  dependsOn: z.array(identifier).default([]),
  /** Runs the task only when true; otherwise it is skipped (see condition.ts). */
  condition: conditionSchema.optional(),
  /** Overrides the workflow's default retry policy. */
  retry: retryOverrideSchema.optional(),
  /** Aborts an attempt after this long; the attempt counts as failed. */
  timeoutMs: timeoutMs.optional(),
  /**
   * Name of the compensation handler that undoes this task in a saga,
   * registered with `engine.registerCompensations(workflowName, handlers)`.
   */
  compensation: identifier.optional(),
  /** Kinds `approval` and `input`: the question and the answer's schema. */
  wait: taskWaitSchema.optional(),
  /** Kind `workflow`: the child workflow to run. */
  workflow: childWorkflowSchema.optional(),
  /**
   * Epoch ms (or an ISO date string) before which the task does not start,
   * even once its dependencies have settled. Kept in data: survives a restart.
   */
  notBefore: z.union([z.number().int().min(0), z.iso.datetime({ offset: true })]).optional(),
};

/** The zod schema of one task of a definition. */
export const taskDefinitionSchema = z
  .strictObject(taskFields)
  .superRefine((task, ctx) => {
    if (task.kind === 'agent' && task.agent === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['agent'],
        message: 'required for a task of kind agent',
      });
    if (task.kind === 'workflow' && task.workflow === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['workflow'],
        message: 'required for a task of kind workflow: { name } or { definition }',
      });
  })
  .transform((task) => ({ ...task, agent: task.agent ?? task.kind }));
/** A task of a validated definition, defaults filled in. */
export type TaskDefinition = z.output<typeof taskDefinitionSchema>;
/** A task as you write it: only `id` and `agent` are required. */
export type TaskDefinitionInput = z.input<typeof taskDefinitionSchema>;

/** The zod schema of a workflow definition (shape only; `validateDefinition` also checks dependencies, cycles and names). */
export const workflowDefinitionSchema = z.strictObject({
  formatVersion: z.literal(DEFINITION_FORMAT_VERSION).default(DEFINITION_FORMAT_VERSION),
  /** Names the kind of workflow; runs of one name are compared by the evaluator. */
  name: z.string().min(1, 'must not be empty').max(MAX_IDENTIFIER_LENGTH),
  description: z.string().max(MAX_DESCRIPTION_LENGTH).default(''),
  tasks: z.array(taskDefinitionSchema).min(1, 'a workflow needs at least one task'),
  /** Most tasks of this workflow running at once. @default 8 */
  maxConcurrency: z.number().int().min(1).max(10_000).default(8),
  /** Defaults for every task; a task's own values win. */
  defaults: z
    .strictObject({
      retry: retryOverrideSchema.optional(),
      timeoutMs: timeoutMs.optional(),
    })
    .default({}),
  /**
   * Saga mode: when a task fails for good, the compensations of the tasks
   * that completed run in reverse completion order. @default false
   */
  saga: z.boolean().default(false),
  /** Free-form data about the run's origin (planner, request). */
  metadata: jsonObject.default(() => ({})),
});
/** A validated definition, defaults filled in (what the engine runs and stores). */
export type WorkflowDefinition = z.output<typeof workflowDefinitionSchema>;
/** A definition as you write it: `name` and `tasks` are required, the rest has defaults. See docs/workflows.md. */
export type WorkflowDefinitionInput = z.input<typeof workflowDefinitionSchema>;
