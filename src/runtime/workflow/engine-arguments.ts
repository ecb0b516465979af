/**
 * The arguments of `rt.engine`'s methods as zod schemas, so a wrong type or a
 * misspelt option is a `TroupeError` `INVALID_INPUT` naming the method, the
 * argument and the field, before anything starts.
 */
import { z } from 'zod';
import { workflowIdSchema } from '../../schemas/agent-message.js';
import { functionSchema, nameSchema, parseArgument } from '../../schemas/arguments.js';
import { keyedTable } from '../../schemas/keyed-table.js';
import type { ResolvedValueLimits } from '../../schemas/limits.js';
import { checkValueObject } from '../../schemas/value-check.js';
import { workflowStatusSchema } from '../../schemas/workflow-result.js';

/** Parses one argument of `engine.<api>()`. */
export function engineArgument<S extends z.ZodType>(
  api: string,
  name: string,
  schema: S,
  value: unknown,
): z.output<S> {
  return parseArgument(`engine.${api}()`, name, schema, value);
}

export const startOptionsSchema = z.strictObject({
  workflowId: workflowIdSchema.optional(),
  /** Checked as a shared-context update (plain JSON, size) by {@link checkInitialContext}. */
  context: z.unknown().optional(),
  checkpointInterval: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .optional(),
  /** Set by the engine itself on a child run. */
  parent: z.strictObject({ workflowId: workflowIdSchema, wait: z.string() }).optional(),
});

/** `engine.start` options once checked. */
export type CheckedStartOptions = z.output<typeof startOptionsSchema>;

export const cancelOptionsSchema = z.union(
  [
    z.string(),
    z.strictObject({
      reason: z.string({ error: 'must be a string' }).optional(),
      compensate: z.boolean({ error: 'must be true or false' }).optional(),
    }),
  ],
  { error: 'must be a reason (string) or { reason?, compensate? }' },
);

export const forkOptionsSchema = z.strictObject({
  checkpoint: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must be >= 0' })
    .optional(),
  workflowId: workflowIdSchema.optional(),
});

export const replayOptionsSchema = z.strictObject({
  workflowId: workflowIdSchema.optional(),
});

export const listFilterSchema = z.strictObject({
  status: z
    .union([workflowStatusSchema, z.literal('interrupted')], {
      error: `must be one of ${[...workflowStatusSchema.options, 'interrupted'].join(', ')}`,
    })
    .optional(),
});

/** A definition must at least be an object for the saga helpers to read its tasks. */
export const definitionObjectSchema = z
  .object(
    { name: z.string({ error: 'must be a string' }), tasks: z.array(z.unknown()).optional() },
    { error: 'must be a workflow definition object' },
  )
  .loose();

/** Keyed by task ids, so a task named `constructor` or `__proto__` has its handler too. */
export const handlersSchema = keyedTable(
  functionSchema(),
  'compensation handlers by task id or name',
);

export const eventTypeSchema = nameSchema;
export const listenerSchema = functionSchema();

/** A run's initial shared context: plain JSON, within `maxSharedUpdateBytes`. */
export function checkInitialContext(
  context: unknown,
  limits: Pick<ResolvedValueLimits, 'maxSharedUpdateBytes'>,
): Record<string, unknown> {
  if (context === undefined) return {};
  return {
    ...checkValueObject(context, {
      subject: 'engine.start()',
      root: 'options.context',
      limit: {
        name: 'maxSharedUpdateBytes',
        max: limits.maxSharedUpdateBytes,
        raise: 'createRuntime({ limits: { maxSharedUpdateBytes } })',
      },
    }),
  };
}
