/**
 * JSON values that cross an actor boundary. Message payloads and shared
 * context values are stored (so they must be JSON) and shared between
 * senders, recipients and the communicator's history (so nobody may change
 * them afterwards). {@link freezeJson} does both in one pass: it checks the
 * value and returns a deep copy that is frozen, so passing it around by
 * reference is safe and nothing is cloned again on delivery.
 */

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue =
  | JsonPrimitive
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/** Deeper than this is treated as a cycle: nobody sends 200 levels of nesting on purpose. */
const MAX_DEPTH = 200;

/**
 * A frozen deep copy of `value`, or `undefined` with the reasons added to
 * `issues` (each prefixed with its path) when it is not plain JSON: `undefined`,
 * functions, symbols, BigInts, non-finite numbers, class instances (Date, Map,
 * ...) and cycles are refused, rather than silently changed by `JSON.stringify`.
 */
export function freezeJson(value: unknown, path: string, issues: string[]): JsonValue | undefined {
  return copy(value, path, issues, 0);
}

function copy(
  value: unknown,
  path: string,
  issues: string[],
  depth: number,
): JsonValue | undefined {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      issues.push(`${path}: ${value} is not a JSON number`);
      return undefined;
    case 'object':
      break;
    default:
      issues.push(`${path}: a ${typeof value} is not JSON`);
      return undefined;
  }
  if (value === null) return null;
  if (depth >= MAX_DEPTH) {
    issues.push(`${path}: nested more than ${MAX_DEPTH} levels deep (a cycle?)`);
    return undefined;
  }
  if (Array.isArray(value)) {
    const out: JsonValue[] = new Array(value.length);
    for (let i = 0; i < value.length; i++) {
      const item = copy(value[i], `${path}[${i}]`, issues, depth + 1);
      if (item === undefined) return undefined;
      out[i] = item;
    }
    return Object.freeze(out);
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const name = (value as { constructor?: { name?: string } }).constructor?.name ?? 'object';
    issues.push(`${path}: a ${name} is not plain JSON (convert it to a string, number or object)`);
    return undefined;
  }
  const out: Record<string, JsonValue> = {};
  for (const key of Object.keys(value)) {
    const item = copy((value as Record<string, unknown>)[key], `${path}.${key}`, issues, depth + 1);
    if (item === undefined) return undefined;
    // `out[key] = ...` with key "__proto__" would set the prototype instead.
    if (key === '__proto__') {
      Object.defineProperty(out, key, { value: item, enumerable: true, writable: true });
    } else out[key] = item;
  }
  return Object.freeze(out);
}

/** A frozen deep copy of a plain object of JSON values, or `undefined` with issues. */
export function freezeJsonObject(
  value: unknown,
  path: string,
  issues: string[],
): JsonObject | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    issues.push(`${path}: must be a plain object`);
    return undefined;
  }
  return freezeJson(value, path, issues) as JsonObject | undefined;
}
