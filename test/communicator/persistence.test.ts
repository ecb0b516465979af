import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime, defineAgent, type Runtime } from '../../src/index.js';
import type { AgentMessage } from '../../src/schemas/agent-message.js';
import { expectTroupeError } from '../core/helpers.js';
import { advance, EPOCH, listener, settle, simulatedClock } from './helpers.js';

let dir: string;
const open: Runtime[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'troupe-communicator-'));
});
afterEach(async () => {
  for (const rt of open.splice(0)) await rt.close();
  await rm(dir, { recursive: true, force: true });
});

async function levelRuntime(at: number, inboxes?: AgentMessage[][]) {
  const clock = simulatedClock(at);
  const rt = await createRuntime({
    dataDir: dir,
    clock,
    agents: [
      listener('backend').agent,
      defineAgent({
        role: 'frontend',
        run: (_task, ctx) => inboxes?.push([...ctx.messages]) ?? null,
        onMessage: () => ({ ok: true }),
      }),
    ],
  });
  open.push(rt);
  return { rt, clock };
}

async function closeAll(): Promise<void> {
  for (const rt of open.splice(0)) await rt.close();
}

describe('communicator persistence (LevelStore)', () => {
  it('shared contexts, their history, locks and messages survive closing and reopening', async () => {
    const first = await levelRuntime(EPOCH);
    const c1 = first.rt.communicator;
    await c1.updateSharedContext('wf-1', 'backend', { endpoint: '/api/search' });
    await c1.updateSharedContext('wf-1', 'backend', { endpoint: '/api/v2/search', ready: true });
    await c1.handoffResult('backend', 'frontend', 'wf-1', { openapi: '3.1' });
    await c1.sendMessage({
      from: 'backend',
      to: 'frontend',
      type: 'notification',
      payload: 1,
      workflowId: 'wf-1',
    });
    await c1.sendMessage({
      from: 'user',
      to: 'backend',
      type: 'notification',
      payload: 'no workflow',
    });
    await c1.request({ from: 'backend', to: 'frontend', workflowId: 'wf-1' });
    await c1.acquireLock('wf-1', 'schema', 'crashed-holder', { ttlMs: 10_000 });
    const before = {
      shared: await c1.getSharedContext('wf-1'),
      history: await c1.getContextHistory('wf-1', 'endpoint'),
      messages: await c1.getMessageHistory(),
    };
    expect(before.messages).toHaveLength(5);
    await closeAll();

    const second = await levelRuntime(EPOCH + 4_000);
    const c2 = second.rt.communicator;
    expect(await c2.getSharedContext('wf-1')).toEqual(before.shared);
    expect(await c2.getContextHistory('wf-1', 'endpoint')).toEqual(before.history);
    expect(await c2.getMessageHistory()).toEqual(before.messages);
    expect(await c2.getLocks('wf-1')).toEqual([
      {
        workflowId: 'wf-1',
        key: 'schema',
        owner: 'crashed-holder',
        acquiredAt: EPOCH,
        expiresAt: EPOCH + 10_000,
        waiting: [],
      },
    ]);

    // The lease is re-armed from its stored deadline: 6 s after the reopen, not 10 s.
    let granted = false;
    const next = c2.acquireLock('wf-1', 'schema', 'next', { timeout: Infinity }).then((lease) => {
      granted = true;
      return lease;
    });
    await advance(second.clock, 5_999);
    expect(granted).toBe(false);
    await advance(second.clock, 1);
    expect(await next).toMatchObject({ owner: 'next', acquiredAt: EPOCH + 10_000 });

    // Sequence numbers continue: a new message is added, none is overwritten.
    await c2.sendMessage({
      from: 'backend',
      to: 'frontend',
      type: 'notification',
      payload: 2,
      workflowId: 'wf-1',
    });
    const wf1 = await c2.getMessageHistory({ workflowId: 'wf-1' });
    expect(wf1.map((m) => m.type)).toEqual([
      'result_handoff',
      'notification',
      'request',
      'response',
      'notification',
    ]);

    await c2.handoffResult('backend', 'frontend', 'wf-2', { late: true });
    await closeAll();

    const third = await levelRuntime(EPOCH + 60_000);
    // Loaded after its deadline: the lock of `next` expires at once.
    expect(await third.rt.communicator.getLocks('wf-1')).toEqual([]);
    await third.rt.communicator.flush();
    await closeAll();
    const fourth = await levelRuntime(EPOCH + 60_000);
    expect(await fourth.rt.communicator.getLocks('wf-1')).toEqual([]);
    expect((await fourth.rt.communicator.getSharedContext('wf-2')).data).toHaveProperty(
      'handoff:backend->frontend',
    );
  });

  it("a workflow's tasks see messages received before a restart in ctx.messages", async () => {
    const first = await levelRuntime(EPOCH);
    await first.rt.communicator.handoffResult('backend', 'frontend', 'wf-r', { schema: 'v1' });
    await closeAll();

    const inboxes: AgentMessage[][] = [];
    const second = await levelRuntime(EPOCH + 1_000, inboxes);
    const result = await second.rt.engine.execute(
      { name: 'resume-like', tasks: [{ id: 't', agent: 'frontend' }] },
      { workflowId: 'wf-r' },
    );
    expect(result.status).toBe('completed');
    expect(inboxes).toEqual([
      [expect.objectContaining({ type: 'result_handoff', payload: { schema: 'v1' } })],
    ]);
  });

  it('history is complete from the store while memory keeps only the latest per workflow', async () => {
    const inboxes: AgentMessage[][] = [];
    const { rt } = await levelRuntime(EPOCH, inboxes);
    const sends: Promise<unknown>[] = [];
    for (let i = 0; i < 1_100; i++) {
      const type = i % 10 === 0 ? 'task_assignment' : 'notification';
      sends.push(
        rt.communicator.sendMessage({
          from: 'backend',
          to: 'frontend',
          type,
          payload: i,
          workflowId: 'big',
        }),
      );
    }
    await rt.communicator.sendMessage({
      from: 'frontend',
      to: 'backend',
      type: 'notification',
      workflowId: 'big',
    });
    await Promise.all(sends);

    const all = await rt.communicator.getMessageHistory({ workflowId: 'big', limit: 5_000 });
    expect(all).toHaveLength(1_101);
    expect(all.slice(0, 3).map((m) => m.payload)).toEqual([0, 1, 2]);
    const assignments = await rt.communicator.getMessageHistory({
      type: 'task_assignment',
      limit: 3,
    });
    expect(assignments.map((m) => m.payload)).toEqual([1_070, 1_080, 1_090]);
    const toBackend = await rt.communicator.getMessageHistory({
      agent: 'backend',
      workflowId: 'big',
      limit: 10,
    });
    expect(toBackend).toHaveLength(10);
    expect(toBackend.at(-1)!.from).toBe('frontend');
    expect(await rt.communicator.getMessageHistory({ agent: 'nobody' })).toEqual([]);

    await rt.engine.execute(
      { name: 'n', tasks: [{ id: 't', agent: 'frontend' }] },
      { workflowId: 'big' },
    );
    // The inbox is read from the bounded memory: the frontend's share of the
    // workflow's latest 1,000 messages (the last one went to the backend).
    expect(inboxes[0]).toHaveLength(999);
    expect(inboxes[0]!.at(-1)!.payload).toBe(1_099);
    await expectTroupeError(
      () => rt.communicator.getMessageHistory({ limit: -1 }),
      'INVALID_INPUT',
    );
  });

  it('a corrupt stored record is a readable STORE_CORRUPT error that leaves other workflows working', async () => {
    const { rt } = await levelRuntime(EPOCH);
    await rt.store.batch([
      { type: 'put', collection: 'contexts', key: 'wf-bad', value: { shared: { version: 'two' } } },
      {
        type: 'put',
        collection: 'messages',
        key: 'wf-bad-msgs/0000000000000001',
        value: { seq: 1 },
      },
    ]);
    const error = await expectTroupeError(
      () => rt.communicator.getSharedContext('wf-bad'),
      'STORE_CORRUPT',
    );
    expect(error.message).toContain('communicator record of workflow "wf-bad"');
    expect(error.message).toContain('record.shared.version');
    const message = await expectTroupeError(
      () =>
        rt.communicator.sendMessage({
          from: 'a',
          to: 'backend',
          type: 'notification',
          workflowId: 'wf-bad-msgs',
        }),
      'STORE_CORRUPT',
    );
    expect(message.message).toContain('wf-bad-msgs/0000000000000001');
    await rt.communicator.updateSharedContext('wf-good', 'a', { ok: true });
    expect((await rt.communicator.getSharedContext('wf-good')).version).toBe(1);
    await settle();
  });
});
