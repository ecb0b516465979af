/**
 * What a task costs in the journal: one entry, its completion, which carries
 * the attempt's `startedAt` and leaves out the run's id (the key holds it).
 * Journals written before (a `task.started` entry per attempt, the run's id
 * in every report) still replay.
 */
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  type AgentDefinition,
  defineAgent,
  type EngineEvent,
  LevelStore,
} from '../../src/index.js';
import { workflowSeqKey } from '../../src/store/keys.js';
import {
  chain,
  durableRuntime,
  Gates,
  readRun,
  recordEvents,
  scratchDir,
  useScratch,
} from './helpers.js';

useScratch();

function worker(runs: string[], gates: Gates, hold: string[]): AgentDefinition {
  return defineAgent({
    role: 'worker',
    run: async (task, ctx) => {
      runs.push(`${task.id}#${ctx.attempt}`);
      if (hold.includes(task.id)) await gates.wait(task.id);
      return { task: task.id };
    },
  });
}

/** Runs a -> b -> c until b is running, then closes the runtime: b is in flight. */
async function interruptedAtB(dataDir: string) {
  const gates = new Gates();
  const runs: string[] = [];
  const { rt } = await durableRuntime(dataDir, { agents: [worker(runs, gates, ['b'])] });
  const events = recordEvents(rt);
  const handle = await rt.engine.start(chain('abc', ['a', 'b', 'c']), { workflowId: 'wf-abc' });
  await gates.arrived('b');
  await rt.engine.flushed();
  await rt.close();
  await expect(handle.result).rejects.toMatchObject({ code: 'RUNTIME_CLOSED' });
  return { runs, events };
}

describe('journal format', () => {
  it('a task is one journal entry: its completion, with startedAt and without the run id; listeners still hear task.started', async () => {
    const dataDir = await scratchDir();
    const { events } = await interruptedAtB(dataDir);
    expect(
      events
        .filter((e) => e.type === 'task.started' || e.type === 'task.completed')
        .map((e) => `${e.type}:${'taskId' in e ? e.taskId : ''}`),
    ).toEqual(['task.started:a', 'task.completed:a', 'task.started:b']);
    const startedA = events.find(
      (e): e is Extract<EngineEvent, { type: 'task.started' }> =>
        e.type === 'task.started' && e.taskId === 'a',
    );

    const store = await LevelStore.open(dataDir);
    try {
      const stored = await readRun(store, 'wf-abc');
      // workflow.run, then a's completion; b's start is no entry.
      expect(stored.journal.map((j) => j.entry.event.type)).toEqual([
        'workflow.run',
        'task.completed',
      ]);
      const raw = await store.get<{ seq: number; event: string; crc: number }>(
        'journal',
        workflowSeqKey('wf-abc', 2),
      );
      expect(raw!.event).not.toContain('wf-abc');
      expect(JSON.parse(raw!.event)).toMatchObject({
        type: 'task.completed',
        taskId: 'a',
        startedAt: startedA!.at,
      });
      expect(JSON.stringify(raw).length).toBeLessThanOrEqual(200);
      // Read back, the report names its run again.
      expect(stored.journal[1]!.entry.event).toMatchObject({ workflowId: 'wf-abc', taskId: 'a' });
    } finally {
      await store.close();
    }
  });

  it('a journal in the format before (task.started entries, the run id in each report) replays: done work is not redone, start times are kept', async () => {
    const dataDir = await scratchDir();
    const { runs } = await interruptedAtB(dataDir);
    expect(runs).toEqual(['a#1', 'b#1']);

    // Rewrite the run's journal as the previous format stored it.
    const store = await LevelStore.open(dataDir);
    const aStartedAt = 1_000;
    const bStartedAt = 3_000;
    try {
      const stored = await readRun(store, 'wf-abc');
      const [run, completed] = stored.journal.map((j) => j.entry.event);
      expect(completed?.type).toBe('task.completed');
      const old = [
        run,
        { type: 'task.started', workflowId: 'wf-abc', taskId: 'a', attempt: 1, at: aStartedAt },
        {
          type: 'task.completed',
          workflowId: 'wf-abc',
          taskId: 'a',
          attempt: 1,
          at: 2_000,
          output: { task: 'a' },
        },
        { type: 'task.started', workflowId: 'wf-abc', taskId: 'b', attempt: 1, at: bStartedAt },
      ];
      await store.batch([
        ...stored.journal.map(({ seq }) => ({
          type: 'del' as const,
          collection: 'journal' as const,
          key: workflowSeqKey('wf-abc', seq),
        })),
        ...old.map((event, i) => {
          const json = JSON.stringify(event);
          return {
            type: 'put' as const,
            collection: 'journal' as const,
            key: workflowSeqKey('wf-abc', i + 1),
            value: { seq: i + 1, event: json, crc: crc32(json) },
          };
        }),
      ]);
    } finally {
      await store.close();
    }

    const again: string[] = [];
    const { rt } = await durableRuntime(dataDir, { agents: [worker(again, new Gates(), [])] });
    const state = await rt.engine.getState('wf-abc');
    expect(state?.tasks.a).toMatchObject({ status: 'completed', startedAt: aStartedAt });
    const result = await rt.engine.resumeFromCheckpoint('wf-abc');
    expect(result?.status).toBe('completed');
    // a was done; b was in flight (its old start entry replayed) and runs again as the same attempt.
    expect(again).toEqual(['b#1', 'c#1']);
    expect(result?.tasks.a).toMatchObject({ output: { task: 'a' }, startedAt: aStartedAt });
    expect(result?.tasks.b).toMatchObject({
      status: 'completed',
      attempts: 1,
      startedAt: bStartedAt,
    });
  });
});
