/**
 * Ctrl+C and SIGTERM during a run, then resume, pause and cancel of the
 * interrupted run, all through real `troupe` processes and real signals.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { resumedId, Troupe, troupe, workFolder } from './support.js';

let folder: Awaited<ReturnType<typeof workFolder>> | undefined;
const running: Troupe[] = [];
afterEach(async () => {
  for (const p of running.splice(0)) p.child.kill('SIGKILL');
  await folder?.remove();
  folder = undefined;
});

const RUN = ['run', '--plan', 'plan.json', '--agents', 'agents.mjs', '--data-dir', 'data'];

/** Starts the held run and waits until its `slow` task is running. */
async function heldRun(cwd: string): Promise<Troupe> {
  const p = new Troupe(RUN, { cwd });
  running.push(p);
  await p.waitFor(/slow\s+worker\s+running/);
  return p;
}

async function listed(cwd: string): Promise<Record<string, unknown>[]> {
  const { code, out } = await troupe(['list', '--json', '--data-dir', 'data'], { cwd });
  expect(code).toBe(0);
  return JSON.parse(out) as Record<string, unknown>[];
}

async function ran(cwd: string): Promise<string[]> {
  return (await readFile(path.join(cwd, 'ran.log'), 'utf8')).trim().split('\n');
}

describe('troupe and signals', () => {
  it('Ctrl+C stops the run cleanly, prints how to resume, exits 130; pause holds it, resume finishes it', async () => {
    folder = await workFolder();
    const { dir } = folder;
    const p = await heldRun(dir);
    // The first task's running line is printed (the view listens before the run starts).
    expect(p.out).toMatch(/quick\s+worker\s+running/);
    p.child.kill('SIGINT');
    const stopped = await p.done;
    expect(stopped.code).toBe(130);
    expect(stopped.err).toContain('Interrupted by SIGINT');
    const id = resumedId(stopped.err);
    expect(stopped.err).toContain(`troupe resume ${id} --data-dir data`);
    // The store was closed: another process can open the folder at once.
    expect(await listed(dir)).toMatchObject([
      { workflowId: id, name: 'held', status: 'interrupted', tasks: 3, timeMs: null },
    ]);

    const paused = await troupe(['pause', id, '--data-dir', 'data'], { cwd: dir });
    expect(paused.code).toBe(0);
    expect(paused.out).toContain(`Run ${id} is paused`);
    expect((await listed(dir))[0]).toMatchObject({ status: 'paused' });
    // --all leaves paused runs alone.
    const all = await troupe(['resume', '--all', '--data-dir', 'data'], { cwd: dir });
    expect(all.code).toBe(0);
    expect(all.out).toContain(`Run ${id} is paused`);
    expect((await listed(dir))[0]).toMatchObject({ status: 'paused' });

    await writeFile(path.join(dir, 'go'), '');
    const resumed = await troupe(['resume', id, '--data-dir', 'data'], { cwd: dir });
    expect(resumed.code, resumed.err).toBe(0);
    expect(resumed.out).toMatch(/held .*completed/);
    expect((await listed(dir))[0]).toMatchObject({ status: 'completed', tasks: 3 });
    // `quick` was journaled as completed: it never ran again; `slow` was in flight and ran again.
    expect(await ran(dir)).toEqual(['quick', 'slow', 'slow', 'last']);

    const again = await troupe(['resume', id, '--data-dir', 'data', '--json'], { cwd: dir });
    expect(again.code).toBe(1);
    expect(JSON.parse(again.out)).toMatchObject({ error: { code: 'WORKFLOW_FINISHED' } });
  }, 180_000);

  it('SIGTERM exits 143 leaving the run interrupted; cancel ends it and it is never resumed', async () => {
    folder = await workFolder();
    const { dir } = folder;
    const p = await heldRun(dir);
    p.child.kill('SIGTERM');
    const stopped = await p.done;
    expect(stopped.code).toBe(143);
    const id = resumedId(stopped.err);

    const cancelled = await troupe(['cancel', id, '--data-dir', 'data', '--json'], { cwd: dir });
    expect(cancelled.code, cancelled.err).toBe(0);
    expect(JSON.parse(cancelled.out)).toEqual({ workflowId: id, status: 'cancelled' });
    expect((await listed(dir))[0]).toMatchObject({ status: 'cancelled' });

    const all = await troupe(['resume', '--all', '--data-dir', 'data'], { cwd: dir });
    expect(all.code).toBe(0);
    expect(all.out).toContain('No interrupted runs to resume.');
    expect(await ran(dir)).toEqual(['quick', 'slow']);
  }, 180_000);

  it('a command aimed at a folder held by a live troupe says which process holds it and what to do', async () => {
    folder = await workFolder();
    const { dir } = folder;
    const p = await heldRun(dir);
    const owner = JSON.parse(await readFile(path.join(dir, 'data', 'owner.json'), 'utf8')) as {
      pid: number;
    };
    expect(owner.pid).toBe(p.child.pid);
    const refused = await troupe(['pause', 'any-run', '--data-dir', 'data', '--json'], {
      cwd: dir,
    });
    expect(refused.code).toBe(1);
    const { error } = JSON.parse(refused.out) as { error: { code: string; message: string } };
    expect(error.code).toBe('STORE_LOCKED');
    expect(error.message).toContain(
      `the data folder data is open in process ${p.child.pid} (troupe run)`,
    );
    expect(error.message).toContain('inspector');
    expect(refused.err).toBe('');
    p.child.kill('SIGINT');
    expect((await p.done).code).toBe(130);
    expect(existsSync(path.join(dir, 'data', 'owner.json'))).toBe(false);
  }, 180_000);
});
