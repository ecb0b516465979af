/**
 * The `troupe` command as a user runs it: a real child process
 * (`node --import tsx src/cli/main.ts ...`), with its exit code, stdout and
 * stderr, and real signals.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const MAIN = path.join(ROOT, 'src', 'cli', 'main.ts');
/** tsx's loader by absolute URL: child processes started in temp folders find it too. */
export const TSX = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

export interface Finished {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** A running `troupe` process. */
export class Troupe {
  readonly child: ChildProcess;
  out = '';
  err = '';
  readonly done: Promise<Finished>;

  constructor(args: readonly string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) {
    this.child = spawn(process.execPath, ['--import', TSX, MAIN, ...args], {
      cwd: options.cwd,
      env: { ...withoutColourSettings(process.env), ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (chunk: Buffer) => {
      this.out += chunk.toString();
    });
    this.child.stderr!.on('data', (chunk: Buffer) => {
      this.err += chunk.toString();
    });
    this.done = new Promise((resolve) =>
      this.child.on('close', (code, signal) =>
        resolve({ code, signal, out: this.out, err: this.err }),
      ),
    );
  }

  /** Resolves once stdout matches (rejects if the process ends first). */
  async waitFor(pattern: RegExp): Promise<void> {
    while (!pattern.test(this.out)) {
      const ended = await Promise.race([
        this.done.then(() => true),
        new Promise<false>((resolve) => this.child.stdout!.once('data', () => resolve(false))),
      ]);
      if (ended && !pattern.test(this.out)) {
        throw new Error(`troupe ended before printing ${pattern}:\n${this.out}\n${this.err}`);
      }
    }
  }
}

/** Runs `troupe <args>` to its end. */
export function troupe(
  args: readonly string[],
  options: { cwd: string; env?: NodeJS.ProcessEnv },
): Promise<Finished> {
  return new Troupe(args, options).done;
}

/** The tests decide colour themselves. */
function withoutColourSettings(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const { FORCE_COLOR: _f, NO_COLOR: _n, ...rest } = env;
  return rest;
}

/**
 * A folder with `agents.mjs` (a `worker` role that logs each task it runs to
 * `ran.log`, and holds task `slow` until a file `go` exists or it is aborted)
 * and `plan.json` (quick -> slow -> last).
 */
export async function workFolder(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'troupe-cli-'));
  await writeFile(
    path.join(dir, 'agents.mjs'),
    `import { appendFileSync, existsSync } from 'node:fs';
const here = (name) => new URL(name, import.meta.url);
export default [{
  role: 'worker',
  run: async (task, ctx) => {
    appendFileSync(here('ran.log'), task.id + '\\n');
    if (task.id === 'slow' && !existsSync(here('go'))) {
      await new Promise((_, reject) => {
        const alive = setInterval(() => {}, 1000);
        ctx.signal.addEventListener('abort', () => { clearInterval(alive); reject(ctx.signal.reason); });
      });
    }
    return task.id;
  },
}];
`,
  );
  await writeFile(
    path.join(dir, 'plan.json'),
    JSON.stringify({
      name: 'held',
      tasks: [
        { id: 'quick', agent: 'worker' },
        { id: 'slow', agent: 'worker', dependsOn: ['quick'] },
        { id: 'last', agent: 'worker', dependsOn: ['slow'] },
      ],
    }),
  );
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/** The run id in the resume command printed after an interruption. */
export function resumedId(err: string): string {
  const id = /troupe resume (\S+)/.exec(err)?.[1];
  if (!id) throw new Error(`no resume command in:\n${err}`);
  return id;
}

/** A stream for `main(argv, { out, err })` in-process that keeps what is written. */
export function capture(): NodeJS.WriteStream & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') }) as unknown as NodeJS.WriteStream & {
    text(): string;
  };
}
