/**
 * The engine on runs that are stored but live in no process (interrupted or
 * paused, then the runtime closed): getState finds them, pause and cancel are
 * stored and honoured on recovery, resume brings them back, and a run that
 * has ended says so. Checkpoints written by a restore are labelled `restore`.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/index.js';
import {
  chain,
  durableRuntime,
  expectTroupeError,
  Gates,
  nextEvent,
  scratchDir,
  useScratch,
} from './helpers.js';

useScratch();

/** Runs tasks, holding those in `hold` at a gate (aborted when the runtime closes). */
function worker(ran: string[], gates: Gates, hold: readonly string[] = []) {
  return defineAgent({
    role: 'worker',
    run: async (task, ctx) => {
      ran.push(task.id);
      if (hold.includes(task.id)) {
        await Promise.race([
          gates.wait(task.id),
          new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
          ),
        ]);
      }
      return `${task.id} done`;
    },
  });
}

/** A run of a -> b -> c left interrupted with `a` completed and `b` in flight. */
async function interruptedRun(dataDir: string, workflowId: string): Promise<void> {
  const gates = new Gates();
  const { rt } = await durableRuntime(dataDir, { agents: [worker([], gates, ['b'])] });
  await rt.engine.start(chain('abc', ['a', 'b', 'c']), { workflowId });
  await gates.arrived('b');
  await rt.engine.flushed();
  await rt.close();
}

describe('control of stored runs', () => {
  it('ORCH-010 getState finds an interrupted run before recover(), rebuilt from the store', async () => {
    const dir = await scratchDir();
    await interruptedRun(dir, 'wf-i');
    const { rt } = await durableRuntime(dir);
    const state = await rt.engine.getState('wf-i');
    expect(state?.status).toBe('running');
    expect(state?.tasks.a?.status).toBe('completed');
    expect(state?.tasks.b?.status).toBe('running');
    expect(state?.tasks.c?.status).toBe('pending');
  });

  it('ORCH-010 a pause of an interrupted run is stored: getState says paused, and it comes back paused until resume', async () => {
    const dir = await scratchDir();
    await interruptedRun(dir, 'wf-p');
    {
      const { rt } = await durableRuntime(dir);
      await rt.engine.pause('wf-p');
      expect((await rt.engine.getState('wf-p'))?.status).toBe('paused');
      expect((await rt.engine.list({ status: 'paused' })).map((r) => r.workflowId)).toEqual([
        'wf-p',
      ]);
      await rt.close();
    }
    const ran: string[] = [];
    const { rt } = await durableRuntime(dir, { agents: [worker(ran, new Gates())] });
    const handle = await rt.engine.recover('wf-p');
    await rt.engine.flushed();
    expect((await rt.engine.getState('wf-p'))?.status).toBe('paused');
    // The in-flight attempt of b runs again (as after any restore); c waits for the resume.
    expect(ran).not.toContain('c');
    const resumed = nextEvent(rt, (e) => e.type === 'workflow.resumed');
    await rt.engine.resume('wf-p');
    await resumed;
    expect((await handle!.result).status).toBe('completed');
    expect(ran).toContain('c');
  });

  it('ORCH-008 a cancel of an interrupted run ends it as cancelled without its agents; it is not resumed', async () => {
    const dir = await scratchDir();
    await interruptedRun(dir, 'wf-c');
    const { rt } = await durableRuntime(dir);
    await rt.engine.cancel('wf-c', 'no longer needed');
    const state = await rt.engine.getState('wf-c');
    expect(state?.status).toBe('cancelled');
    expect(state?.tasks.a?.status).toBe('completed');
    expect(state?.tasks.c?.status).toBe('cancelled');
    expect(await rt.engine.interrupted()).toEqual([]);
  });

  it('ORCH-008 a resume of a stored paused run recovers it and lets it finish', async () => {
    const dir = await scratchDir();
    await interruptedRun(dir, 'wf-r');
    {
      const { rt } = await durableRuntime(dir);
      await rt.engine.pause('wf-r');
      await rt.close();
    }
    const { rt } = await durableRuntime(dir, { agents: [worker([], new Gates())] });
    const ended = nextEvent(rt, (e) => e.type === 'workflow.completed');
    await rt.engine.resume('wf-r');
    await ended;
    await rt.engine.flushed();
    expect((await rt.engine.getState('wf-r'))?.status).toBe('completed');
  });

  it('pause, resume and cancel of an ended run say it has ended, and an unknown run is not found', async () => {
    const dir = await scratchDir();
    const { rt } = await durableRuntime(dir, { agents: [worker([], new Gates())] });
    const result = await rt.engine.execute(chain('done', ['a']), { workflowId: 'wf-done' });
    expect(result.status).toBe('completed');
    for (const action of [
      () => rt.engine.pause('wf-done'),
      () => rt.engine.resume('wf-done'),
      () => rt.engine.cancel('wf-done'),
    ]) {
      const error = await expectTroupeError(action, 'WORKFLOW_FINISHED');
      expect(error.message).toContain('has already ended (completed)');
      expect(error.message).not.toContain('recover');
    }
    const missing = await expectTroupeError(
      () => rt.engine.cancel('wf-none'),
      'WORKFLOW_NOT_FOUND',
    );
    expect(missing.message).not.toContain('recover');
  });

  it('ORCH-008 a checkpoint written by a restore is labelled restore, not pause', async () => {
    const dir = await scratchDir();
    await interruptedRun(dir, 'wf-h');
    // A checkpoint every completion: the replayed tail (a's) is due for one at the restore.
    const { rt } = await durableRuntime(dir, {
      agents: [worker([], new Gates())],
      checkpointInterval: 1,
    });
    const handle = await rt.engine.recover('wf-h');
    await handle!.result;
    await rt.engine.flushed();
    const reasons = (await rt.engine.history('wf-h')).map((c) => c.reason);
    expect(reasons).toContain('restore');
    expect(reasons).not.toContain('pause');
  });
});
