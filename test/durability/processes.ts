/**
 * Child processes for the crash tests. Fixtures are bundled once per suite
 * with esbuild (packages stay external), so each process starts in well
 * under a second instead of transpiling the sources through tsx.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/**
 * The project folder. A benchmark runs bundled from node_modules/.cache (see
 * bench/harness.ts), where `../../` would be node_modules itself.
 */
const here = fileURLToPath(import.meta.url);
const bundled = here.indexOf(`${sep}node_modules${sep}`);
const root =
  bundled === -1 ? fileURLToPath(new URL('../../', import.meta.url)) : here.slice(0, bundled + 1);
const cacheDir = join(root, 'node_modules', '.cache', 'troupe-durability-tests');

/**
 * Bundles `<folder>/<name>.ts` (by default a test fixture) into a file under
 * node_modules/.cache (so its bare imports resolve to the project's
 * packages). Returns its path and a function that deletes it.
 */
export async function bundleFixture(
  name: string,
  folder = 'test/fixtures',
): Promise<{ file: string; remove: () => Promise<void> }> {
  await mkdir(cacheDir, { recursive: true });
  const file = join(cacheDir, `${name}-${process.pid}-${Date.now()}.mjs`);
  await build({
    entryPoints: [join(root, folder, `${name}.ts`)],
    outfile: file,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    conditions: ['development'],
    logLevel: 'error',
  });
  return { file, remove: () => rm(file, { force: true }) };
}

/** One JSON line a worker printed. */
export interface Signal {
  signal: string;
  taskId?: string;
  [key: string]: unknown;
}

/** A running fixture process and the signals it printed. */
export class Worker {
  readonly child: ChildProcess;
  readonly signals: Signal[] = [];
  private stderr = '';
  private readonly waiters: { test: (s: Signal) => boolean; resolve: (s: Signal) => void }[] = [];
  private readonly exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(file: string, args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, ['--conditions=development', file, ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    live.add(this);
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let parsed: Signal;
      try {
        parsed = JSON.parse(line) as Signal;
      } catch {
        return;
      }
      this.signals.push(parsed);
      for (const waiter of [...this.waiters]) {
        if (!waiter.test(parsed)) continue;
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        waiter.resolve(parsed);
      }
    });
    this.exit = new Promise((resolve) =>
      this.child.on('exit', (code, signal) => {
        live.delete(this);
        resolve({ code, signal });
      }),
    );
  }

  /** The first signal (already printed or still to come) named `signal`, for `taskId` if given. */
  waitFor(signal: string, taskId?: string): Promise<Signal> {
    const test = (s: Signal) =>
      s.signal === signal && (taskId === undefined || s.taskId === taskId);
    const seen = this.signals.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      this.waiters.push({ test, resolve });
      void this.exit.then(({ code, signal: killed }) =>
        reject(
          new Error(
            `worker exited (${code ?? killed}) before printing ${signal}${taskId ? `:${taskId}` : ''}; stderr: ${this.stderr}`,
          ),
        ),
      );
    });
  }

  /** SIGKILL, and wait until the process is gone. */
  async kill(): Promise<void> {
    this.child.kill('SIGKILL');
    const { signal } = await this.exit;
    if (signal !== 'SIGKILL') {
      throw new Error(`worker ended before the kill (${signal}); stderr: ${this.stderr}`);
    }
  }

  /** Waits for a normal end; rejects with stderr on a non-zero exit. */
  async finished(): Promise<void> {
    const { code, signal } = await this.exit;
    if (code !== 0) throw new Error(`worker exited (${code ?? signal}); stderr: ${this.stderr}`);
  }

  writeLine(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }

  get pid(): number {
    return this.child.pid!;
  }
}

const live = new Set<Worker>();

/** Kills every worker still running (test cleanup). */
export function killAll(): void {
  for (const worker of live) worker.child.kill('SIGKILL');
}

/** One run of a task (or compensation), as the fixture's counter files record it. */
export interface CountedRun {
  pid: number;
  attempt: number;
  key: string;
}

/** Every counter file of `dir`: task id (or `undo-<id>`) -> runs, in order. */
export async function readCounters(dir: string): Promise<Record<string, CountedRun[]>> {
  const counters: Record<string, CountedRun[]> = {};
  for (const name of (await readdir(dir)).sort()) {
    const text = await readFile(join(dir, name), 'utf8');
    counters[name] = text
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [pid, attempt, key] = line.split(' ');
        return { pid: Number(pid), attempt: Number(attempt), key: key! };
      });
  }
  return counters;
}
