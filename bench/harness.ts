/** Shared helpers of the benchmarks: workflow shapes, timing, medians, Markdown tables, bundling. */
import { appendFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TaskDefinitionInput } from '../src/schemas/workflow-definition.js';

/** `n` tasks of one agent, each depending on the one before. */
export function chain(n: number, agent = 'noop'): TaskDefinitionInput[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `t${i}`,
    agent,
    dependsOn: i === 0 ? [] : [`t${i - 1}`],
  }));
}

/** `layers` x `width`; each task depends on two tasks of the layer before. */
export function grid(layers: number, width: number): TaskDefinitionInput[] {
  const tasks: TaskDefinitionInput[] = [];
  for (let l = 0; l < layers; l++) {
    for (let w = 0; w < width; w++) {
      tasks.push({
        id: `l${l}w${w}`,
        agent: 'noop',
        dependsOn: l === 0 ? [] : [`l${l - 1}w${w}`, `l${l - 1}w${(w + 1) % width}`],
      });
    }
  }
  return tasks;
}

export async function timeIt(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function printTable(
  title: string,
  headers: readonly string[],
  rows: readonly (readonly string[])[],
): void {
  const lines = [
    `### ${title}`,
    '',
    `| ${headers.join(' | ')} |`,
    `|${headers.map(() => '---').join('|')}|`,
  ];
  for (const row of rows) lines.push(`| ${row.join(' | ')} |`);
  process.stdout.write(`${lines.join('\n')}\n\n`);
}

/**
 * A benchmark bundled with esbuild into plain JavaScript (packages left to
 * node_modules), so it measures what the built package runs: tsx's transform
 * wraps every closure in a naming helper and costs seconds of module load.
 * Returns the bundle's path.
 */
export async function bundleBench(file: string): Promise<string> {
  const { build } = await import('esbuild');
  const outDir = path.join(
    path.dirname(fileURLToPath(import.meta.url)),
    '..',
    'node_modules',
    '.cache',
    'troupe-bench',
  );
  mkdirSync(outDir, { recursive: true });
  const outfile = path.join(outDir, `${path.basename(file, '.ts')}.mjs`);
  await build({
    entryPoints: [file],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile,
    logLevel: 'error',
  });
  return outfile;
}

/** Where `npm run bench -- --check` collects the ratios the benchmarks report. */
export const RATIOS_FILE_ENV = 'TROUPE_BENCH_RATIOS';

/**
 * Reports a ratio measured in this run (troupe against a peer or a baseline
 * of the same run, never an absolute time) for `--check` to hold against
 * bench/thresholds.json. Does nothing outside a check.
 */
export function reportRatio(name: string, value: number): void {
  const file = process.env[RATIOS_FILE_ENV];
  if (file) appendFileSync(file, `${JSON.stringify({ name, value })}\n`);
}
