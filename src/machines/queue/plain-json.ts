/**
 * Checks that a value is plain JSON: what a stored job reads back must equal
 * what was handed in, so a Date (which comes back as a string), a Map (which
 * comes back as `{}`) or a function (which vanishes) is refused up front with
 * the path of the offending value, instead of changing shape after a restart.
 */

const MAX_DEPTH = 64;

/**
 * The first place where `value` is not plain JSON, as `"<path>: <reason>"`,
 * or undefined when it is plain JSON.
 */
export function findNonJson(value: unknown, path: string): string | undefined {
  return walk(value, path, 0, new Set());
}

function walk(value: unknown, path: string, depth: number, seen: Set<object>): string | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path}: ${value} is not a JSON number`;
    case 'undefined':
      return `${path}: undefined is not JSON (use null)`;
    case 'object':
      break;
    default:
      return `${path}: a ${typeof value} is not JSON`;
  }
  if (value === null) return undefined;
  if (depth >= MAX_DEPTH) return `${path}: nested deeper than ${MAX_DEPTH} levels`;
  if (seen.has(value)) return `${path}: a circular reference is not JSON`;
  if (Array.isArray(value)) {
    seen.add(value);
    for (let i = 0; i < value.length; i++) {
      const issue = walk(value[i], `${path}[${i}]`, depth + 1, seen);
      if (issue) return issue;
    }
    seen.delete(value);
    return undefined;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const kind = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    return `${path}: a ${kind} is not plain JSON (pass plain objects, arrays, strings, numbers, booleans or null)`;
  }
  seen.add(value);
  for (const [key, item] of Object.entries(value)) {
    const issue = walk(item, `${path}.${key}`, depth + 1, seen);
    if (issue) return issue;
  }
  seen.delete(value);
  return undefined;
}
