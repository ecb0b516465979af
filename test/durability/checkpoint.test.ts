/**
 * ORCH-008 checkpoint recovery, and time travel (history and fork). Runs are
 * interrupted by closing their runtime while a task is held, then resumed by
 * a new runtime over the same LevelDB folder.
 */
import { describe, expect, it } from 'vitest';
import {
  type AgentDefinition,
  defineAgent,
  EventType,
  type WorkflowDefinitionInput,
} from '../../src/index.js';
import { workflowSeqKey } from '../../src/store/keys.js';
import {
  chain,
  deferred,
  durableProgress,
  durableRuntime,
  expectTroupeError,
  Gates,
  type Run,
  readRun,
  readStoredRun,
  recordEvents,
  type StoredRun,
  scratchDir,
  useScratch,
} from './helpers.js';

useScratch();

/**
 * The `worker` agent: records each run, waits at its gate if the task is in
 * `hold`, fails attempts listed in `failOn` (`task#attempt`).
 */
function worker(
  runs: Run[],
  options: { gates?: Gates; hold?: string[]; failOn?: string[] } = {},
): AgentDefinition {
  return defineAgent({
    role: 'worker',
    concurrency: 10,
    run: async (task, ctx) => {
      runs.push({ taskId: task.id, attempt: ctx.attempt, key: ctx.idempotencyKey });
      if (options.failOn?.includes(`${task.id}#${ctx.attempt}`)) throw new Error('flaky');
      if (options.hold?.includes(task.id)) await options.gates?.wait(task.id);
      return { task: task.id, inputs: Object.keys(ctx.dependencies) };
    },
  });
}

const sorted = (set: Set<string>) => [...set].sort();

const ids = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(97 + i));

describe('ORCH-008 checkpoint recovery', () => {
  it('ORCH-008 executeWithCheckpointRecovery writes a checkpoint every N completions and at the end; checkpoint.saved fires once it is written', async () => {
    const runs: Run[] = [];
    const { rt } = await durableRuntime(await scratchDir(), { agents: [worker(runs)] });
    const events = recordEvents(rt);
    // checkpoint.saved means written: a read issued by the listener finds it.
    const readBack: Promise<unknown>[] = [];
    rt.engine.on('checkpoint.saved', (e) => {
      readBack.push(rt.store.get('snapshots', workflowSeqKey(e.workflowId, e.seq)));
    });
    const result = await rt.engine.executeWithCheckpointRecovery(chain('six', ids(6)), {
      checkpointInterval: 2,
      workflowId: 'wf-six',
    });
    expect(result.status).toBe('completed');
    const saved = events.filter((e) => e.type === EventType.CHECKPOINT_SAVED);
    expect(saved.map((e) => e.type === 'checkpoint.saved' && e.reason)).toEqual([
      'interval',
      'interval',
      'end',
    ]);
    for (const stored of await Promise.all(readBack)) {
      expect(stored).toMatchObject({ reason: expect.any(String) });
    }
    // Each checkpoint is reported after the completions it covers.
    const order = events
      .filter((e) => e.type === 'task.completed' || e.type === 'checkpoint.saved')
      .map((e) => (e.type === 'task.completed' ? e.taskId : 'cp'));
    const completedBefore = order.flatMap((name, i) =>
      name === 'cp' ? [order.slice(0, i).filter((n) => n !== 'cp').length] : [],
    );
    expect(completedBefore[0]).toBeGreaterThanOrEqual(2);
    expect(completedBefore[1]).toBeGreaterThanOrEqual(4);
    expect(completedBefore[2]).toBe(6);
    const history = await rt.engine.history('wf-six');
    expect(history.map((h) => [h.reason, h.completedTasks, h.state])).toEqual([
      ['interval', 2, 'running'],
      ['interval', 4, 'running'],
      ['end', 6, 'completed'],
    ]);
    expect(history.map((h) => h.seq)).toEqual(
      saved.map((e) => (e.type === 'checkpoint.saved' ? e.seq : -1)),
    );
  });

  it('ORCH-008 compacts the journal before the newest checkpoint, keeps keepCheckpoints, and a new runtime resumes without re-running completed tasks', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const firstRuns: Run[] = [];
    const first = await durableRuntime(dataDir, {
      keepCheckpoints: 2,
      agents: [worker(firstRuns, { gates, hold: ['i'] })],
    });
    const events = recordEvents(first.rt);
    const handle = await first.rt.engine.start(chain('nine', ids(9)), {
      workflowId: 'wf-nine',
      checkpointInterval: 2,
    });
    await gates.arrived('i');
    await first.rt.engine.flushed();
    const saved = events.filter((e) => e.type === 'checkpoint.saved');
    expect(saved.map((e) => e.type === 'checkpoint.saved' && e.reason)).toEqual([
      'interval',
      'interval',
      'interval',
      'interval',
    ]);
    await first.rt.close();
    await expect(handle.result).rejects.toMatchObject({ code: 'RUNTIME_CLOSED' });

    const stored = await readStoredRun(dataDir, 'wf-nine');
    const savedSeqs = saved.map((e) => (e.type === 'checkpoint.saved' ? e.seq : -1));
    // keepCheckpoints: 2 of the 4 remain, the newest ones.
    expect(stored.snapshots.map((s) => s.seq)).toEqual(savedSeqs.slice(-2));
    const newest = stored.snapshots.at(-1)!.seq;
    // Compaction: no journal entry at or before the newest checkpoint (taken
    // at h's completion), and none after it: i's start is no journal entry,
    // its completion will carry it.
    expect(newest).toBe(saved.length * 2 + 1);
    expect(stored.journal).toEqual([]);
    expect(stored.record?.status).toBe('running');
    expect(stored.record?.result).toBeUndefined();

    const secondRuns: Run[] = [];
    const second = await durableRuntime(dataDir, {
      keepCheckpoints: 2,
      agents: [worker(secondRuns)],
    });
    const resumedEvents = recordEvents(second.rt);
    const result = await second.rt.engine.resumeFromCheckpoint('wf-nine');
    expect(result?.status).toBe('completed');
    // Only the task in flight ran again: same attempt, same idempotency key.
    expect(secondRuns).toEqual([{ taskId: 'i', attempt: 1, key: 'wf-nine:i' }]);
    expect(firstRuns.find((r) => r.taskId === 'i')).toEqual(secondRuns[0]);
    expect(result?.tasks.h?.output).toEqual({ task: 'h', inputs: ['g'] });
    expect(result?.tasks.i).toMatchObject({ status: 'completed', attempts: 1 });
    // Nothing after the newest checkpoint was replayed: the restore takes none.
    expect(
      resumedEvents
        .filter((e) => e.type === 'checkpoint.saved')
        .map((e) => e.type === 'checkpoint.saved' && e.reason),
    ).toEqual(['end']);

    await second.rt.close();
    const ended = await readStoredRun(dataDir, 'wf-nine');
    expect(ended.journal).toEqual([]);
    expect(ended.snapshots).toHaveLength(2);
    expect(ended.snapshots.at(-1)?.checkpoint.reason).toBe('end');
    expect(ended.record?.result?.status).toBe('completed');
  });

  it('ORCH-008 an attempt in flight after a retry is re-run as the same attempt with the same idempotency key', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const firstRuns: Run[] = [];
    const definition: WorkflowDefinitionInput = {
      ...chain('retry-resume', ['a', 'b', 'c', 'd']),
      defaults: { retry: { maxAttempts: 3, initialDelayMs: 1, jitter: 0 } },
    };
    const first = await durableRuntime(dataDir, {
      agents: [worker(firstRuns, { gates, hold: ['c'], failOn: ['c#1'] })],
    });
    await first.rt.engine.start(definition, { workflowId: 'wf-retry', checkpointInterval: 1 });
    await gates.arrived('c');
    await first.rt.engine.flushed();
    await first.rt.close();
    expect(firstRuns.map((r) => `${r.taskId}#${r.attempt}`)).toEqual(['a#1', 'b#1', 'c#1', 'c#2']);

    const secondRuns: Run[] = [];
    const second = await durableRuntime(dataDir, { agents: [worker(secondRuns)] });
    const result = await second.rt.engine.resumeFromCheckpoint('wf-retry');
    expect(secondRuns).toEqual([
      { taskId: 'c', attempt: 2, key: 'wf-retry:c' },
      { taskId: 'd', attempt: 1, key: 'wf-retry:d' },
    ]);
    expect(result?.status).toBe('completed');
    expect(result?.tasks.c?.attempts).toBe(2);
  });

  it('ORCH-008 await engine.flushed() in a task.completed handler covers that completion and a pause the handler sent', async () => {
    const gates = new Gates();
    // In memory: reading the store back takes microtasks only, so the read
    // sees exactly what was written when flushed() resolved.
    const { rt } = await durableRuntime(false);
    // Each task ends once everything before it is written: nothing is
    // pending when it completes, so only its own completion can be missing.
    rt.registerAgent(
      defineAgent({
        role: 'worker',
        run: async (task) => {
          await rt.engine.flushed();
          if (task.id === 'c') await gates.wait('c');
          return task.id;
        },
      }),
    );
    const seen = deferred<StoredRun>();
    rt.engine.on('task.completed', async (event) => {
      if (event.taskId !== 'b') return;
      rt.engine.pause('wf-flush');
      await rt.engine.flushed();
      seen.resolve(await readRun(rt.store, 'wf-flush'));
    });
    await rt.engine.start(chain('flush', ['a', 'b', 'c']), {
      workflowId: 'wf-flush',
      checkpointInterval: 100,
    });
    const stored = await seen.promise;
    expect(sorted(durableProgress(stored).completed)).toEqual(['a', 'b']);
    // The pause wrote its checkpoint.
    expect(stored.snapshots.at(-1)?.checkpoint).toMatchObject({ reason: 'pause', value: 'paused' });
    gates.open('c');
  });

  it('ORCH-008 a retry backoff pending at the restart is re-armed from its deadline kept in data', async () => {
    const dataDir = await scratchDir();
    const definition: WorkflowDefinitionInput = {
      ...chain('backoff', ['a', 'b']),
      defaults: { retry: { maxAttempts: 2, initialDelayMs: 300, jitter: 0 } },
    };
    const first = await durableRuntime(dataDir, { agents: [worker([], { failOn: ['b#1'] })] });
    const retrying = new Promise<number>((resolve) =>
      first.rt.engine.on('task.retrying', (e) => resolve(e.retryAt)),
    );
    await first.rt.engine.start(definition, { workflowId: 'wf-backoff' });
    const retryAt = await retrying;
    await first.rt.engine.flushed();
    await first.rt.close();

    const runs: (Run & { at: number })[] = [];
    const second = await durableRuntime(dataDir);
    second.rt.registerAgent(
      defineAgent({
        role: 'worker',
        run: (task, ctx) => {
          runs.push({
            taskId: task.id,
            attempt: ctx.attempt,
            key: ctx.idempotencyKey,
            at: Date.now(),
          });
          return task.id;
        },
      }),
    );
    const result = await second.rt.engine.resumeFromCheckpoint('wf-backoff');
    expect(result?.status).toBe('completed');
    expect(runs).toEqual([
      { taskId: 'b', attempt: 2, key: 'wf-backoff:b', at: expect.any(Number) },
    ]);
    expect(runs[0]!.at).toBeGreaterThanOrEqual(retryAt);
  });

  it('ORCH-008 tasks added at run time survive a restart', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const planner = defineAgent({
      role: 'planner',
      run: (_task, ctx) => {
        ctx.addTasks([
          { id: 'x', agent: 'worker', dependsOn: ['plan'] },
          { id: 'y', agent: 'worker', dependsOn: ['x'] },
        ]);
        return 'planned';
      },
    });
    const first = await durableRuntime(dataDir, {
      agents: [planner, worker([], { gates, hold: ['x'] })],
    });
    await first.rt.engine.start(
      { name: 'grows', tasks: [{ id: 'plan', agent: 'planner' }] },
      { workflowId: 'wf-grows', checkpointInterval: 1 },
    );
    await gates.arrived('x');
    await first.rt.engine.flushed();
    await first.rt.close();

    const runs: Run[] = [];
    const second = await durableRuntime(dataDir, { agents: [planner, worker(runs)] });
    const result = await second.rt.engine.resumeFromCheckpoint('wf-grows');
    expect(result?.status).toBe('completed');
    expect(Object.keys(result!.tasks)).toEqual(['plan', 'x', 'y']);
    expect(runs.map((r) => r.key)).toEqual(['wf-grows:x', 'wf-grows:y']);
    const record = (await second.rt.engine.list()).find((r) => r.workflowId === 'wf-grows');
    expect(record?.definition.tasks.map((t) => t.id)).toEqual(['plan', 'x', 'y']);
  });

  it('ORCH-008 resumeFromCheckpoint: null for an unknown run, the stored result for an ended one', async () => {
    const dataDir = await scratchDir();
    const first = await durableRuntime(dataDir, { agents: [worker([])] });
    const original = await first.rt.engine.execute(chain('done', ['a', 'b']), {
      workflowId: 'wf-done',
    });
    await first.rt.close();

    const runs: Run[] = [];
    const second = await durableRuntime(dataDir, { agents: [worker(runs)] });
    expect(await second.rt.engine.resumeFromCheckpoint('wf-nobody')).toBeNull();
    expect(await second.rt.engine.resumeFromCheckpoint('wf-done')).toEqual(original);
    expect(runs).toEqual([]);
    expect(await second.rt.engine.interrupted()).toEqual([]);
  });
});

describe('time travel', () => {
  it('history lists the checkpoints; fork starts a new run from a past one and completes; the original is untouched', async () => {
    const dataDir = await scratchDir();
    const runs: Run[] = [];
    const { rt } = await durableRuntime(dataDir, {
      keepCheckpoints: 10,
      agents: [worker(runs)],
    });
    const original = await rt.engine.execute(chain('six', ids(6)), {
      workflowId: 'wf-orig',
      checkpointInterval: 2,
    });
    const history = await rt.engine.history('wf-orig');
    expect(history.map((h) => [h.reason, h.completedTasks])).toEqual([
      ['interval', 2],
      ['interval', 4],
      ['end', 6],
    ]);
    const recordBefore = (await rt.engine.list()).find((r) => r.workflowId === 'wf-orig');

    runs.length = 0;
    const fork = await rt.engine.fork('wf-orig', {
      checkpoint: history[0]!.seq,
      workflowId: 'wf-fork',
    });
    const forked = await fork.result;
    expect(forked.status).toBe('completed');
    expect(forked.workflowId).toBe('wf-fork');
    // a and b were done at that checkpoint; the rest ran again, under the fork's id.
    expect(runs.map((r) => r.key)).toEqual(['wf-fork:c', 'wf-fork:d', 'wf-fork:e', 'wf-fork:f']);
    expect(forked.tasks.a?.output).toEqual(original.tasks.a?.output);
    expect(Object.values(forked.tasks).map((t) => t.status)).toEqual(Array(6).fill('completed'));
    const forkRecord = (await rt.engine.list()).find((r) => r.workflowId === 'wf-fork');
    expect(forkRecord?.forkedFrom).toEqual({ workflowId: 'wf-orig', checkpoint: history[0]!.seq });

    // The original: same record, same checkpoints, same result.
    expect((await rt.engine.list()).find((r) => r.workflowId === 'wf-orig')).toEqual(recordBefore);
    expect(await rt.engine.history('wf-orig')).toEqual(history);
    expect(await rt.engine.getState('wf-orig')).toEqual(original);

    await expectTroupeError(
      () => rt.engine.fork('wf-orig', { checkpoint: history.at(-1)!.seq }),
      'INVALID_INPUT',
    );
    const missing = await expectTroupeError(
      () => rt.engine.fork('wf-orig', { checkpoint: 9999 }),
      'INVALID_INPUT',
    );
    expect(missing.message).toContain('has no checkpoint 9999');
    await expectTroupeError(() => rt.engine.fork('wf-nobody'), 'WORKFLOW_NOT_FOUND');
  });

  it('a fork survives a restart before it ends', async () => {
    const dataDir = await scratchDir();
    const first = await durableRuntime(dataDir, { keepCheckpoints: 10, agents: [worker([])] });
    await first.rt.engine.execute(chain('five', ids(5)), {
      workflowId: 'wf-src',
      checkpointInterval: 2,
    });
    const [firstCheckpoint] = await first.rt.engine.history('wf-src');
    const heldGates = new Gates();
    await first.rt.close();

    const secondRuns: Run[] = [];
    const second = await durableRuntime(dataDir, {
      agents: [worker(secondRuns, { gates: heldGates, hold: ['e'] })],
    });
    await second.rt.engine.fork('wf-src', { checkpoint: firstCheckpoint!.seq, workflowId: 'wf-f' });
    await heldGates.arrived('e');
    await second.rt.engine.flushed();
    await second.rt.close();

    const thirdRuns: Run[] = [];
    const third = await durableRuntime(dataDir, { agents: [worker(thirdRuns)] });
    expect((await third.rt.engine.interrupted()).map((r) => r.workflowId)).toEqual(['wf-f']);
    const result = await third.rt.engine.resumeFromCheckpoint('wf-f');
    expect(result?.status).toBe('completed');
    expect(thirdRuns.map((r) => r.key)).toEqual(['wf-f:e']);
    expect(secondRuns.map((r) => r.key)).toEqual(['wf-f:c', 'wf-f:d', 'wf-f:e']);
  });
});

describe('automatic checkpoint interval', () => {
  /** Seqs and reasons of the checkpoints of a 300-task chain whose tasks each carry `inputChars` characters of input. */
  async function checkpointsOf(inputChars: number) {
    const { rt } = await durableRuntime(await scratchDir(), {
      agents: [defineAgent({ role: 'worker', run: async () => ({ ok: true }) })],
    });
    const definition = chain(
      'wide',
      Array.from({ length: 300 }, (_, i) => `t${i}`),
    );
    const tasks = definition.tasks.map((task) => ({
      ...task,
      input: { text: 'x'.repeat(inputChars) },
    }));
    const handle = await rt.engine.start({ ...definition, tasks }, { workflowId: 'wf-auto' });
    expect((await handle.result).status).toBe('completed');
    return (await rt.engine.history('wf-auto')).map((c) => [c.reason, c.seq] as const);
  }

  it('places the first checkpoint by the size of the definition: not after 100 tasks of a large one', async () => {
    // 300 tasks of ~100 bytes of definition each: the state is small, so the
    // first checkpoint comes at the minimum of 100 completions.
    const small = await checkpointsOf(0);
    expect(small[0]).toEqual(['interval', 101]);
    expect(small.at(-1)?.[0]).toBe('end');
    // ~1 KB of input per task: 300 KB of definition, which the state holds.
    // The journal of 300 completions (~55 KB) is far from half of it, so the
    // only checkpoint is the end (before, the whole state was written after
    // 100 completions, however large).
    const large = await checkpointsOf(1_000);
    expect(large.map(([reason]) => reason)).toEqual(['end']);
  }, 60_000);

  it("places a fork's first checkpoint by the size of the state it was forked with", async () => {
    const { rt } = await durableRuntime(await scratchDir(), {
      agents: [defineAgent({ role: 'worker', run: async () => ({ ok: true }) })],
    });
    // 300 KB of shared context, which every checkpoint holds (a compact one
    // leaves out the definition, so large inputs would not make it large);
    // the original checkpoints after 100 completions.
    const definition = chain(
      'wide',
      Array.from({ length: 300 }, (_, i) => `t${i}`),
    );
    const original = await rt.engine.start(definition, {
      workflowId: 'wf-big',
      checkpointInterval: 100,
      context: { notes: 'x'.repeat(300_000) },
    });
    await original.result;
    const first = (await rt.engine.history('wf-big'))[0]!;
    expect(first).toMatchObject({ reason: 'interval', completedTasks: 100 });
    // The fork (automatic interval) journals 200 completions, far from half
    // its state: it writes no checkpoint but its end.
    const fork = await rt.engine.fork('wf-big', { checkpoint: first.seq, workflowId: 'wf-fork' });
    expect((await fork.result).status).toBe('completed');
    const reasons = (await rt.engine.history('wf-fork')).map((c) => c.reason);
    expect(reasons).toEqual(['fork', 'end']);
  }, 60_000);
});
