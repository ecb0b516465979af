/**
 * A record keyed by user data (shared-context keys, task ids, roles, job ids,
 * correlation ids): an object without a prototype, so `toString`,
 * `constructor` or `__proto__` are keys like any other rather than inherited
 * members, and assigning `__proto__` stores a value instead of replacing the
 * prototype. Plain JSON, unlike a `Map`, so it survives a snapshot.
 */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

/** A prototype-free copy of `source`'s own enumerable entries, each passed through `map`. */
export function dictFrom<S, T>(
  source: Readonly<Record<string, S>>,
  map: (value: S, key: string) => T,
): Record<string, T> {
  const out = dict<T>();
  for (const key of Object.keys(source)) out[key] = map(source[key]!, key);
  return out;
}

/**
 * `table[key]` if `table` has it as its own entry: a table read back from
 * JSON (a stored result, a checkpoint) has `Object.prototype`, so `toString`
 * or `constructor` would otherwise find its members.
 */
export function ownValue<T>(
  table: Readonly<Record<string, T>> | undefined,
  key: string,
): T | undefined {
  return table && Object.hasOwn(table, key) ? table[key] : undefined;
}
