/**
 * The pieces the bridge builds frames from: bounded previews, statecharts
 * from machine definitions, run views, and the queue and communicator
 * panels, which read actors that other modules own (the queue is read from
 * a real TaskQueue here, so a change of its shape shows up in this test).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { assign, createActor, setup } from 'xstate';
import { agentMachine } from '../../src/machines/agent/agent.machine.js';
import { communicatorSummary } from '../../src/runtime/inspector/communicator-view.js';
import { createInspectorServer, type InspectorServer } from '../../src/runtime/inspector/index.js';
import { previewJson, previewText } from '../../src/runtime/inspector/preview.js';
import { queueView } from '../../src/runtime/inspector/queue-view.js';
import { runDetailFromRecord } from '../../src/runtime/inspector/run-view.js';
import { activePaths, statechartOf } from '../../src/runtime/inspector/statechart.js';
import { TaskQueue } from '../../src/runtime/queue/task-queue.js';
import type { RunRecord } from '../../src/schemas/run-record.js';
import { workflowDefinitionSchema } from '../../src/schemas/workflow-definition.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { deferred, TestClient, wsUrl } from './helpers.js';

describe('previews', () => {
  it('stay bounded whatever the input', () => {
    const huge = Object.fromEntries(
      Array.from({ length: 10_000 }, (_, i) => [`k${i}`, { deep: { deeper: { deepest: i } } }]),
    );
    const preview = previewJson({
      huge,
      text: 'x'.repeat(10_000),
      list: Array.from({ length: 1000 }, (_, i) => i),
    });
    const json = JSON.stringify(preview);
    expect(json.length).toBeLessThan(4_000);
    expect(preview).toMatchObject({
      huge: { '…': '9980 more keys' },
      list: expect.arrayContaining(['… 990 more']),
    });
    const cyclic: Record<string, unknown> = { name: 'loop' };
    cyclic.self = cyclic;
    expect(previewJson(cyclic)).toEqual({ name: 'loop', self: '[cycle]' });
    const actor = createActor(agentMachine, { input: { role: 'r', concurrency: 1 } });
    expect(previewJson({ ref: actor, when: new Date(0), map: new Map([[1, 2]]) })).toEqual({
      ref: `[actor ${actor.id}]`,
      when: '1970-01-01T00:00:00.000Z',
      map: '[Map(1)]',
    });
    expect(previewText('<b>'.repeat(500), 20)).toHaveLength(20);
  });
});

describe('statecharts', () => {
  it('come from machine definitions, with key paths and resolved targets', () => {
    const chart = statechartOf(agentMachine)!;
    expect(chart).toMatchObject({
      key: 'agent',
      path: '',
      type: 'compound',
      initial: 'idle',
      invokes: ['executor'],
    });
    expect(chart.children.map((c) => c.path)).toEqual(['idle', 'busy']);
    expect(chart.children[0]!.transitions).toEqual([{ event: 'task.assign', targets: ['busy'] }]);
    expect(chart.children[1]!.transitions).toContainEqual({
      event: 'task.completed',
      targets: ['idle'],
      guard: 'lastRunning',
    });
    expect(statechartOf({ config: () => undefined })).toBeNull();
    expect(activePaths({ a: { b: 'c' }, d: 'e' })).toEqual(['', 'a', 'a.b', 'a.b.c', 'd', 'd.e']);
  });
});

describe('run views', () => {
  it('show a stored run read-only with previews of its outputs', () => {
    const record: RunRecord = {
      workflowId: 'w',
      definition: workflowDefinitionSchema.parse({
        name: 'n',
        tasks: [
          { id: 'a', agent: 'x', description: 'd' },
          { id: 'b', agent: 'x', dependsOn: ['a'] },
        ],
      }),
      status: 'failed',
      createdAt: 1,
      updatedAt: 3,
      result: {
        workflowId: 'w',
        name: 'n',
        status: 'failed',
        success: false,
        tasks: {
          a: {
            taskId: 'a',
            agent: 'x',
            status: 'completed',
            attempts: 1,
            output: 'y'.repeat(5_000),
            startedAt: 1,
            finishedAt: 2,
          },
          b: {
            taskId: 'b',
            agent: 'x',
            status: 'failed',
            attempts: 3,
            error: { name: 'E', message: 'boom' },
          },
        },
        totalExecutionTime: 2,
        startedAt: 1,
        finishedAt: 3,
        context: {},
        error: { name: 'E', message: 'task "b" failed: boom' },
      },
    };
    const detail = runDetailFromRecord(record);
    expect(detail).toMatchObject({ live: false, state: 'failed', error: 'task "b" failed: boom' });
    expect(detail.tasks[0]!.output!.length).toBeLessThanOrEqual(300);
    expect(detail.tasks[1]).toMatchObject({
      status: 'failed',
      attempts: 3,
      error: 'boom',
      dependsOn: ['a'],
    });
  });
});

describe('queue and communicator panels', () => {
  let queue: TaskQueue | undefined;
  let server: InspectorServer | undefined;
  afterEach(async () => {
    await queue?.stop();
    await server?.close();
    queue = undefined;
    server = undefined;
  });

  it('read counts and running jobs from a real task queue', async () => {
    queue = new TaskQueue({ maxWorkers: 2 });
    const gate = deferred();
    const running = deferred();
    await queue.start();
    await queue.enqueue({
      name: 'held',
      handler: async (ctx) => {
        ctx.progress(40, 'halfway');
        running.resolve();
        await gate.promise;
      },
    });
    await running.promise;
    const view = queueView(queue.actor.getSnapshot().context);
    expect(view?.counts.running).toBe(1);
    expect(view?.totals.enqueued).toBe(1);
    expect(view?.running).toEqual([
      expect.objectContaining({ name: 'held', attempt: 1, progress: 40, message: 'halfway' }),
    ]);
    gate.resolve();
    expect(queueView({ nothing: true })).toBeNull();
  });

  it('light up when actors with system ids queue and communicator join a system', async () => {
    const stand = setup({
      types: {
        context: {} as {
          counts: Record<string, number>;
          totals: Record<string, number>;
          jobs: Record<string, unknown>;
        },
        events: {} as { type: 'bump' },
      },
    }).createMachine({
      context: { counts: { queued: 1, running: 0 }, totals: { enqueued: 1 }, jobs: {} },
      on: { bump: { actions: assign({ counts: { queued: 0, running: 1 } }) } },
    });
    const communicator = setup({}).createMachine({
      context: {
        workflows: {
          w1: {
            shared: { version: 3, data: { plan: '<b>x</b>' }, updatedBy: 'planner', updatedAt: 5 },
          },
        },
        stats: { updates: 3 },
      },
    });
    const root = createActor(
      setup({ actors: { stand, communicator } }).createMachine({
        invoke: [
          { src: 'stand', id: 'queue', systemId: 'queue' },
          { src: 'communicator', id: 'communicator', systemId: 'communicator' },
        ],
      }),
    ).start();
    server = await createInspectorServer({
      port: 0,
      runtime: {
        actor: root,
        store: new MemoryStore(),
        engine: {
          on: () => () => undefined,
          pause() {},
          resume() {},
          cancel() {},
          history: async () => [],
          fork: async () => ({ workflowId: 'never' }),
          signal: async () => undefined,
        },
      },
    });
    const client = await TestClient.connect(wsUrl(server.url));
    const system = await client.frame('system');
    expect(system.queue).toMatchObject({ counts: { queued: 1, running: 0 }, running: [] });
    expect(system.actors.find((a) => a.name === 'communicator')?.summary).toMatchObject({
      workflows: { w1: { version: 3, updatedBy: 'planner', data: { plan: '<b>x</b>' } } },
    });
    root.system.get('queue')?.send({ type: 'bump' });
    const update = await client.frame('queue', (f) => f.queue?.counts.running === 1);
    expect(update.queue?.counts.queued).toBe(0);
    expect(communicatorSummary(undefined)).toBeNull();
    client.close();
    root.stop();
  });
});
