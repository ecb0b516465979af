import { z } from 'zod';
import { TroupeError, type TroupeErrorContext } from '../errors.js';

/** Where an argument comes from, for the error message. */
export interface ArgumentSite {
  /** The public method, as a user writes it: `WorkflowEvaluator.detectRegression()`. */
  method: string;
  /** The parameter's name: `options`, `evaluation`. */
  argument: string;
  /** What to pass instead, in words: "pass the value returned by evaluateWorkflow()". */
  fix: string;
  /** Added to the error's context, e.g. the workflow id when it can be read. */
  context?: TroupeErrorContext;
}

/**
 * Parses one argument of a public method with its zod schema (use strict
 * objects, so a misspelt key is an error, not silently ignored).
 *
 * @throws TroupeError `INVALID_INPUT` whose message names the method, the
 * argument, each bad field (`options.thresholds.good: ...`, an unknown key
 * with the keys that exist there) and the fix; `context.issues` lists the
 * fields, `context.argument` the parameter.
 */
export function parseArgument<S extends z.ZodType>(
  schema: S,
  value: unknown,
  site: ArgumentSite,
): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw invalidArgument(site, argumentIssues(schema, parsed.error, site.argument));
}

/** The same error for a check zod cannot express (a relation between fields). */
export function invalidArgument(site: ArgumentSite, issues: readonly string[]): TroupeError {
  const shown = issues.slice(0, 5).join('; ');
  const more = issues.length > 5 ? ` (and ${issues.length - 5} more)` : '';
  return new TroupeError(
    'INVALID_INPUT',
    `${site.method}: invalid ${site.argument}: ${shown}${more}. Fix: ${site.fix}.`,
    { ...site.context, argument: site.argument, issues: [...issues] },
  );
}

/** One line per zod issue: `options.port: must be ...`; an unknown key lists the keys that exist there. */
export function argumentIssues(schema: z.ZodType, error: z.ZodError, root: string): string[] {
  return error.issues.map((issue) => {
    const at = pathText(root, issue.path);
    if (issue.code === 'unrecognized_keys') {
      const known = knownKeys(schema, issue.path);
      const keys = issue.keys.map((key) => JSON.stringify(key)).join(', ');
      const hint = known.length > 0 ? `; known keys: ${known.join(', ')}` : '';
      return `${at}: unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}${hint}`;
    }
    return `${at}: ${issue.message}`;
  });
}

function pathText(root: string, path: readonly PropertyKey[]): string {
  let text = root;
  for (const key of path) {
    text += typeof key === 'number' ? `[${key}]` : `.${String(key)}`;
  }
  return text;
}

/** The keys an object schema at `path` accepts, through optional, default and nullable wrappers. */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] {
  let current: z.ZodType | undefined = unwrap(schema);
  for (const key of path) {
    if (!(current instanceof z.ZodObject) || typeof key !== 'string') return [];
    const shape = current.shape as Record<string, z.ZodType>;
    current = Object.hasOwn(shape, key) ? unwrap(shape[key]) : undefined;
  }
  return current instanceof z.ZodObject ? Object.keys(current.shape) : [];
}

function unwrap(schema: z.ZodType | undefined): z.ZodType | undefined {
  let current = schema;
  while (
    current instanceof z.ZodOptional ||
    current instanceof z.ZodDefault ||
    current instanceof z.ZodNullable
  ) {
    current = current.unwrap() as z.ZodType;
  }
  return current;
}
