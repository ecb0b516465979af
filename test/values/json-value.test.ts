/** The one value rule (json-value.ts): what is accepted, what is refused, with which path, and its size. */
import { describe, expect, it } from 'vitest';
import { inspectJson, MAX_JSON_DEPTH } from '../../src/schemas/json-value.js';

const issue = (value: unknown) => {
  const inspection = inspectJson(value, 'v');
  return inspection.ok ? undefined : `${inspection.issue.path}: ${inspection.issue.reason}`;
};

describe('the JSON value rule', () => {
  it('accepts plain JSON, null-prototype objects and any key, __proto__ included', () => {
    const nullProto = Object.assign(Object.create(null), { a: 1 });
    const proto = JSON.parse('{"__proto__": {"x": 1}, "constructor": 2, "toString": "s"}');
    for (const value of [
      's',
      0,
      -1.5,
      true,
      null,
      [],
      {},
      [1, 'a', { b: [null] }],
      nullProto,
      proto,
    ]) {
      expect(issue(value)).toBeUndefined();
    }
  });

  it.each([
    [
      'undefined in an array',
      [1, undefined],
      'v[1]: undefined is not JSON (use null, or leave the key out)',
    ],
    [
      'undefined in an object',
      { a: { b: undefined } },
      'v.a.b: undefined is not JSON (use null, or leave the key out)',
    ],
    [
      'a sparse array hole',
      // biome-ignore lint/suspicious/noSparseArray: the hole is the point
      [1, , 3],
      'v[1]: undefined is not JSON (use null, or leave the key out)',
    ],
    ['a BigInt', { n: 1n }, 'v.n: a bigint is not JSON'],
    ['a function', [() => 1], 'v[0]: a function is not JSON'],
    ['a symbol', { s: Symbol('s') }, 'v.s: a symbol is not JSON'],
    ['NaN', { n: Number.NaN }, 'v.n: NaN is not a JSON number (use null or a string)'],
    ['Infinity', [-Infinity], 'v[0]: -Infinity is not a JSON number (use null or a string)'],
    ['a Date', { at: new Date(0) }, 'v.at: a Date is not plain JSON'],
    ['a Map', { m: new Map() }, 'v.m: a Map is not plain JSON'],
    ['a class instance', { p: new (class Point {})() }, 'v.p: a Point is not plain JSON'],
    ['a Buffer', { b: Buffer.from('x') }, 'v.b: a Buffer is not plain JSON'],
    ['an odd key', { 'a b': { 'c.d': 1n } }, 'v["a b"]["c.d"]: a bigint is not JSON'],
  ])('refuses %s, naming the path', (_what, value, expected) => {
    expect(issue(value)).toContain(expected);
  });

  it('refuses a cycle at the reference that closes it, and allows shared (non-cyclic) references', () => {
    const loop: Record<string, unknown> = { items: [{}] };
    (loop.items as Record<string, unknown>[])[0]!.back = loop;
    expect(issue(loop)).toBe('v.items[0].back: a circular reference is not JSON');
    const shared = { x: 1 };
    expect(issue({ a: shared, b: [shared, shared] })).toBeUndefined();
  });

  it(`refuses nesting deeper than ${MAX_JSON_DEPTH} levels without overflowing the stack`, () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = [deep];
    expect(issue(deep)).toContain(`nested deeper than ${MAX_JSON_DEPTH} levels`);
  });

  it('measures about the length of the JSON text', () => {
    const value = {
      text: 'x'.repeat(10_000),
      list: Array.from({ length: 100 }, (_, i) => ({ i })),
    };
    const inspection = inspectJson(value, 'v');
    expect(inspection.ok).toBe(true);
    const actual = JSON.stringify(value).length;
    if (inspection.ok) {
      expect(inspection.bytes).toBeGreaterThan(actual * 0.8);
      expect(inspection.bytes).toBeLessThan(actual * 1.5);
    }
  });

  it('with freeze, returns a frozen deep copy that keeps a __proto__ key as data', () => {
    const input = JSON.parse('{"__proto__": {"polluted": true}, "list": [1, {"a": 2}]}');
    const inspection = inspectJson(input, 'v', { freeze: true });
    if (!inspection.ok) throw new Error('expected ok');
    const copy = inspection.value as Record<string, unknown>;
    expect(copy).not.toBe(input);
    expect(Object.isFrozen(copy) && Object.isFrozen(copy.list)).toBe(true);
    expect(Object.keys(copy)).toEqual(['__proto__', 'list']);
    expect(Object.getPrototypeOf(copy)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.stringify(copy)).toBe(JSON.stringify(input));
  });
});
