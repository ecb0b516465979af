/**
 * The communicator's arguments as zod schemas. Each failure is a
 * `TroupeError` `INVALID_INPUT` naming the method, the argument and the
 * field, thrown before anything reaches the actor (see `parseArgument`).
 */
import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import { MESSAGE_TYPES, workflowIdSchema } from '../../schemas/agent-message.js';
import { nameSchema, parseArgument } from '../../schemas/arguments.js';
import { durationMs } from '../../schemas/limits.js';

/** A wait: any duration up to the longest timer, or `Infinity`. */
export const waitSchema = durationMs({ infinite: true });
/** A lease: more than 0 and finite, or a crashed holder blocks forever. */
export const leaseSchema = durationMs({ min: 1 });

export const broadcastOptionsSchema = z.strictObject({
  role: z
    .union([nameSchema, z.array(nameSchema).min(1, { error: 'must name a group' })])
    .optional(),
});

export const requestOptionsSchema = z.strictObject({ timeout: waitSchema.optional() });

export const updateOptionsSchema = z.strictObject({
  expectedVersion: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer >= 0' })
    .min(0, { error: 'must be an integer >= 0' })
    .optional(),
});

export const lockOptionsSchema = z.strictObject({
  ttlMs: leaseSchema.optional(),
  timeout: waitSchema.optional(),
});

export const historyOptionsSchema = z.strictObject({
  workflowId: workflowIdSchema.optional(),
  agent: nameSchema.optional(),
  type: z.enum(MESSAGE_TYPES).optional(),
  limit: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be an integer >= 0' })
    .min(0, { error: 'must be an integer >= 0' })
    .optional(),
});

/** An object argument (a message): checked for shape here, for fields by the message schema. */
export const objectArgument = z.record(z.string(), z.unknown(), {
  error: 'must be an object',
});

/** Parses one argument of `communicator.<api>`. */
export function communicatorArgument<S extends z.ZodType>(
  api: string,
  name: string,
  schema: S,
  value: unknown,
): z.output<S> {
  return parseArgument(`communicator.${api}`, name, schema, value);
}

export function invalid(api: string, ...issues: string[]): TroupeError {
  return new TroupeError('INVALID_INPUT', `communicator.${api}: ${issues.join('; ')}`, { issues });
}

export function checkWorkflowId(api: string, workflowId: unknown): string {
  return communicatorArgument(api, 'workflowId', workflowIdSchema, workflowId);
}

export function checkName(api: string, name: string, value: unknown): string {
  return communicatorArgument(api, name, nameSchema, value);
}
