/**
 * A real full disk: LevelDB on a 2 MB tmpfs (mounting needs root, as CI
 * runs; elsewhere the suite is skipped with the reason printed).
 *
 * The scenario: a brief disk-full episode, after which writes that
 * reported success were silently dropped when LevelDB reopened its log
 * ("dropping N bytes; checksum mismatch"). Here the first failed write
 * stops the store: its waiters get STORE_WRITE_FAILED (ENOSPC), writes after
 * the space came back are refused rather than acknowledged, and the reopened
 * folder holds every acknowledged completion, none run again.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, defineAgent, type Runtime, TroupeError } from '../../src/index.js';
import { chain } from './helpers.js';

/** Mounts a 2 MB tmpfs, or says why it cannot. */
async function mountTmpfs(): Promise<{ dir: string; unmount: () => Promise<void> } | string> {
  const dir = await mkdtemp(join(tmpdir(), 'troupe-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    await rm(dir, { recursive: true, force: true });
    return `cannot mount a tmpfs here (${(error as Error).message.split('\n')[0]}); CI runs as root`;
  }
  return {
    dir,
    unmount: async () => {
      execFileSync('umount', [dir]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

const probe = await mountTmpfs();
const skipReason = typeof probe === 'string' ? probe : undefined;
if (typeof probe !== 'string') await probe.unmount();
if (skipReason) console.warn(`disk-full tests skipped: ${skipReason}`);

/** Fills the file system of `dir` up to `leave` free bytes. */
async function fill(dir: string, leave: number): Promise<string> {
  const { bavail, bsize } = await statfs(dir);
  const file = join(dir, 'filler');
  await writeFile(file, Buffer.alloc(Math.max(0, bavail * bsize - leave)));
  return file;
}

describe.skipIf(skipReason !== undefined)('a full disk (tmpfs)', () => {
  let mounted: { dir: string; unmount: () => Promise<void> } | undefined;
  const runtimes: Runtime[] = [];
  afterEach(async () => {
    for (const rt of runtimes.splice(0)) await rt.close().catch(() => undefined);
    await mounted?.unmount();
    mounted = undefined;
  });

  it('ENOSPC stops the store: nothing more is acknowledged, even after space comes back; the reopened folder holds every acknowledged completion and none runs again', async () => {
    const tmpfs = await mountTmpfs();
    if (typeof tmpfs === 'string') throw new Error(tmpfs);
    mounted = tmpfs;
    const dataDir = join(tmpfs.dir, 'data');
    /** Kept outside the runtimes. */
    const executions = new Map<string, number>();
    const acknowledged = new Set<string>();
    const worker = defineAgent({
      role: 'worker',
      run: async (task) => {
        executions.set(task.id, (executions.get(task.id) ?? 0) + 1);
        // Let the completion before this one reach the store in a batch of its own.
        await new Promise((resolve) => setTimeout(resolve, 5));
        // Big enough that a few completions fill what is left of the disk.
        return 'x'.repeat(16 * 1024);
      },
    });
    const errors: unknown[] = [];
    const open = async () => {
      const rt = await createRuntime({
        dataDir,
        agents: [worker],
        onError: (error) => errors.push(error),
      });
      runtimes.push(rt);
      return rt;
    };

    const rt = await open();
    rt.engine.on('task.completed', ({ taskId }) => {
      rt.engine.flushed().then(
        () => acknowledged.add(taskId),
        () => undefined,
      );
    });
    const filler = await fill(tmpfs.dir, 320 * 1024);
    const ids = Array.from({ length: 40 }, (_, i) => `t${String(i).padStart(2, '0')}`);
    const handle = await rt.engine.start(chain('fills', ids), { workflowId: 'wf-full' });
    const failure = await handle.result.then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(failure).toBeInstanceOf(TroupeError);
    expect((failure as TroupeError).code).toBe('STORE_WRITE_FAILED');
    expect((failure as TroupeError).context.reason).toBe('ENOSPC');
    expect(errors).toHaveLength(1);
    expect(acknowledged.size).toBeGreaterThan(0);
    expect(acknowledged.size).toBeLessThan(ids.length);

    // The episode ends: space is back. Writes are still refused, not
    // acknowledged and then lost on reopen.
    await rm(filler);
    const late = await rt.engine.start(chain('late', ['z']), { workflowId: 'wf-late' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect((late as TroupeError).code).toBe('STORE_WRITE_FAILED');
    expect((late as TroupeError).context).toMatchObject({ reason: 'ENOSPC', latched: true });
    await rt.close();
    runtimes.splice(0);

    const next = await open();
    const listed = await next.engine.list();
    expect(listed.corrupt).toEqual([]);
    expect(listed.map((r) => r.workflowId)).toEqual(['wf-full']);
    const before = new Map(executions);
    const result = await next.engine.resumeFromCheckpoint('wf-full');
    expect(result?.status).toBe('completed');
    for (const taskId of acknowledged) {
      // Acknowledged before the failure: in the journal, never run again.
      expect(executions.get(taskId), taskId).toBe(before.get(taskId));
      expect(result?.tasks[taskId]?.status).toBe('completed');
    }
  });
});
