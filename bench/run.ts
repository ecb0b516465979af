/**
 * Runs every benchmark, one process each so they do not disturb each other,
 * and prints their Markdown tables. `npm run bench`; `npm run bench -- core`
 * runs only the ones whose file name contains "core". Each runs bundled
 * (see `bundleBench`), on XState's production build like an application.
 *
 * `npm run bench -- --check [filter]` also holds the ratios the benchmarks
 * report (`reportRatio`) against bench/thresholds.json and exits 1 if one is
 * past its limit: a guard before a release, not part of `npm test`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleBench, printTable, RATIOS_FILE_ENV } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const check = process.argv.includes('--check');
const filter = process.argv.slice(2).find((arg) => arg !== '--check');
const ratiosDir = mkdtempSync(path.join(tmpdir(), 'troupe-bench-'));
const ratiosFile = path.join(ratiosDir, 'ratios.jsonl');
const benches = readdirSync(here)
  .filter((file) => file.endsWith('.ts') && !['run.ts', 'harness.ts'].includes(file))
  .filter((file) => !filter || file.includes(filter))
  .sort();

let failed = 0;
for (const file of benches) {
  process.stdout.write(`## ${file}\n\n`);
  const bundle = await bundleBench(path.join(here, file));
  const result = spawnSync(process.execPath, ['--expose-gc', bundle], {
    stdio: 'inherit',
    env: { ...process.env, ...(check ? { [RATIOS_FILE_ENV]: ratiosFile } : {}) },
  });
  if (result.status !== 0) {
    failed++;
    process.stdout.write(`(${file} exited with ${result.status})\n\n`);
  }
}
if (check) failed += checkRatios();
rmSync(ratiosDir, { recursive: true, force: true });
process.exitCode = failed > 0 ? 1 : 0;

/** Prints each reported ratio beside its limit and goal; returns how many are past their limit. */
function checkRatios(): number {
  type Threshold = { max?: number; min?: number; goal: string };
  const thresholds = JSON.parse(readFileSync(path.join(here, 'thresholds.json'), 'utf8')) as Record<
    string,
    Threshold
  >;
  let reported: { name: string; value: number }[] = [];
  try {
    reported = readFileSync(ratiosFile, 'utf8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { name: string; value: number });
  } catch {
    // No benchmark reported a ratio (a filter matched none that does).
  }
  let past = 0;
  const rows = reported.map(({ name, value }) => {
    const limit = thresholds[name];
    let verdict = 'no threshold';
    if (limit) {
      const ok =
        (limit.max === undefined || value <= limit.max) &&
        (limit.min === undefined || value >= limit.min);
      if (!ok) past++;
      verdict = ok ? 'ok' : 'REGRESSED';
    }
    const bound =
      limit?.max !== undefined
        ? `≤ ${limit.max}`
        : limit?.min !== undefined
          ? `≥ ${limit.min}`
          : '-';
    return [name, value.toFixed(2), bound, limit?.goal ?? '-', verdict];
  });
  printTable(
    'Check against bench/thresholds.json',
    ['ratio', 'measured', 'limit', 'goal', 'verdict'],
    rows,
  );
  return past;
}
