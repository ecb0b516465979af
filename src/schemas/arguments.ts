/**
 * Arguments of public methods, checked with zod where they arrive: a wrong
 * type, a missing field or an unknown option key is a `TroupeError`
 * `INVALID_INPUT` naming the method, the argument, the field and the fix,
 * never a raw TypeError from deeper down and never a key silently ignored.
 */
import { z } from 'zod';
import { TroupeError, type TroupeErrorCode } from '../errors.js';
import type { Clock } from '../runtime/clock.js';
import { argumentIssues } from './parse-argument.js';

/**
 * `value`, parsed by `schema`.
 * @param api the method as users call it, for example `communicator.broadcast`.
 * @param name the argument, for example `options`.
 * @throws TroupeError `INVALID_INPUT` (or `code`) listing each problem with its field.
 */
export function parseArgument<S extends z.ZodType>(
  api: string,
  name: string,
  schema: S,
  value: unknown,
  code: TroupeErrorCode = 'INVALID_INPUT',
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issues = argumentIssues(schema, parsed.error, name);
  throw new TroupeError(code, `${api}: ${issues.join('; ')}.`, { issues, argument: name });
}

/** A non-empty string of at most 1,000 characters: roles, owners, lock keys, names. */
export const nameSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(1_000, { error: 'must be at most 1000 characters' });

/** A function argument (handlers, listeners). */
export function functionSchema<F extends (...args: never[]) => unknown>() {
  return z.custom<F>((value) => typeof value === 'function', { error: 'must be a function' });
}

/** An injected clock (`{ now, setTimeout, clearTimeout }`), such as XState's SimulatedClock. */
export const clockSchema = z.custom<Clock>(
  (value) =>
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Clock).now === 'function' &&
    typeof (value as Clock).setTimeout === 'function' &&
    typeof (value as Clock).clearTimeout === 'function',
  { error: 'must be a Clock ({ now, setTimeout, clearTimeout })' },
);
