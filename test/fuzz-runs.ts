/**
 * How many cases each fast-check property runs: small in `npm test`, large
 * in the nightly run, which sets `TROUPE_FUZZ_RUNS` (e.g. 10000).
 */
export function fuzzRuns(defaultRuns: number): number {
  const raw = process.env.TROUPE_FUZZ_RUNS;
  if (raw === undefined || raw === '') return defaultRuns;
  const runs = Number(raw);
  if (!Number.isSafeInteger(runs) || runs < 1) {
    throw new Error(`TROUPE_FUZZ_RUNS must be a positive integer; got ${JSON.stringify(raw)}.`);
  }
  return runs;
}
