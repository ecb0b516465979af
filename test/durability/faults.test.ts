/**
 * Bad stored state and missing code: a corrupt snapshot fails only its own
 * run (STORE_CORRUPT naming it); a second process on the same folder gets
 * STORE_LOCKED; resuming without an agent or compensation a run needs fails
 * with an error naming it and changes nothing stored, and works once it is
 * registered.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type AgentDefinition, defineAgent, LevelStore, type Runtime } from '../../src/index.js';
import { workflowSeqKey } from '../../src/store/keys.js';
import {
  chain,
  durableRuntime,
  expectTroupeError,
  Gates,
  readRun,
  readStoredRun,
  scratchDir,
  useScratch,
} from './helpers.js';
import { bundleFixture, killAll, Worker } from './processes.js';

useScratch();
afterEach(killAll);

function worker(ran: string[], gates?: Gates, hold: string[] = []): AgentDefinition {
  return defineAgent({
    role: 'worker',
    concurrency: 10,
    run: async (task, ctx) => {
      ran.push(ctx.idempotencyKey);
      if (hold.includes(task.id)) await gates?.wait(task.id);
      return `${task.id} done`;
    },
  });
}

/** Starts `chain(name, ids)` as `workflowId` and waits until `held` is running and journaled. */
async function interrupt(
  rt: Runtime,
  gates: Gates,
  workflowId: string,
  ids: string[],
  held: string,
): Promise<void> {
  await rt.engine.start(chain(workflowId, ids), { workflowId, checkpointInterval: 1 });
  await gates.arrived(held);
  await rt.engine.flushed();
}

describe('a corrupt snapshot', () => {
  it.each([
    ['a context that is not JSON', { seq: 0, value: 'running', context: '{"runs": [' }],
    ['a record that is not a checkpoint', 'garbage'],
    // Must not be read as "no checkpoint": the journal before it is compacted away.
    ['a null record', null],
  ])(
    'with %s: resume fails with STORE_CORRUPT naming the run; another run in the store resumes',
    async (_label, garbage) => {
      const dataDir = await scratchDir();
      const gates = new Gates();
      const first = await durableRuntime(dataDir, { agents: [worker([], gates, ['c', 'y'])] });
      await interrupt(first.rt, gates, 'wf-bad', ['a', 'b', 'c'], 'c');
      await interrupt(first.rt, gates, 'wf-good', ['x', 'y'], 'y');
      await first.rt.close();

      const before = await readStoredRun(dataDir, 'wf-bad');
      const newest = before.snapshots.at(-1)!.seq;
      const raw = await LevelStore.open(dataDir);
      await raw.batch([
        {
          type: 'put',
          collection: 'snapshots',
          key: workflowSeqKey('wf-bad', newest),
          value:
            garbage === null || typeof garbage === 'string' ? garbage : { ...garbage, seq: newest },
        },
      ]);
      await raw.close();
      const corrupted = await readStoredRun(dataDir, 'wf-bad');

      const ran: string[] = [];
      const second = await durableRuntime(dataDir, { agents: [worker(ran)] });
      const error = await expectTroupeError(
        () => second.rt.engine.resumeFromCheckpoint('wf-bad'),
        'STORE_CORRUPT',
      );
      expect(error.message).toContain(`Checkpoint ${newest} of workflow "wf-bad" is corrupt`);
      expect(error.context).toMatchObject({ workflowId: 'wf-bad' });
      await expectTroupeError(() => second.rt.engine.history('wf-bad'), 'STORE_CORRUPT');

      const good = await second.rt.engine.resumeFromCheckpoint('wf-good');
      expect(good?.status).toBe('completed');
      expect(ran).toEqual(['wf-good:y']);
      // The failed resume changed nothing, and the run is still listed as interrupted.
      expect(await readRun(second.rt.store, 'wf-bad')).toEqual(corrupted);
      expect((await second.rt.engine.interrupted()).map((r) => r.workflowId)).toEqual(['wf-bad']);
    },
  );

  it('autoResume reports the corrupt run and resumes the others', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const first = await durableRuntime(dataDir, { agents: [worker([], gates, ['b', 'y'])] });
    await interrupt(first.rt, gates, 'wf-bad', ['a', 'b'], 'b');
    await interrupt(first.rt, gates, 'wf-good', ['x', 'y'], 'y');
    await first.rt.close();
    const { snapshots } = await readStoredRun(dataDir, 'wf-bad');
    const raw = await LevelStore.open(dataDir);
    await raw.batch([
      {
        type: 'put',
        collection: 'snapshots',
        key: workflowSeqKey('wf-bad', snapshots.at(-1)!.seq),
        value: { seq: snapshots.at(-1)!.seq, value: 'running', context: 'not json' },
      },
    ]);
    await raw.close();

    const second = await durableRuntime(dataDir, { autoResume: true, agents: [worker([])] });
    expect(second.errors).toEqual([
      expect.stringMatching(
        /^resuming workflow "wf-bad": .*Checkpoint \d+ of workflow "wf-bad" is corrupt/,
      ),
    ]);
    expect(second.rt.engine.liveRuns()).toEqual(['wf-good']);
    expect((await second.rt.engine.resumeFromCheckpoint('wf-good'))?.status).toBe('completed');
  });
});

describe('one data folder, two processes', () => {
  let fixture: Awaited<ReturnType<typeof bundleFixture>>;
  beforeAll(async () => {
    fixture = await bundleFixture('durable-worker');
  }, 60_000);
  afterAll(() => fixture?.remove());

  it('a second process on the same dataDir gets STORE_LOCKED naming the folder and the holder; once closed, it can open it', async () => {
    const dataDir = await scratchDir();
    const counters = await scratchDir('troupe-counters-');
    const { rt } = await durableRuntime(dataDir, { agents: [worker([])] });
    const second = new Worker(fixture.file, [dataDir, counters, 'chain', 'start', 'wf-locked']);
    const error = await second.waitFor('error');
    await expect(second.finished()).rejects.toThrow(/exited \(1\)/);
    expect(error.code).toBe('STORE_LOCKED');
    expect(error.message).toContain(dataDir);
    expect(error.message).toContain(String(process.pid));
    await rt.close();

    const third = new Worker(fixture.file, [dataDir, counters, 'chain', 'start', 'wf-unlocked']);
    expect(((await third.waitFor('result')).result as { status: string }).status).toBe('completed');
    await third.finished();
  });
});

describe('missing code on resume', () => {
  it('a missing agent: the error names it, the stored run is untouched, and resume works once it is registered', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const first = await durableRuntime(dataDir, { agents: [worker([], gates, ['c'])] });
    await interrupt(first.rt, gates, 'wf-agentless', ['a', 'b', 'c', 'd'], 'c');
    await first.rt.close();
    const before = await readStoredRun(dataDir, 'wf-agentless');

    const second = await durableRuntime(dataDir);
    const error = await expectTroupeError(
      () => second.rt.engine.recover('wf-agentless'),
      'UNKNOWN_AGENT',
    );
    expect(error.message).toContain('workflow run "wf-agentless"');
    expect(error.message).toContain('agent "worker" (task "a")');
    expect(await readRun(second.rt.store, 'wf-agentless')).toEqual(before);
    expect(second.rt.engine.liveRuns()).toEqual([]);
    expect((await second.rt.engine.interrupted()).map((r) => r.workflowId)).toEqual([
      'wf-agentless',
    ]);

    const ran: string[] = [];
    second.rt.registerAgent(worker(ran));
    const result = await second.rt.engine.resumeFromCheckpoint('wf-agentless');
    expect(result?.status).toBe('completed');
    expect(ran).toEqual(['wf-agentless:c', 'wf-agentless:d']);
  });

  it('a missing compensation: the error names it and the workflow, the stored run is untouched, and resume works once registered', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const failer = defineAgent({
      role: 'failer',
      run: () => {
        throw new Error('declined');
      },
    });
    const first = await durableRuntime(dataDir, { agents: [worker([], gates, ['b']), failer] });
    const undone: string[] = [];
    const undo = { a: () => void undone.push('a'), b: () => void undone.push('b') };
    await first.rt.engine.startWithSagaPattern(
      {
        name: 'refund',
        tasks: [
          { id: 'a', agent: 'worker' },
          { id: 'b', agent: 'worker', dependsOn: ['a'] },
          { id: 'pay', agent: 'failer', dependsOn: ['b'] },
        ],
      },
      undo,
      { workflowId: 'wf-refund' },
    );
    await gates.arrived('b');
    await first.rt.engine.flushed();
    await first.rt.close();
    const before = await readStoredRun(dataDir, 'wf-refund');

    const second = await durableRuntime(dataDir, { agents: [worker([]), failer] });
    const error = await expectTroupeError(
      () => second.rt.engine.resumeFromCheckpoint('wf-refund'),
      'UNKNOWN_AGENT',
    );
    expect(error.message).toContain('compensation "a" of workflow "refund" (task "a")');
    expect(error.message).toContain('compensation "b" of workflow "refund" (task "b")');
    expect(await readRun(second.rt.store, 'wf-refund')).toEqual(before);

    second.rt.engine.registerCompensations('refund', undo);
    const result = await second.rt.engine.resumeFromCheckpoint('wf-refund');
    expect(result?.status).toBe('compensated');
    expect(undone).toEqual(['b', 'a']);
  });
});
