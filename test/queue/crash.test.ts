/**
 * A real crash: a child process with a LevelStore is killed with SIGKILL while
 * a job runs; a second process on the same folder finishes every job. Handler
 * runs are counted in a file outside both processes.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobResult } from '../../src/machines/queue/job.js';

const fixture = fileURLToPath(new URL('../fixtures/queue-crash-worker.ts', import.meta.url));
const dirs: string[] = [];
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

function worker(dataDir: string, runsFile: string, phase: 'first' | 'second'): ChildProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=development', fixture, dataDir, runsFile, phase],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  children.push(child);
  return child;
}

/** Resolves with the first stdout line starting with `prefix`; rejects if the process exits first. */
function lineStartingWith(child: ChildProcess, prefix: string): Promise<string> {
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => {
      if (line.startsWith(prefix)) resolve(line);
    });
    child.on('exit', (code, signal) => {
      reject(new Error(`worker exited (${code ?? signal}) before printing "${prefix}": ${stderr}`));
    });
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: string | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
}

describe('crash recovery with a real process and LevelStore', () => {
  it('jobs queued, running and scheduled at SIGKILL all finish in the next process', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'troupe-queue-crash-'));
    dirs.push(dataDir);
    const runsFile = join(dataDir, 'runs.log');

    const first = worker(dataDir, runsFile, 'first');
    await lineStartingWith(first, 'RUNNING blocker');
    first.kill('SIGKILL');
    expect((await exited(first)).signal).toBe('SIGKILL');

    const second = worker(dataDir, runsFile, 'second');
    const done = await lineStartingWith(second, 'DONE ');
    expect((await exited(second)).code).toBe(0);

    const results = JSON.parse(done.slice('DONE '.length)) as JobResult[];
    expect(results.map((result) => [result.jobId, result.status, result.result])).toEqual([
      // Completed before the kill (its completion stored as a small attempt record): not run again.
      ['done-first', 'completed', 'done-first done in first'],
      ['blocker', 'completed', 'blocker done in second'],
      ['queued-1', 'completed', 'queued-1 done in second'],
      ['queued-2', 'completed', 'queued-2 done in second'],
      ['queued-3', 'completed', 'queued-3 done in second'],
      ['scheduled', 'completed', 'scheduled done in second'],
    ]);
    // At-least-once: the blocker ran in both processes, with the same id.
    expect(results[1]?.attempts).toBe(2);

    const runs = (await readFile(runsFile, 'utf8')).trim().split('\n').sort();
    expect(runs).toEqual([
      'blocker 1 first',
      'blocker 2 second',
      'done-first 1 first',
      'queued-1 1 second',
      'queued-2 1 second',
      'queued-3 1 second',
      'scheduled 1 second',
    ]);
  }, 60_000);
});
