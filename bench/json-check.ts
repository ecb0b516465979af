/**
 * The value check's cost against the JSON.stringify round trip it replaces:
 * a typical task output (small object), a 1,000-item list and a 100 KB string.
 *
 *   npx tsx bench/json-check.ts
 */
import { inspectJson } from '../src/schemas/json-value.js';

const values: [string, unknown][] = [
  [
    'small output (8 keys)',
    { id: 't1', ok: true, score: 0.93, tags: ['a', 'b'], by: 'backend', n: 3, at: 1, note: null },
  ],
  [
    'list of 1,000 records',
    Array.from({ length: 1_000 }, (_, i) => ({ i, name: `item-${i}`, done: i % 2 === 0 })),
  ],
  ['100 KB string', { text: 'x'.repeat(100_000) }],
];

/** Mean microseconds per call (in batches of 100), after a warm-up of the same length. */
function time(fn: () => void, budgetMs = 500): number {
  const warm = performance.now();
  while (performance.now() - warm < budgetMs) fn();
  let runs = 0;
  const start = performance.now();
  while (performance.now() - start < budgetMs) {
    for (let i = 0; i < 100; i++) fn();
    runs += 100;
  }
  return ((performance.now() - start) * 1000) / runs;
}

// Warm every path on every shape first: the first function timed would otherwise pay for JIT tiers.
for (let i = 0; i < 2_000; i++) {
  for (const [, value] of values) {
    inspectJson(value, 'v');
    inspectJson(value, 'v', { freeze: true });
  }
}

for (const [name, value] of values) {
  const walk = time(() => inspectJson(value, 'v'));
  const freeze = time(() => inspectJson(value, 'v', { freeze: true }));
  const roundTrip = time(() => JSON.parse(JSON.stringify(value)));
  const stringify = time(() => JSON.stringify(value));
  console.log(
    `${name.padEnd(24)} walk ${walk.toFixed(2)} us, walk+freeze ${freeze.toFixed(2)} us, stringify ${stringify.toFixed(2)} us, stringify+parse ${roundTrip.toFixed(2)} us`,
  );
}
