import { z } from 'zod';

/**
 * A condition decides, when a task's dependencies have settled, whether the
 * task runs or is skipped. Conditions are data so a stored definition can be
 * restored in another process; the only code they reach is a named guard
 * registered on the runtime (`rt.registerGuard(name, fn)`).
 *
 * - `{ task, path, equals }` compares a value in another task's result;
 *   `path` is dot-separated and starts at the result (`output.ok`, `status`).
 * - `{ task, path, notEquals }`, `{ task, path, exists }` likewise.
 * - `{ guard, params? }` calls a registered guard.
 * - `{ all: [...] }`, `{ any: [...] }`, `{ not: ... }` combine them.
 */
export type Condition =
  | { task: string; path: string; equals: unknown }
  | { task: string; path: string; notEquals: unknown }
  | { task: string; path: string; exists: boolean }
  | { guard: string; params?: Record<string, unknown> }
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition };

const taskRef = { task: z.string().min(1), path: z.string().min(1) };

export const conditionSchema: z.ZodType<Condition, Condition> = z.lazy(() =>
  z.union(
    [
      z.strictObject({ ...taskRef, equals: z.unknown() }),
      z.strictObject({ ...taskRef, notEquals: z.unknown() }),
      z.strictObject({ ...taskRef, exists: z.boolean() }),
      z.strictObject({
        guard: z.string().min(1),
        params: z.record(z.string(), z.unknown()).optional(),
      }),
      z.strictObject({ all: z.array(conditionSchema).min(1) }),
      z.strictObject({ any: z.array(conditionSchema).min(1) }),
      z.strictObject({ not: conditionSchema }),
    ],
    {
      // Without this, a value matching no form says only "Invalid input".
      error:
        'not a condition: expected { task, path, equals | notEquals | exists }, { guard, params? }, { all: [...] }, { any: [...] } or { not: ... }',
    },
  ),
) as z.ZodType<Condition, Condition>;

/** The tasks a condition reads; each must be an upstream dependency of the task. */
export function referencedTasks(condition: Condition, into: string[] = []): string[] {
  if ('task' in condition) into.push(condition.task);
  else if ('all' in condition) for (const c of condition.all) referencedTasks(c, into);
  else if ('any' in condition) for (const c of condition.any) referencedTasks(c, into);
  else if ('not' in condition) referencedTasks(condition.not, into);
  return into;
}

/** Named guards referenced by a condition. */
export function referencedGuards(condition: Condition, into: string[] = []): string[] {
  if ('guard' in condition) into.push(condition.guard);
  else if ('all' in condition) for (const c of condition.all) referencedGuards(c, into);
  else if ('any' in condition) for (const c of condition.any) referencedGuards(c, into);
  else if ('not' in condition) referencedGuards(condition.not, into);
  return into;
}
