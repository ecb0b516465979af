/**
 * The stored form of a checkpoint: compact (no definition, task index,
 * reverse edges or untouched tasks, which the run record and the definition
 * give back), and the whole-context form written before it, which must still
 * recover. Runs are interrupted by closing their runtime while a task is held.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent, type WorkflowDefinitionInput } from '../../src/index.js';
import type { WorkflowContext } from '../../src/machines/workflow/context.js';
import { createWorkflowMachine } from '../../src/machines/workflow/workflow.machine.js';
import { type CheckpointRecord, checkpointOp } from '../../src/runtime/durability/records.js';
import {
  loadCheckpoint,
  readableCheckpoint,
  readRunRecord,
} from '../../src/runtime/durability/recovery.js';
import type { RunRecord } from '../../src/schemas/run-record.js';
import { workflowSeqKey } from '../../src/store/keys.js';
import type { Store } from '../../src/store/store.js';
import { durableRuntime, Gates, readRun, scratchDir, useScratch } from './helpers.js';

useScratch();

/**
 * a -> b -> c -> d, and e after a. Task a adds x (after a) and y (after x);
 * b is held at its gate, so the run is interrupted with a, e and x done, b in
 * flight, c, d and y untouched.
 */
const definition: WorkflowDefinitionInput = {
  name: 'compact',
  tasks: [
    { id: 'a', agent: 'worker' },
    { id: 'b', agent: 'worker', dependsOn: ['a'] },
    { id: 'c', agent: 'worker', dependsOn: ['b'] },
    { id: 'd', agent: 'worker', dependsOn: ['c'] },
    { id: 'e', agent: 'worker', dependsOn: ['a'] },
  ],
};

function worker(ran: string[], gates?: Gates) {
  return defineAgent({
    role: 'worker',
    concurrency: 10,
    run: async (task, ctx) => {
      ran.push(task.id);
      if (task.id === 'a') {
        ctx.addTasks([
          { id: 'x', agent: 'worker', dependsOn: ['a'] },
          { id: 'y', agent: 'worker', dependsOn: ['x', 'b'] },
        ]);
      }
      if (task.id === 'b' && gates) await gates.wait('b');
      return { done: task.id };
    },
  });
}

/** Runs the workflow until b is held with a, e and x done; returns the closed runtime's folder. */
async function interrupted(): Promise<string> {
  const dataDir = await scratchDir();
  const gates = new Gates();
  const { rt } = await durableRuntime(dataDir, { agents: [worker([], gates)] });
  const done = new Set<string>();
  const settled = new Promise<void>((resolve) => {
    rt.engine.on('task.completed', (e) => {
      done.add(e.taskId);
      if (['a', 'e', 'x'].every((id) => done.has(id))) resolve();
    });
  });
  await rt.engine.start(definition, { workflowId: 'wf', checkpointInterval: 1 });
  await Promise.all([gates.arrived('b'), settled]);
  await rt.engine.flushed();
  await rt.close();
  return dataDir;
}

const logic = createWorkflowMachine({ guards: new Map(), roles: () => new Set(['worker']) });

/** The context a run's newest checkpoint recovers to, with the record it was read with. */
async function recoveredContext(
  store: Store,
  workflowId: string,
): Promise<{ context: WorkflowContext; value: string; seq: number; record: RunRecord }> {
  const record = (await readRunRecord(store, workflowId))!;
  const loaded = await loadCheckpoint(store, logic, record);
  return {
    context: loaded.snapshot.context as WorkflowContext,
    value: String(loaded.snapshot.value),
    seq: loaded.seq,
    record,
  };
}

/** A recovered state written in both forms: whole (as before compact checkpoints) and compact. */
function bothForms(state: { context: WorkflowContext; value: string; seq: number }) {
  const checkpoint = { ...state, takenAt: 0, reason: 'interval' as const };
  return {
    whole: checkpointOp('wf', checkpoint).record,
    compact: checkpointOp('wf', { ...checkpoint, recordTasks: 5 }).record,
  };
}

/** The whole context a stored checkpoint reads back to. */
function readBack(checkpoint: unknown, record: RunRecord): WorkflowContext {
  return (readableCheckpoint(checkpoint, record) as { context: WorkflowContext }).context;
}

/** Each top-level field as JSON: equal means equal contents in the same key order. */
function fieldsAsJson(context: WorkflowContext): Record<string, string | undefined> {
  return Object.fromEntries(
    Object.keys(context)
      .sort()
      .map((key) => [key, JSON.stringify(context[key as keyof WorkflowContext])]),
  );
}

describe('compact checkpoints', () => {
  it('leave out the definition, task index, reverse edges and untouched tasks; recovery rebuilds the same context, added tasks included', async () => {
    const { rt } = await durableRuntime(await interrupted(), { agents: [worker([])] });
    const stored = await readRun(rt.store, 'wf');
    const newest = stored.snapshots.at(-1)!.checkpoint;
    const raw = JSON.parse(newest.context) as Record<string, unknown>;
    expect(raw).not.toHaveProperty('definition');
    expect(raw).not.toHaveProperty('index');
    expect(raw).not.toHaveProperty('dependents');
    expect(raw.definitionTasks).toEqual({
      fromRecord: 5,
      added: [expect.objectContaining({ id: 'x' }), expect.objectContaining({ id: 'y' })],
    });
    // c, d and y: pending, never attempted, waiting on what is unsettled.
    expect(Object.keys(raw.runs as object).sort()).toEqual(['a', 'b', 'e', 'x']);

    const recovered = await recoveredContext(rt.store, 'wf');
    const { context, record } = recovered;
    expect(record.definition.tasks.map((t) => t.id)).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(context.definition.tasks.map((t) => t.id)).toEqual(['a', 'b', 'c', 'd', 'e', 'x', 'y']);
    expect(context.runs.c).toEqual({ status: 'pending', attempts: 0, waitingOn: 1 });
    expect(context.runs.y).toEqual({ status: 'pending', attempts: 0, waitingOn: 1 });
    expect(context.dependents.a).toEqual(['b', 'e', 'x']);
    expect(context.dependents.b).toEqual(['c', 'y']);

    // The same state written whole (the form before compact checkpoints)
    // recovers to the same fields, in the same order.
    const { whole, compact } = bothForms(recovered);
    expect(JSON.parse(whole.context)).toHaveProperty('definition');
    expect(compact.context.length).toBeLessThan(whole.context.length * 0.6);
    expect(fieldsAsJson(readBack(compact, record))).toEqual(fieldsAsJson(readBack(whole, record)));
  });

  it('keep a pending task whose count of dependencies to wait on is not what they say', async () => {
    const { rt } = await durableRuntime(await interrupted(), { agents: [worker([])] });
    const recovered = await recoveredContext(rt.store, 'wf');
    // As a run that stopped releasing dependents leaves it: c still counts b.
    recovered.context.runs.b!.status = 'completed';
    const { whole, compact } = bothForms(recovered);
    expect(Object.keys(JSON.parse(compact.context).runs)).toContain('c');
    const read = readBack(compact, recovered.record);
    expect(read.runs.c).toEqual({ status: 'pending', attempts: 0, waitingOn: 1 });
    // d waits on c, which is not settled: left out and derived again.
    expect(Object.keys(JSON.parse(compact.context).runs)).not.toContain('d');
    expect(read.runs.d).toEqual({ status: 'pending', attempts: 0, waitingOn: 1 });
    expect(fieldsAsJson(read)).toEqual(fieldsAsJson(readBack(whole, recovered.record)));
  });

  it('resume: the held task and the untouched ones run once, the done ones never; history and fork read them', async () => {
    const dataDir = await interrupted();
    const ran: string[] = [];
    const { rt } = await durableRuntime(dataDir, { keepCheckpoints: 50, agents: [worker(ran)] });
    const result = await rt.engine.resumeFromCheckpoint('wf');
    expect(result?.status).toBe('completed');
    expect(ran.sort()).toEqual(['b', 'c', 'd', 'y']);
    expect(Object.keys(result!.tasks).sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'x', 'y']);

    const history = await rt.engine.history('wf');
    expect(history.at(-1)).toMatchObject({ reason: 'end', completedTasks: 7 });
    // The checkpoint the run resumed from (its replayed tail was too short
    // for a restore checkpoint of its own).
    const resumedFrom = history.find((h) => h.completedTasks === 3)!;
    expect(resumedFrom.reason).toBe('interval');
    ran.length = 0;
    const fork = await rt.engine.fork('wf', { checkpoint: resumedFrom.seq, workflowId: 'wf-fork' });
    expect((await fork.result).status).toBe('completed');
    expect(ran.sort()).toEqual(['b', 'c', 'd', 'y']);
    // The fork's record holds every task it was forked with: none is "added".
    const forkCheckpoint = (await readRun(rt.store, 'wf-fork')).snapshots[0]!.checkpoint;
    expect(JSON.parse(forkCheckpoint.context).definitionTasks).toEqual({
      fromRecord: 7,
      added: [],
    });
  });

  it('task ids that name object members (__proto__, constructor, toString) round-trip', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const ids = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];
    const held = (ran: string[], hold?: Gates) =>
      defineAgent({
        role: 'worker',
        run: async (task) => {
          ran.push(task.id);
          if (task.id === 'constructor' && hold) await hold.wait('constructor');
          return { done: task.id };
        },
      });
    const first = await durableRuntime(dataDir, { agents: [held([], gates)] });
    const tasks = ids.map((id, i) => ({
      id,
      agent: 'worker',
      dependsOn: i === 0 ? [] : [ids[i - 1]!],
    }));
    await first.rt.engine.start(
      { name: 'members', tasks },
      { workflowId: 'wf-members', checkpointInterval: 1 },
    );
    await gates.arrived('constructor');
    await first.rt.engine.flushed();
    const raw = JSON.parse(
      (await readRun(first.rt.store, 'wf-members')).snapshots.at(-1)!.checkpoint.context,
    );
    // toString and hasOwnProperty: untouched, left out.
    expect(Object.keys(raw.runs)).toEqual(['__proto__', 'constructor']);
    await first.rt.close();

    const ran: string[] = [];
    const { rt } = await durableRuntime(dataDir, { agents: [held(ran)] });
    const { context } = await recoveredContext(rt.store, 'wf-members');
    expect(Object.keys(context.runs)).toEqual(ids);
    expect(context.runs.toString).toEqual({ status: 'pending', attempts: 0, waitingOn: 1 });
    expect(context.dependents.constructor).toEqual(['toString']);
    const result = await rt.engine.resumeFromCheckpoint('wf-members');
    expect(result?.status).toBe('completed');
    expect(ran).toEqual(['constructor', 'toString', 'hasOwnProperty']);
  });

  it('a checkpoint whose run record lost its tasks is reported corrupt, naming the run', async () => {
    const { rt } = await durableRuntime(await interrupted(), { agents: [worker([])] });
    const record = (await readRunRecord(rt.store, 'wf'))!;
    await rt.store.batch([
      {
        type: 'put',
        collection: 'workflows',
        key: 'wf',
        value: { ...record, definition: { ...record.definition, tasks: [] } },
      },
    ]);
    await expect(rt.engine.resumeFromCheckpoint('wf')).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      message: expect.stringContaining('takes 5 tasks from the run record, which holds 0'),
    });
  });
});

describe('checkpoints written before they were compact (whole context)', () => {
  /** Rewrites the run's newest checkpoint in the whole-context form, as troupe wrote it before. */
  async function downgradeNewest(store: Store, workflowId: string): Promise<CheckpointRecord> {
    const { context, value, seq } = await recoveredContext(store, workflowId);
    const old = checkpointOp(workflowId, { seq, value, context, takenAt: 1, reason: 'interval' });
    await store.batch([old.op]);
    const stored = await store.get<CheckpointRecord>('snapshots', workflowSeqKey(workflowId, seq));
    return stored!;
  }

  it('recover: the run resumes from one and finishes, nothing done runs again', async () => {
    const dataDir = await interrupted();
    const ran: string[] = [];
    const { rt } = await durableRuntime(dataDir, { agents: [worker(ran)] });
    const old = await downgradeNewest(rt.store, 'wf');
    const whole = JSON.parse(old.context) as WorkflowContext;
    expect(Object.keys(whole)).toEqual(
      expect.arrayContaining(['definition', 'index', 'dependents']),
    );
    expect(Object.keys(whole.runs).sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'x', 'y']);
    expect((await rt.engine.history('wf')).at(-1)?.completedTasks).toBe(3);
    const result = await rt.engine.resumeFromCheckpoint('wf');
    expect(result?.status).toBe('completed');
    expect(ran.sort()).toEqual(['b', 'c', 'd', 'y']);
  });

  it('the inspector view of one is the same as of its compact form', async () => {
    const { rt } = await durableRuntime(await interrupted(), { agents: [worker([])] });
    const record = (await readRunRecord(rt.store, 'wf'))!;
    const { seq } = await recoveredContext(rt.store, 'wf');
    const compact = await rt.store.get<CheckpointRecord>('snapshots', workflowSeqKey('wf', seq));
    const old = await downgradeNewest(rt.store, 'wf');
    const view = (checkpoint: unknown) =>
      fieldsAsJson(
        (readableCheckpoint(checkpoint, record) as { context: WorkflowContext }).context,
      );
    expect(view(compact)).toEqual(view(old));
    // Not a checkpoint, or unreadable: handed back as it is.
    expect(readableCheckpoint(null, record)).toBeNull();
    const damaged = { ...old, context: '{"runs":' };
    expect(readableCheckpoint(damaged, record)).toBe(damaged);
  });
});
