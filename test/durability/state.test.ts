/**
 * ORCH-010 state tracking (getState, list, interrupted runs, paused runs
 * across a restart, autoResume) and ORCH-011 progress tracking.
 */
import { describe, expect, it } from 'vitest';
import {
  defineAgent,
  EventType,
  type WorkflowHandle,
  type WorkflowResult,
} from '../../src/index.js';
import {
  chain,
  durableRuntime,
  flush,
  Gates,
  nextEvent,
  recordEvents,
  scratchDir,
  useScratch,
} from './helpers.js';

useScratch();

function worker(ran: string[], gates?: Gates, hold: string[] = []) {
  return defineAgent({
    role: 'worker',
    concurrency: 10,
    run: async (task, ctx) => {
      ran.push(`${ctx.idempotencyKey}#${ctx.attempt}`);
      if (hold.includes(task.id)) await gates?.wait(task.id);
      return `${task.id} done`;
    },
  });
}

const statuses = (state: WorkflowResult | undefined) =>
  Object.fromEntries(Object.entries(state?.tasks ?? {}).map(([id, t]) => [id, t.status]));

const ids = (records: { workflowId: string }[]) => records.map((r) => r.workflowId);

describe('ORCH-010 state tracking', () => {
  it('ORCH-010 getState and list follow a run while it runs, pauses, resumes and ends', async () => {
    const gates = new Gates();
    const { rt } = await durableRuntime(await scratchDir(), {
      agents: [worker([], gates, ['b'])],
    });
    const handle = await rt.engine.start(chain('tracked', ['a', 'b', 'c']), { workflowId: 'wf-t' });
    await gates.arrived('b');

    const running = await rt.engine.getState('wf-t');
    expect(running?.status).toBe('running');
    expect(running?.success).toBe(false);
    expect(statuses(running)).toEqual({ a: 'completed', b: 'running', c: 'pending' });
    expect(running?.tasks.a?.output).toBe('a done');
    expect(ids(await rt.engine.list({ status: 'running' }))).toEqual(['wf-t']);
    // Live here, so not interrupted.
    expect(await rt.engine.interrupted()).toEqual([]);
    expect(rt.engine.liveRuns()).toEqual(['wf-t']);

    rt.engine.pause('wf-t');
    const paused = await rt.engine.getState('wf-t');
    expect(paused?.status).toBe('paused');
    await rt.engine.flushed();
    expect(ids(await rt.engine.list({ status: 'paused' }))).toEqual(['wf-t']);
    expect(await rt.engine.list({ status: 'running' })).toEqual([]);

    // The in-flight task finishes while paused; nothing new starts.
    gates.open('b');
    await nextEvent(rt, (e) => e.type === 'task.completed' && e.taskId === 'b');
    await flush();
    expect(statuses(await rt.engine.getState('wf-t'))).toEqual({
      a: 'completed',
      b: 'completed',
      c: 'pending',
    });

    rt.engine.resume('wf-t');
    expect((await rt.engine.getState('wf-t'))?.status).toBe('running');
    const result = await handle.result;
    expect(result.status).toBe('completed');
    expect(await rt.engine.getState('wf-t')).toEqual(result);
    expect(ids(await rt.engine.list({ status: 'completed' }))).toEqual(['wf-t']);
    expect(await rt.engine.getState('wf-none')).toBeUndefined();
  });

  it('ORCH-010 a paused run stays paused across a restart until resumed', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const firstRan: string[] = [];
    const first = await durableRuntime(dataDir, { agents: [worker(firstRan, gates, ['b'])] });
    await first.rt.engine.start(chain('paused', ['a', 'b', 'c']), { workflowId: 'wf-p' });
    await gates.arrived('b');
    first.rt.engine.pause('wf-p');
    await first.rt.engine.flushed();
    await first.rt.close();

    const secondRan: string[] = [];
    const second = await durableRuntime(dataDir, { agents: [worker(secondRan)] });
    expect(ids(await second.rt.engine.list({ status: 'paused' }))).toEqual(['wf-p']);
    expect(ids(await second.rt.engine.interrupted())).toEqual(['wf-p']);

    const events = recordEvents(second.rt);
    const handle = await second.rt.engine.recover('wf-p');
    await second.rt.engine.flushed();
    await flush();
    expect((await second.rt.engine.getState('wf-p'))?.status).toBe('paused');
    expect(events[0]).toMatchObject({
      type: EventType.WORKFLOW_RESTORED,
      state: 'paused',
      requeued: ['b'],
    });
    // Paused: the task that was in flight waits for the resume.
    expect(secondRan).toEqual([]);
    expect(ids(await second.rt.engine.list({ status: 'paused' }))).toEqual(['wf-p']);

    second.rt.engine.resume('wf-p');
    const result = await handle!.result;
    expect(result.status).toBe('completed');
    expect(secondRan).toEqual(['wf-p:b#1', 'wf-p:c#1']);
    expect(firstRan).toEqual(['wf-p:a#1', 'wf-p:b#1']);
  });

  it('ORCH-010 autoResume: true resumes interrupted runs when the runtime starts', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const first = await durableRuntime(dataDir, { agents: [worker([], gates, ['b', 'y'])] });
    await first.rt.engine.start(chain('auto', ['a', 'b', 'c']), { workflowId: 'wf-auto' });
    await first.rt.engine.start(chain('auto-paused', ['x', 'y']), { workflowId: 'wf-auto-p' });
    await gates.arrived('b', 'y');
    first.rt.engine.pause('wf-auto-p');
    await first.rt.engine.flushed();
    await first.rt.close();

    const held = new Gates();
    const ran: string[] = [];
    const second = await durableRuntime(dataDir, {
      autoResume: true,
      agents: [worker(ran, held, ['b'])],
    });
    expect(second.rt.engine.liveRuns().sort()).toEqual(['wf-auto', 'wf-auto-p']);
    expect(await second.rt.engine.interrupted()).toEqual([]);
    await held.arrived('b');
    expect((await second.rt.engine.getState('wf-auto'))?.status).toBe('running');
    expect((await second.rt.engine.getState('wf-auto-p'))?.status).toBe('paused');

    const handle = await second.rt.engine.recover('wf-auto');
    held.open('b');
    expect((await handle!.result).status).toBe('completed');
    expect(ran).toEqual(['wf-auto:b#1', 'wf-auto:c#1']);
    second.rt.engine.resume('wf-auto-p');
    expect((await second.rt.engine.resumeFromCheckpoint('wf-auto-p'))?.status).toBe('completed');
  });

  it('ORCH-010 a run that has just ended is never listed as interrupted nor resumed again', async () => {
    const ran: string[] = [];
    const { rt } = await durableRuntime(false, { agents: [worker(ran)] });
    const seen: { interrupted: Promise<string[]>; recovered: Promise<unknown> }[] = [];
    // Called the moment the run ends, before its result is stored.
    rt.actor.on('workflow.ended', ({ workflowId }) => {
      // Once: a bug that starts the run again must fail this test, not loop.
      if (seen.length > 0) return;
      seen.push({
        interrupted: rt.engine.interrupted().then(ids),
        recovered: rt.engine.recover(workflowId).then((h) => h?.result),
      });
    });
    const result = await rt.engine.execute(chain('ends', ['a']), { workflowId: 'wf-end' });
    await rt.engine.flushed();
    expect(seen).toHaveLength(1);
    expect(await seen[0]!.interrupted).toEqual([]);
    expect(await seen[0]!.recovered).toEqual(result);
    expect(ran).toEqual(['wf-end:a#1']);
  });
});

describe('concurrent calls on one run', () => {
  it('two concurrent recoveries of one run share it; two concurrent starts with one id: one fails, the runtime lives on', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const first = await durableRuntime(dataDir, { agents: [worker([], gates, ['b'])] });
    await first.rt.engine.start(chain('twice', ['a', 'b', 'c']), { workflowId: 'wf-twice' });
    await gates.arrived('b');
    await first.rt.engine.flushed();
    await first.rt.close();

    const ran: string[] = [];
    const { rt } = await durableRuntime(dataDir, { agents: [worker(ran)] });
    const [one, two] = await Promise.all([
      rt.engine.recover('wf-twice'),
      rt.engine.recover('wf-twice'),
    ]);
    const results = await Promise.all([one!.result, two!.result]);
    expect(results.map((r) => r.status)).toEqual(['completed', 'completed']);
    expect(ran).toEqual(['wf-twice:b#1', 'wf-twice:c#1']);

    const starts = await Promise.allSettled([
      rt.engine.start(chain('same', ['a']), { workflowId: 'wf-same' }),
      rt.engine.start(chain('same', ['a']), { workflowId: 'wf-same' }),
    ]);
    expect(starts.map((s) => s.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(starts.find((s) => s.status === 'rejected')).toMatchObject({
      reason: { code: 'INVALID_INPUT' },
    });
    const started = starts.find((s) => s.status === 'fulfilled');
    expect((await (started as PromiseFulfilledResult<WorkflowHandle>).value.result).status).toBe(
      'completed',
    );
    // The runtime still works.
    expect((await rt.engine.execute(chain('after', ['a'])))?.status).toBe('completed');
  });
});

describe('ORCH-011 progress tracking', () => {
  it('ORCH-011 progress events and getState progress fields follow a running task', async () => {
    const gates = new Gates();
    const { rt } = await durableRuntime(await scratchDir(), {
      agents: [
        worker([]),
        defineAgent({
          role: 'reporter',
          run: async (_task, ctx) => {
            ctx.progress(0.25, 'reading');
            await gates.wait('half');
            ctx.progress(0.75, 'writing');
            await gates.wait('end');
            ctx.progress(7); // clamped to 1
            return 'reported';
          },
        }),
      ],
    });
    const progress = recordEvents(rt);
    const handle = await rt.engine.start(
      {
        name: 'progress',
        tasks: [
          { id: 'a', agent: 'worker' },
          { id: 'p', agent: 'reporter', dependsOn: ['a'] },
          { id: 'z', agent: 'worker', dependsOn: ['p'] },
        ],
      },
      { workflowId: 'wf-progress' },
    );
    await gates.arrived('half');
    await flush();
    let state = await rt.engine.getState('wf-progress');
    expect(state?.tasks.p).toMatchObject({
      status: 'running',
      progress: 0.25,
      progressMessage: 'reading',
    });
    expect(state?.tasks.a).toMatchObject({ status: 'completed', progress: 1 });
    expect(state?.tasks.z?.progress).toBeUndefined();

    gates.open('half');
    await gates.arrived('end');
    await flush();
    state = await rt.engine.getState('wf-progress');
    expect(state?.tasks.p).toMatchObject({ progress: 0.75, progressMessage: 'writing' });
    const done = Object.values(state!.tasks).filter((t) => t.status === 'completed').length;
    expect(done / Object.keys(state!.tasks).length).toBeCloseTo(1 / 3);

    gates.open('end');
    const result = await handle.result;
    expect(result.tasks.p).toMatchObject({ status: 'completed', progress: 1 });
    expect(
      progress
        .filter((e) => e.type === EventType.TASK_PROGRESS)
        .map((e) => (e.type === 'task.progress' ? [e.taskId, e.progress, e.message] : [])),
    ).toEqual([
      ['p', 0.25, 'reading'],
      ['p', 0.75, 'writing'],
      ['p', 1, undefined],
    ]);
  });
});
