import { afterEach, describe, expect, it } from 'vitest';
import { defineAgent, type Runtime, TroupeError } from '../../src/index.js';
import type { AgentMessage } from '../../src/schemas/agent-message.js';
import { expectTroupeError } from '../core/helpers.js';
import { EPOCH, listener, memoryRuntime, settle } from './helpers.js';

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

describe('ORCH-013 context updates', () => {
  it('ORCH-013 merges updates, bumps the version and records who wrote when', async () => {
    let clock: Awaited<ReturnType<typeof memoryRuntime>>['clock'];
    ({ rt, clock } = await memoryRuntime());
    const c = rt.communicator;

    expect(await c.getSharedContext('wf-1')).toEqual({
      version: 0,
      data: {},
      updatedBy: null,
      updatedAt: null,
    });
    const first = await c.updateSharedContext('wf-1', 'elasticsearch', {
      schema: { index: 'planning_applications' },
      shards: 3,
    });
    clock.increment(250);
    const second = await c.updateSharedContext('wf-1', 'backend', {
      endpoint: '/api/search',
      shards: 5,
    });

    expect(first).toEqual({
      version: 1,
      data: { schema: { index: 'planning_applications' }, shards: 3 },
      updatedBy: 'elasticsearch',
      updatedAt: EPOCH,
    });
    expect(second).toEqual({
      version: 2,
      data: { schema: { index: 'planning_applications' }, shards: 5, endpoint: '/api/search' },
      updatedBy: 'backend',
      updatedAt: EPOCH + 250,
    });
    expect(await c.getSharedContext('wf-1')).toEqual(second);
    // Another workflow has its own context.
    expect((await c.getSharedContext('wf-2')).version).toBe(0);
  });

  it('ORCH-013 keeps a bounded history per key', async () => {
    ({ rt } = await memoryRuntime());
    const c = rt.communicator;
    for (let i = 1; i <= 25; i++) {
      await c.updateSharedContext('wf', i % 2 ? 'odd' : 'even', {
        counter: i,
        ...(i === 3 ? { other: 'x' } : {}),
      });
    }

    const counter = await c.getContextHistory('wf', 'counter');
    expect(counter).toHaveLength(20); // the default contextHistoryLimit
    expect(counter[0]).toMatchObject({ version: 6, value: 6, updatedBy: 'even' });
    expect(counter.at(-1)).toMatchObject({ version: 25, value: 25, updatedBy: 'odd', at: EPOCH });
    expect(await c.getContextHistory('wf', 'other')).toEqual([
      { version: 3, value: 'x', updatedBy: 'odd', at: EPOCH },
    ]);
    expect(await c.getContextHistory('wf', 'missing')).toEqual([]);
  });

  it('ORCH-013 hands out copies: changing a result or the input afterwards changes nothing stored', async () => {
    ({ rt } = await memoryRuntime());
    const input = { list: [1, 2] };
    const result = await rt.communicator.updateSharedContext('wf', 'a', { input });
    input.list.push(3);
    result.data.extra = 'mine';
    expect(() => (result.data.input as { list: number[] }).list.push(4)).toThrow(TypeError);
    expect((await rt.communicator.getSharedContext('wf')).data).toEqual({
      input: { list: [1, 2] },
    });
  });

  it('ORCH-013 rejects updates that are not plain JSON objects, naming the problem', async () => {
    ({ rt } = await memoryRuntime());
    const c = rt.communicator;
    const bad = async (updates: unknown, expected: string, code = 'INVALID_VALUE') => {
      const error = await expectTroupeError(
        () => c.updateSharedContext('wf', 'a', updates as Record<string, unknown>),
        code as 'INVALID_VALUE',
      );
      expect(error.message).toContain(expected);
    };
    await bad([1, 2], 'updates: must be a plain object', 'INVALID_INPUT');
    await bad(null, 'updates: must be a plain object', 'INVALID_INPUT');
    await bad({}, 'updates: must have a key', 'INVALID_INPUT');
    await bad({ when: new Map() }, 'updates.when: a Map is not plain JSON');
    await bad({ n: Infinity }, 'updates.n: Infinity is not a JSON number');
    await bad({ big: 10n }, 'updates.big: a bigint is not JSON');
    await expectTroupeError(() => c.updateSharedContext('a/b', 'a', { k: 1 }), 'INVALID_INPUT');
    await expectTroupeError(
      () => c.updateSharedContext('wf', 'a', { k: 1 }, { expectedVersion: -1 }),
      'INVALID_INPUT',
    );
    expect((await c.getSharedContext('wf')).version).toBe(0);
  });

  it('ORCH-013 with expectedVersion: a stale writer gets VERSION_CONFLICT naming both versions', async () => {
    ({ rt } = await memoryRuntime());
    const c = rt.communicator;
    await c.updateSharedContext('wf', 'a', { k: 1 });
    await c.updateSharedContext('wf', 'b', { k: 2 }, { expectedVersion: 1 });

    const error = await expectTroupeError(
      () => c.updateSharedContext('wf', 'c', { k: 3 }, { expectedVersion: 1 }),
      'VERSION_CONFLICT',
    );
    expect(error.message).toContain('expected version 1, but the shared context is at version 2');
    expect(error.context).toMatchObject({ workflowId: 'wf', expectedVersion: 1, actualVersion: 2 });
    expect((await c.getSharedContext('wf')).data).toEqual({ k: 2 });
  });

  it('50 concurrent writers with expectedVersion: every conflict detected, no update lost', async () => {
    ({ rt } = await memoryRuntime());
    const c = rt.communicator;
    let conflicts = 0;
    const attempts = new Array<number>(50).fill(0);

    const writer = async (i: number) => {
      for (;;) {
        attempts[i]!++;
        const seen = await c.getSharedContext('wf');
        const count = typeof seen.data.count === 'number' ? seen.data.count : 0;
        try {
          await c.updateSharedContext(
            'wf',
            `writer-${i}`,
            { count: count + 1, [`writer-${i}`]: seen.version },
            { expectedVersion: seen.version },
          );
          return;
        } catch (error) {
          if (!(error instanceof TroupeError) || error.code !== 'VERSION_CONFLICT') throw error;
          expect(error.context.actualVersion).toBeGreaterThan(seen.version);
          conflicts++;
        }
      }
    };
    await Promise.all(Array.from({ length: 50 }, (_, i) => writer(i)));

    const final = await c.getSharedContext('wf');
    expect(final.version).toBe(50);
    // A read-increment-write counter only reaches 50 if no update was lost.
    expect(final.data.count).toBe(50);
    expect(Object.keys(final.data).filter((k) => k.startsWith('writer-'))).toHaveLength(50);
    // Every failed attempt was a detected conflict, and all writers raced.
    expect(conflicts).toBe(attempts.reduce((a, b) => a + b, 0) - 50);
    expect(conflicts).toBeGreaterThan(0);
    // Each successful write saw the version just before its own.
    const versions = (await c.getContextHistory('wf', 'count')).map((change) => change.version);
    expect(versions).toEqual(Array.from({ length: 20 }, (_, i) => 31 + i));
  });
});

describe('ORCH-015 result handoffs', () => {
  it('ORCH-015 delivers the handoff and records it in the shared context', async () => {
    const backend = listener('backend');
    ({ rt } = await memoryRuntime([listener('elasticsearch').agent, backend.agent]));

    const handoff = await rt.communicator.handoffResult(
      'elasticsearch',
      'backend',
      'workflow_001',
      {
        schema_created: true,
      },
    );

    expect(handoff).toMatchObject({
      from: 'elasticsearch',
      to: 'backend',
      type: 'result_handoff',
      payload: { schema_created: true },
      workflowId: 'workflow_001',
    });
    expect(backend.received).toEqual([handoff]);
    const shared = await rt.communicator.getSharedContext('workflow_001');
    expect(shared.version).toBe(1);
    expect(shared.updatedBy).toBe('elasticsearch');
    expect(shared.data['handoff:elasticsearch->backend']).toEqual({
      messageId: handoff.id,
      from: 'elasticsearch',
      to: 'backend',
      data: { schema_created: true },
      at: EPOCH,
    });
  });

  it("ORCH-015 the receiving agent's next task in the workflow sees the handoff", async () => {
    const seenByBackend: AgentMessage[][] = [];
    ({ rt } = await memoryRuntime([
      defineAgent({
        role: 'elasticsearch',
        run: async (task) => {
          await rt!.communicator.handoffResult('elasticsearch', 'backend', task.workflowId, {
            index: 'planning_applications',
            fields: ['title', 'embedding'],
          });
          return { created: true };
        },
      }),
      defineAgent({
        role: 'backend',
        run: (_task, ctx) => {
          seenByBackend.push(ctx.messages.filter((m) => m.type === 'result_handoff'));
          const [handoff] = seenByBackend.at(-1)!;
          return { builtOn: (handoff?.payload as { index?: string } | undefined)?.index ?? null };
        },
      }),
    ]));

    const result = await rt.engine.execute(
      {
        name: 'search-feature',
        tasks: [
          { id: 'schema', agent: 'elasticsearch' },
          { id: 'api', agent: 'backend', dependsOn: ['schema'] },
        ],
      },
      { workflowId: 'wf-search' },
    );

    expect(result.status).toBe('completed');
    expect(result.tasks.api!.output).toEqual({ builtOn: 'planning_applications' });
    expect(seenByBackend[0]).toEqual([
      expect.objectContaining({ from: 'elasticsearch', to: 'backend', workflowId: 'wf-search' }),
    ]);
    // The finished run left memory; its shared context comes back from the store.
    await rt.communicator.flush();
    await settle();
    const live = rt.actor.system.get('communicator')!.getSnapshot().context;
    expect(live.workflows['wf-search']).toBeUndefined();
    expect(live.mailboxes['wf-search']).toBeUndefined();
    const shared = await rt.communicator.getSharedContext('wf-search');
    expect(shared.data['handoff:elasticsearch->backend']).toMatchObject({
      data: { index: 'planning_applications', fields: ['title', 'embedding'] },
    });
  });
});
