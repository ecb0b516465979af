/** Shared helpers of the benchmarks: workflow shapes, timing, medians, Markdown tables, bundling. */
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TaskDefinitionInput } from '../src/schemas/workflow-definition.js';
import { freePort } from '../src/testing/index.js';

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

/**
 * A redis-server (Debian's `redis-server`) on a free loopback port in a temp
 * folder, for the BullMQ peers; `stop()` ends it and removes the folder.
 * `appendOnly` writes every change to an append-only file without fsync,
 * as a LevelStore without `sync` does; otherwise nothing is persisted.
 */
export async function startRedis(
  options: { appendOnly?: boolean } = {},
): Promise<{ port: number; pid: number; stop: () => Promise<void> }> {
  const port = await freePort();
  const dir = await mkdtemp(path.join(tmpdir(), 'troupe-bench-redis-'));
  const persistence = options.appendOnly
    ? ['--appendonly', 'yes', '--appendfsync', 'no']
    : ['--appendonly', 'no'];
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence],
    { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.once('error', reject);
    child.stdout!.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('Ready to accept connections')) resolve();
    });
  });
  return {
    port,
    pid: child.pid!,
    stop: async () => {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Clock ticks per second of /proc's CPU times (Linux's USER_HZ). */
const TICKS_PER_SECOND = 100;

/** utime, stime, cutime, cstime (ticks) and the parent pid of a process, from /proc/<pid>/stat. */
function procStat(pid: number): { cpu: number; ppid: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // exited meanwhile
  }
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const tick = (index: number) => Number(fields[index]);
  return { ppid: tick(1), cpu: tick(11) + tick(12) + tick(13) + tick(14) };
}

/**
 * CPU milliseconds used so far by `roots` and every process below them,
 * including children already ended and reaped (their time is in their
 * parent's). On a shared machine this moves with the work done, not with
 * what else runs, so it shows what a system costs per job (Linux only).
 */
export function processTreeCpuMs(roots: readonly number[]): number {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid)) continue;
    const stat = procStat(pid);
    if (!stat) continue;
    const siblings = children.get(stat.ppid) ?? [];
    siblings.push(pid);
    children.set(stat.ppid, siblings);
  }
  let ticks = 0;
  const pending = [...roots];
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    ticks += procStat(pid)?.cpu ?? 0;
    pending.push(...(children.get(pid) ?? []));
  }
  return (ticks * 1000) / TICKS_PER_SECOND;
}
