/**
 * The one check of values that cross into the runtime: task outputs,
 * shared-context updates, added tasks, progress messages, message payloads,
 * job arguments and results, and the inputs and context of a workflow all go
 * through {@link inspectJson}. They are stored and read back, so the rule is
 * that what is read back equals what was handed in:
 *
 * - accepted: strings, finite numbers, booleans, `null`, arrays, and objects
 *   whose prototype is `Object.prototype` or `null`; any key, `__proto__` too;
 * - refused (with the path of the first one found): `undefined` (in an object
 *   or an array; `JSON.stringify` would drop or change it), functions,
 *   symbols, BigInts, `NaN` and `±Infinity`, class instances (`Date`, `Map`,
 *   `Set`, `Buffer`, typed arrays, `Error`, ...), sparse array holes, cycles,
 *   and nesting deeper than {@link MAX_JSON_DEPTH} levels.
 *
 * The walk also measures the value (about the length of its JSON text), so a
 * size limit costs no `JSON.stringify`. One walk per value, and the path of a
 * bad value is built only when there is one.
 */

/** A JSON scalar. */
export type JsonPrimitive = string | number | boolean | null;
/** A plain JSON value: what troupe stores (outputs, shared context, messages, job arguments). */
export type JsonValue =
  | JsonPrimitive
  | readonly JsonValue[]
  | { readonly [key: string]: JsonValue };
export type JsonObject = { readonly [key: string]: JsonValue };

/** Deeper than this is refused: nobody sends 100 levels of nesting on purpose, and the walk is recursive. */
export const MAX_JSON_DEPTH = 100;

/** What {@link inspectJson} found wrong: where, and why. */
export interface JsonIssue {
  /** The path of the first bad value, rooted at the name given (`output.items[3].when`). */
  path: string;
  /** The same path as keys below the root (`['items', 3, 'when']`), for zod issues. */
  keys: (string | number)[];
  reason: string;
}

export type JsonInspection<T = JsonValue> =
  | { ok: true; value: T; bytes: number }
  | { ok: false; issue: JsonIssue };

export interface InspectJsonOptions {
  /**
   * Return a deep copy, frozen, instead of the value itself: for values that
   * are shared by reference afterwards (messages, shared context), so nobody
   * can change them later. @default false
   */
  freeze?: boolean;
}

/**
 * Checks that `value` is plain JSON (the rule above) in one walk, and
 * measures it. With `freeze`, the value returned is a frozen deep copy.
 */
export function inspectJson(
  value: unknown,
  root: string,
  options: InspectJsonOptions = {},
): JsonInspection<JsonValue> {
  const walk = new Walk(options.freeze === true);
  const result = walk.visit(value, 0);
  if (result === BAD) {
    return {
      ok: false,
      issue: { path: walk.path(root), keys: walk.keyPath(), reason: walk.reason },
    };
  }
  return { ok: true, value: result, bytes: walk.bytes };
}

/** {@link inspectJson} for a value that must be a plain object (an update, an input). */
export function inspectJsonObject(
  value: unknown,
  root: string,
  options: InspectJsonOptions = {},
): JsonInspection<JsonObject> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      ok: false,
      issue: { path: root, keys: [], reason: `must be a plain object, not ${kindOf(value)}` },
    };
  }
  return inspectJson(value, root, options) as JsonInspection<JsonObject>;
}

/** `"<path>: <reason>"`, the form issues take in error messages. */
export function formatJsonIssue(issue: Pick<JsonIssue, 'path' | 'reason'>): string {
  return `${issue.path}: ${issue.reason}`;
}

/** An own, enumerable data property, also for the key `__proto__` (assignment would set the prototype). */
export function defineKey(target: Record<string, unknown>, key: string, value: unknown): void {
  if (key === '__proto__') {
    Object.defineProperty(target, key, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
  } else target[key] = value;
}

const BAD: unique symbol = Symbol('bad');

class Walk {
  bytes = 0;
  reason = '';
  /** Containers from the root to the current value, for cycle detection. */
  private readonly ancestors: object[] = [];
  /** Keys from the root to the bad value, filled in on the way out of a failure. */
  private readonly keys: (string | number)[] = [];

  constructor(private readonly freeze: boolean) {}

  visit(value: unknown, depth: number): JsonValue | typeof BAD {
    switch (typeof value) {
      case 'string':
        this.bytes += value.length + 2;
        return value;
      case 'boolean':
        this.bytes += 5;
        return value;
      case 'number':
        if (Number.isFinite(value)) {
          this.bytes += 8;
          return value;
        }
        return this.fail(`${value} is not a JSON number (use null or a string)`);
      case 'object':
        break;
      case 'undefined':
        return this.fail('undefined is not JSON (use null, or leave the key out)');
      default:
        return this.fail(`a ${typeof value} is not JSON`);
    }
    if (value === null) {
      this.bytes += 4;
      return null;
    }
    if (this.ancestors.includes(value)) return this.fail('a circular reference is not JSON');
    if (depth >= MAX_JSON_DEPTH) return this.fail(`nested deeper than ${MAX_JSON_DEPTH} levels`);
    if (Array.isArray(value)) return this.array(value, depth);
    const proto = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
      return this.fail(
        `a ${typeof name === 'string' && name ? name : 'class instance'} is not plain JSON (convert it to a string, number, array or plain object)`,
      );
    }
    return this.object(value as Record<string, unknown>, depth);
  }

  /** Keys from the root to the bad value (collected innermost first on the way out). */
  keyPath(): (string | number)[] {
    return [...this.keys].reverse();
  }

  path(root: string): string {
    let path = root;
    for (const key of this.keyPath()) {
      path +=
        typeof key === 'number'
          ? `[${key}]`
          : /^[A-Za-z_$][\w$]*$/.test(key)
            ? `.${key}`
            : `[${JSON.stringify(key)}]`;
    }
    return path;
  }

  private array(value: readonly unknown[], depth: number): JsonValue | typeof BAD {
    this.ancestors.push(value);
    const out: JsonValue[] | undefined = this.freeze ? new Array(value.length) : undefined;
    this.bytes += 2 + value.length;
    for (let i = 0; i < value.length; i++) {
      const item = this.visit(value[i], depth + 1);
      if (item === BAD) {
        this.keys.push(i);
        return BAD;
      }
      if (out) out[i] = item;
    }
    this.ancestors.pop();
    return out ? Object.freeze(out) : (value as JsonValue);
  }

  private object(value: Record<string, unknown>, depth: number): JsonValue | typeof BAD {
    this.ancestors.push(value);
    const out: Record<string, JsonValue> | undefined = this.freeze ? {} : undefined;
    const keys = Object.keys(value);
    this.bytes += 2 + keys.length;
    for (const key of keys) {
      this.bytes += key.length + 3;
      const item = this.visit(value[key], depth + 1);
      if (item === BAD) {
        this.keys.push(key);
        return BAD;
      }
      if (out) defineKey(out, key, item);
    }
    this.ancestors.pop();
    return out ? Object.freeze(out) : (value as JsonValue);
  }

  private fail(reason: string): typeof BAD {
    this.reason = reason;
    return BAD;
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
