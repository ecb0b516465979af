import { z } from 'zod';

/** An object of user keys that inherits nothing: `table.constructor` is only ever a user's entry. */
export type KeyedTable<T> = Record<string, T>;

/**
 * A zod schema for an object keyed by user data (task ids, names) whose
 * output is a null-prototype object holding exactly the input's own keys.
 *
 * `z.record` is not enough: it builds its output by assignment, so an entry
 * `"__proto__"` (which `JSON.parse` makes an own key) replaces the output's
 * prototype and vanishes, and `constructor`, `toString` or `valueOf` read
 * through a plain object find Object.prototype's functions. Here every own
 * key is validated and kept; a Map is accepted too.
 */
export function keyedTable<S extends z.ZodType>(value: S, what: string) {
  return z
    .preprocess(
      (input) => (isPlainObject(input) ? new Map(Object.entries(input)) : input),
      z.map(z.string(), value, { error: `expected an object of ${what}` }),
    )
    .transform((entries) => {
      const table: KeyedTable<z.output<S>> = Object.create(null);
      for (const [key, entry] of entries) table[key] = entry;
      return table;
    });
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
