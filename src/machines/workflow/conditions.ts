import type { Condition } from '../../schemas/condition.js';

/** A named guard: a pure function of upstream results and the shared context. */
export type ConditionGuard = (args: {
  /** Results of the tasks that have settled, by id. */
  results: Readonly<Record<string, ConditionSubject>>;
  shared: Readonly<Record<string, unknown>>;
  params: Readonly<Record<string, unknown>>;
}) => boolean;

/** What a condition's `path` is resolved against: one task's result. */
export interface ConditionSubject {
  status: string;
  output?: unknown;
  attempts: number;
}

export interface ConditionScope {
  results: Readonly<Record<string, ConditionSubject>>;
  shared: Readonly<Record<string, unknown>>;
  guards: ReadonlyMap<string, ConditionGuard>;
}

/**
 * Evaluates a condition. A guard that is missing or throws makes the condition
 * false and says why, so a skipped task can always be explained.
 */
export function evaluateCondition(
  condition: Condition,
  scope: ConditionScope,
): { pass: boolean; reason: string } {
  if ('all' in condition) {
    for (const part of condition.all) {
      const verdict = evaluateCondition(part, scope);
      if (!verdict.pass) return verdict;
    }
    return { pass: true, reason: 'all conditions hold' };
  }
  if ('any' in condition) {
    const reasons: string[] = [];
    for (const part of condition.any) {
      const verdict = evaluateCondition(part, scope);
      if (verdict.pass) return verdict;
      reasons.push(verdict.reason);
    }
    return { pass: false, reason: `none holds: ${reasons.join('; ')}` };
  }
  if ('not' in condition) {
    const verdict = evaluateCondition(condition.not, scope);
    return { pass: !verdict.pass, reason: `not (${verdict.reason})` };
  }
  if ('guard' in condition) return evaluateGuard(condition, scope);

  const subject = scope.results[condition.task];
  const value = subject === undefined ? undefined : readPath(subject, condition.path);
  const where = `${condition.task}.${condition.path}`;
  if ('equals' in condition) {
    const pass = deepEqual(value, condition.equals);
    return { pass, reason: `${where} ${pass ? '==' : '!='} ${JSON.stringify(condition.equals)}` };
  }
  if ('notEquals' in condition) {
    const pass = !deepEqual(value, condition.notEquals);
    return {
      pass,
      reason: `${where} ${pass ? '!=' : '=='} ${JSON.stringify(condition.notEquals)}`,
    };
  }
  const exists = value !== undefined && value !== null;
  return {
    pass: exists === condition.exists,
    reason: `${where} ${exists ? 'exists' : 'does not exist'}`,
  };
}

function evaluateGuard(
  condition: { guard: string; params?: Record<string, unknown> },
  scope: ConditionScope,
): { pass: boolean; reason: string } {
  const guard = scope.guards.get(condition.guard);
  if (!guard) return { pass: false, reason: `guard "${condition.guard}" is not registered` };
  try {
    const pass = guard({
      results: scope.results,
      shared: scope.shared,
      params: condition.params ?? {},
    });
    return { pass, reason: `guard "${condition.guard}" returned ${pass}` };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { pass: false, reason: `guard "${condition.guard}" threw: ${message}` };
  }
}

/** Reads a dot-separated path (`output.files.0.name`); undefined where it leads nowhere. */
export function readPath(value: unknown, path: string): unknown {
  let current = value;
  for (const key of path.split('.')) {
    // Own keys only: `toString` or `constructor` in a path read data, never a prototype's member.
    if (current === null || typeof current !== 'object' || !Object.hasOwn(current, key)) {
      return undefined;
    }
    current = (current as Record<string, unknown>)[key];
  }
  return current;
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a);
  const keysB = Object.keys(b);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) =>
    deepEqual((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]),
  );
}
