import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime } from '../../src/index.js';
import { agent, flush, Gates, Timeline } from './helpers.js';

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

describe('ORCH-003 sequential execution', () => {
  it('ORCH-003 runs a dependency chain in order and hands each output to its dependent', async () => {
    const timeline = new Timeline();
    const seen: Record<string, unknown> = {};
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('step', async (task, ctx) => {
          timeline.start(task.id);
          seen[task.id] = ctx.dependencies;
          // Yield, so a task started too early would interleave visibly.
          await flush(1);
          timeline.end(task.id);
          return { from: task.id, n: Number(task.input.n) };
        }),
      ],
    });
    const result = await rt.engine.execute({
      name: 'chain',
      tasks: [
        { id: 'c', agent: 'step', input: { n: 3 }, dependsOn: ['b'] },
        { id: 'a', agent: 'step', input: { n: 1 } },
        { id: 'b', agent: 'step', input: { n: 2 }, dependsOn: ['a'] },
      ],
    });

    expect(result.status).toBe('completed');
    expect(result.success).toBe(true);
    expect(timeline.entries).toEqual(['start:a', 'end:a', 'start:b', 'end:b', 'start:c', 'end:c']);
    // Only direct dependencies, by task id.
    expect(seen).toEqual({ a: {}, b: { a: { from: 'a', n: 1 } }, c: { b: { from: 'b', n: 2 } } });
    const { a, b, c } = result.tasks;
    expect(a!.finishedAt!).toBeLessThanOrEqual(b!.startedAt!);
    expect(b!.finishedAt!).toBeLessThanOrEqual(c!.startedAt!);
    for (const task of [a, b, c]) {
      expect(task).toMatchObject({ status: 'completed', attempts: 1, agent: 'step' });
    }
    expect(result.tasks.c!.output).toEqual({ from: 'c', n: 3 });
    expect(result.totalExecutionTime).toBe(result.finishedAt - result.startedAt);
  });

  it('ORCH-003 with maxConcurrency 1 runs independent tasks one at a time in definition order', async () => {
    const gates = new Gates();
    rt = await createRuntime({
      dataDir: false,
      agents: [agent('step', (task) => gates.wait(task.id))],
    });
    const handle = await rt.engine.start({
      name: 'one-at-a-time',
      maxConcurrency: 1,
      tasks: ['x', 'y', 'z'].map((id) => ({ id, agent: 'step' })),
    });
    for (const id of ['x', 'y', 'z']) {
      await gates.arrived(id);
      await flush();
      expect(gates.order.at(-1)).toBe(id); // nothing else started meanwhile
      gates.open(id, `${id}!`);
    }
    const result = await handle.result;
    expect(gates.order).toEqual(['x', 'y', 'z']);
    expect(result.tasks.z!.output).toBe('z!');
  });
});

describe('ORCH-004 parallel execution', () => {
  it('ORCH-004 overlaps independent tasks and never exceeds the workflow maxConcurrency', async () => {
    const gates = new Gates();
    let tick = 0;
    let live = 0;
    let peak = 0;
    const intervals: Record<string, { start: number; end: number }> = {};
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('worker', async (task) => {
          live++;
          peak = Math.max(peak, live);
          const start = tick++;
          await gates.wait(task.id);
          intervals[task.id] = { start, end: tick++ };
          live--;
          return task.id;
        }),
      ],
    });
    const ids = ['t1', 't2', 't3', 't4', 't5', 't6'];
    const handle = await rt.engine.start({
      name: 'fan-out',
      maxConcurrency: 3,
      tasks: ids.map((id) => ({ id, agent: 'worker' })),
    });

    await gates.arrived('t1', 't2', 't3');
    await flush();
    // Three run at once and hold; the rest wait in the workflow, not in the agent.
    expect(gates.order).toEqual(['t1', 't2', 't3']);
    expect(live).toBe(3);
    const state = await rt.engine.getState(handle.workflowId);
    expect(state!.status).toBe('running');
    expect(ids.map((id) => state!.tasks[id]!.status)).toEqual([
      'running',
      'running',
      'running',
      'pending',
      'pending',
      'pending',
    ]);

    gates.open('t2');
    await gates.arrived('t4');
    await flush();
    expect(gates.order).toEqual(['t1', 't2', 't3', 't4']);
    expect(live).toBe(3);

    gates.open('t1');
    gates.open('t3');
    await gates.arrived('t5', 't6');
    for (const id of ['t4', 't5', 't6']) gates.open(id);
    const result = await handle.result;

    expect(result.status).toBe('completed');
    expect(peak).toBe(3);
    // Real overlap: each of the first three started before any of them ended.
    const first = ['t1', 't2', 't3'].map((id) => intervals[id]!);
    expect(Math.max(...first.map((i) => i.start))).toBeLessThan(
      Math.min(...first.map((i) => i.end)),
    );
    // And t4 overlapped the still-held t1 and t3.
    expect(intervals.t4!.start).toBeLessThan(intervals.t1!.end);
  });

  it("ORCH-004 holds an agent's own concurrency limit: the rest queue in its mailbox, first in first out", async () => {
    const gates = new Gates();
    let live = 0;
    let peak = 0;
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent(
          'solo',
          async (task) => {
            live++;
            peak = Math.max(peak, live);
            await gates.wait(task.id);
            live--;
            return task.id;
          },
          { concurrency: 2 },
        ),
      ],
    });
    const ids = ['s1', 's2', 's3', 's4', 's5'];
    const handle = await rt.engine.start({
      name: 'one-agent',
      maxConcurrency: 10,
      tasks: ids.map((id) => ({ id, agent: 'solo' })),
    });
    await gates.arrived('s1', 's2');
    await flush();
    const soloRef = rt.actor.system.get('agent:solo')!;
    const busy = soloRef.getSnapshot();
    expect(busy.value).toBe('busy');
    expect(busy.context.running).toBe(2);
    const mailbox = busy.context.mailbox as { items: { taskId: string }[]; head: number };
    expect(mailbox.items.slice(mailbox.head).map((a) => a.taskId)).toEqual(['s3', 's4', 's5']);
    expect(gates.order).toEqual(['s1', 's2']);

    gates.open('s2');
    await gates.arrived('s3');
    await flush();
    expect(gates.order).toEqual(['s1', 's2', 's3']);
    for (const id of ['s1', 's3']) gates.open(id);
    await gates.arrived('s4', 's5');
    for (const id of ['s4', 's5']) gates.open(id);
    const result = await handle.result;

    expect(result.status).toBe('completed');
    expect(peak).toBe(2);
    expect(gates.order).toEqual(ids);
    const idle = soloRef.getSnapshot();
    expect(idle.value).toBe('idle');
    expect(idle.context).toMatchObject({ running: 0, finished: 5 });
  });
});

describe('ORCH-006 context management', () => {
  it('ORCH-006 shows the initial context in ctx.shared and merges updates for downstream tasks and the result', async () => {
    const shared: Record<string, unknown> = {};
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('elasticsearch', (task, ctx) => {
          shared[task.id] = structuredClone(ctx.shared);
          ctx.updateShared({ schema: { index: ctx.shared.index, fields: ['title'] } });
          ctx.updateShared({ mappingVersion: 2 });
          return 'mapped';
        }),
        agent('backend', (task, ctx) => {
          shared[task.id] = structuredClone(ctx.shared);
          ctx.updateShared({ endpoint: '/api/search', mappingVersion: 3 });
          return 'served';
        }),
      ],
    });
    const initial = { project: 'Planning Explorer', index: 'planning_applications' };
    const result = await rt.orchestrator.executeWorkflow(
      {
        name: 'context',
        description: '',
        formatVersion: 1,
        maxConcurrency: 8,
        defaults: {},
        metadata: {},
        tasks: [
          {
            id: 'es',
            agent: 'elasticsearch',
            description: '',
            input: {},
            dependsOn: [],
          },
          { id: 'api', agent: 'backend', description: '', input: {}, dependsOn: ['es'] },
        ],
      },
      initial,
    );

    expect(result.status).toBe('completed');
    expect(shared.es).toEqual(initial);
    expect(shared.api).toEqual({
      ...initial,
      schema: { index: 'planning_applications', fields: ['title'] },
      mappingVersion: 2,
    });
    expect(result.context).toEqual({
      ...initial,
      schema: { index: 'planning_applications', fields: ['title'] },
      mappingVersion: 3,
      endpoint: '/api/search',
    });
    // The caller's object is not the run's context.
    expect(initial).toEqual({ project: 'Planning Explorer', index: 'planning_applications' });
  });

  it('ORCH-006 applies updates only from the attempt that completes', async () => {
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('flaky', (_task, ctx) => {
          ctx.updateShared({ [`attempt${ctx.attempt}`]: true });
          if (ctx.attempt === 1) throw new Error('first attempt fails');
          return 'ok';
        }),
      ],
    });
    const result = await rt.engine.execute(
      {
        name: 'discard',
        tasks: [{ id: 'f', agent: 'flaky', retry: { maxAttempts: 2, initialDelayMs: 0 } }],
      },
      { context: { base: 1 } },
    );
    expect(result.status).toBe('completed');
    expect(result.context).toEqual({ base: 1, attempt2: true });
  });

  it('ORCH-006 gives a task the shared context as it was when the task was dispatched', async () => {
    const gates = new Gates();
    const seenLater: unknown[] = [];
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('writer', (_task, ctx) => {
          ctx.updateShared({ written: true });
          return 'w';
        }),
        agent('reader', async (_task, ctx) => {
          await gates.wait('reader');
          seenLater.push({ ...ctx.shared });
          return 'r';
        }),
      ],
    });
    const handle = await rt.engine.start(
      {
        name: 'snapshot-at-dispatch',
        tasks: [
          { id: 'read', agent: 'reader' },
          { id: 'hold', agent: 'reader', dependsOn: ['read'] },
          { id: 'write', agent: 'writer', dependsOn: [] },
        ],
      },
      { context: { base: 1 } },
    );
    await gates.arrived('reader');
    await flush(); // `write` completes meanwhile and merges its update
    expect((await rt.engine.getState(handle.workflowId))!.context).toEqual({
      base: 1,
      written: true,
    });
    gates.open('reader');
    const result = await handle.result;
    expect(result.status).toBe('completed');
    // `read` was dispatched before `write` completed: it must not see the update.
    expect(seenLater[0]).toEqual({ base: 1 });
    // `hold` was dispatched after: it does.
    expect(seenLater[1]).toEqual({ base: 1, written: true });
  });
});

describe('DAG shapes', () => {
  it('runs a diamond: a, then b and c together, then d with both outputs', async () => {
    const gates = new Gates();
    const runs: string[] = [];
    let dependenciesOfD: unknown;
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('node', async (task, ctx) => {
          runs.push(task.id);
          if (task.id === 'b' || task.id === 'c') await gates.wait(task.id);
          if (task.id === 'd') dependenciesOfD = ctx.dependencies;
          return { id: task.id, upstream: Object.keys(ctx.dependencies) };
        }),
      ],
    });
    const handle = await rt.engine.start({
      name: 'diamond',
      tasks: [
        { id: 'd', agent: 'node', dependsOn: ['b', 'c'] },
        { id: 'b', agent: 'node', dependsOn: ['a'] },
        { id: 'c', agent: 'node', dependsOn: ['a'] },
        { id: 'a', agent: 'node' },
      ],
    });
    // b and c are both running at once; d waits for both.
    await gates.arrived('b', 'c');
    gates.open('c');
    await flush();
    expect(runs).toEqual(['a', 'b', 'c']);
    gates.open('b');
    const result = await handle.result;

    expect(result.status).toBe('completed');
    expect(runs).toEqual(['a', 'b', 'c', 'd']);
    expect(dependenciesOfD).toEqual({
      b: { id: 'b', upstream: ['a'] },
      c: { id: 'c', upstream: ['a'] },
    });
    expect(Object.values(result.tasks).map((t) => t.attempts)).toEqual([1, 1, 1, 1]);
  });
});
