/**
 * A resumed run takes a checkpoint at its restore only when the tail it
 * replayed is due for one; otherwise its `workflow.restore` entry stays in
 * the journal, and the next recovery replays it as the resumed actor
 * received it (in `created`, returning to the state it was rebuilt in).
 * Each test crashes more than once, so a restore entry is replayed.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent, type WorkflowDefinitionInput, type WorkflowResult } from '../../src/index.js';
import {
  chain,
  comparable,
  durableRuntime,
  Gates,
  type Run,
  readStoredRun,
  scratchDir,
  useScratch,
} from './helpers.js';

useScratch();

/** Records every run; a held task waits for its gate, or for the runtime to close. */
function worker(runs: Run[], hold: string[] = [], gates = new Gates()) {
  return defineAgent({
    role: 'worker',
    concurrency: 4,
    run: async (task, ctx) => {
      runs.push({ taskId: task.id, attempt: ctx.attempt, key: ctx.idempotencyKey });
      if (hold.includes(task.id)) {
        await Promise.race([
          gates.wait(task.id),
          new Promise((_, reject) =>
            ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
          ),
        ]);
      }
      if (task.id === 'plan') {
        ctx.addTasks([
          { id: 'constructor', agent: 'worker', dependsOn: ['plan'] },
          { id: 'toString', agent: 'worker', dependsOn: ['constructor'] },
        ]);
      }
      return `${task.id} done`;
    },
  });
}

/** The checkpoint reasons and the journal's event types a run left in its folder. */
async function stored(dataDir: string, workflowId: string) {
  const run = await readStoredRun(dataDir, workflowId);
  return {
    reasons: run.snapshots.map((s) => s.checkpoint.reason),
    journal: run.journal.map(({ entry }) => entry.event.type),
  };
}

describe('restore without a checkpoint', () => {
  it('a short replayed tail takes no checkpoint at the restore; a second crash replays the restore entry and re-runs only the task in flight', async () => {
    const dataDir = await scratchDir();
    const definition = chain('four', ['a', 'b', 'c', 'd']);
    const runs: Run[][] = [[], [], []];

    const gates1 = new Gates();
    const one = await durableRuntime(dataDir, { agents: [worker(runs[0]!, ['b'], gates1)] });
    await one.rt.engine.start(definition, { workflowId: 'wf-twice' });
    await gates1.arrived('b');
    await one.rt.engine.flushed();
    await one.rt.close();
    expect(await stored(dataDir, 'wf-twice')).toEqual({
      reasons: [],
      journal: ['workflow.run', 'task.completed'],
    });

    const gates2 = new Gates();
    const two = await durableRuntime(dataDir, { agents: [worker(runs[1]!, ['c'], gates2)] });
    await two.rt.engine.recover('wf-twice');
    await gates2.arrived('c');
    await two.rt.engine.flushed();
    await two.rt.close();
    // The restore is journaled, not checkpointed; b, re-run, completed after it.
    expect(await stored(dataDir, 'wf-twice')).toEqual({
      reasons: [],
      journal: ['workflow.run', 'task.completed', 'workflow.restore', 'task.completed'],
    });

    const three = await durableRuntime(dataDir, { agents: [worker(runs[2]!)] });
    const state = await three.rt.engine.getState('wf-twice');
    expect(state?.tasks.b?.status).toBe('completed');
    expect(state?.tasks.c?.status).toBe('running');
    const result = await three.rt.engine.resumeFromCheckpoint('wf-twice');
    expect(result?.status).toBe('completed');

    // Each task in flight at a crash ran again as the same attempt; nothing journaled did.
    const ids = (list: Run[]) => list.map((r) => `${r.taskId}#${r.attempt}`);
    expect(ids(runs[0]!)).toEqual(['a#1', 'b#1']);
    expect(ids(runs[1]!)).toEqual(['b#1', 'c#1']);
    expect(ids(runs[2]!)).toEqual(['c#1', 'd#1']);
    expect(runs[2]![0]!.key).toBe('wf-twice:c');
    expect(result?.tasks.c).toMatchObject({ status: 'completed', attempts: 1 });

    const plain = await durableRuntime(await scratchDir(), { agents: [worker([])] });
    const expected = await plain.rt.engine.execute(definition, { workflowId: 'wf-twice' });
    expect(comparable(result!)).toEqual(comparable(expected));
  });

  it('a paused run resumed twice without a checkpoint at either restore comes back paused each time', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const first = await durableRuntime(dataDir, { agents: [worker([], ['b'], gates)] });
    await first.rt.engine.start(chain('paused', ['a', 'b', 'c']), { workflowId: 'wf-paused' });
    await gates.arrived('b');
    await first.rt.engine.pause('wf-paused');
    await first.rt.engine.flushed();
    await first.rt.close();

    let live: WorkflowResult | undefined;
    for (let restart = 0; restart < 2; restart++) {
      const { rt } = await durableRuntime(dataDir, { agents: [worker([])] });
      // Rebuilt from the store, before it is live again: what the live run had
      // (b, in flight at the crash, went back to pending at the restore).
      const rebuilt = await rt.engine.getState('wf-paused');
      if (live) expect(comparable(rebuilt!)).toEqual(comparable(live));
      await rt.engine.recover('wf-paused');
      live = await rt.engine.getState('wf-paused');
      expect(live?.status).toBe('paused');
      expect(live?.tasks.b?.status).toBe('pending');
      await rt.engine.flushed();
      await rt.close();
    }
    const { reasons, journal } = await stored(dataDir, 'wf-paused');
    expect(reasons).toEqual(['pause']);
    expect(journal.filter((type) => type === 'workflow.restore')).toHaveLength(2);

    const runs: Run[] = [];
    const last = await durableRuntime(dataDir, { agents: [worker(runs)] });
    const handle = await last.rt.engine.recover('wf-paused');
    await last.rt.engine.resume('wf-paused');
    expect((await handle!.result).status).toBe('completed');
    expect(runs.map((r) => r.taskId)).toEqual(['b', 'c']);
  });

  it('task ids that are Object.prototype members, added at run time after a checkpoint, replay and resume', async () => {
    const dataDir = await scratchDir();
    // a and b complete (a checkpoint every 2 completions), then plan adds
    // `constructor` and `toString`: replayed on top of the checkpoint.
    const definition: WorkflowDefinitionInput = {
      name: 'proto',
      tasks: [
        { id: 'a', agent: 'worker' },
        { id: 'b', agent: 'worker' },
        { id: 'plan', agent: 'worker', dependsOn: ['a', 'b'] },
      ],
    };
    const gates = new Gates();
    const runs: Run[] = [];
    const first = await durableRuntime(dataDir, {
      agents: [worker(runs, ['constructor'], gates)],
    });
    await first.rt.engine.start(definition, { workflowId: 'wf-proto', checkpointInterval: 2 });
    await gates.arrived('constructor');
    await first.rt.engine.flushed();
    await first.rt.close();
    expect((await stored(dataDir, 'wf-proto')).reasons).toEqual(['interval']);

    const second = await durableRuntime(dataDir, { agents: [worker(runs)] });
    const result = await second.rt.engine.resumeFromCheckpoint('wf-proto');
    expect(result?.status).toBe('completed');
    expect(Object.keys(result!.tasks).sort()).toEqual([
      'a',
      'b',
      'constructor',
      'plan',
      'toString',
    ]);
    expect(new Map(Object.entries(result!.tasks)).get('toString')?.output).toBe('toString done');
    expect(runs.map((r) => r.taskId)).toEqual([
      'a',
      'b',
      'plan',
      'constructor',
      'constructor',
      'toString',
    ]);
  });
});
