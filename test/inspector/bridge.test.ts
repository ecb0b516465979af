/**
 * The inspector bridge over a real WebSocket: late joiners see the whole
 * system, frames arrive in order, bad frames are dropped and counted
 * without harm, and the token, Origin and Host checks hold; a compact
 * watch (`run.watch` with `compact`) gets the same tasks, and their changes, as columns.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, defineAgent, type Runtime } from '../../src/index.js';
import { runShardId } from '../../src/machines/run-shard.machine.js';
import type { ActorInfo, ServerFrame, TaskView } from '../../src/runtime/inspector/protocol.js';
import { decodeChanges, decodeTasks, encodeTasks } from '../../src/runtime/inspector/task-table.js';
import { heldRuntime, httpStatus, refusedStatus, TestClient, until, wsUrl } from './helpers.js';

let rt: Runtime | undefined;
const clients: TestClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await rt?.close();
  rt = undefined;
});

async function connect(url: string, headers?: Record<string, string>): Promise<TestClient> {
  const client = await TestClient.connect(url, headers);
  clients.push(client);
  return client;
}

function actorsOf(client: TestClient): Map<string, ActorInfo> {
  const actors = new Map<string, ActorInfo>();
  for (const frame of client.frames) {
    if (frame.type === 'system') for (const a of frame.actors) actors.set(a.name, a);
    if (frame.type === 'actors') for (const a of frame.actors) actors.set(a.name, a);
  }
  return actors;
}

/** 2,000 held tasks behind a quick one (four run at a time). */
function heldFanOut() {
  return {
    name: 'fan',
    tasks: [
      { id: 'first', agent: 'quick' },
      ...Array.from({ length: 2_000 }, (_, i) => ({
        id: `t${i}`,
        agent: 'hold',
        dependsOn: ['first'],
      })),
    ],
  };
}

const twoTasks = {
  name: 'two',
  tasks: [
    { id: 'a', agent: 'hold' },
    { id: 'b', agent: 'hold', dependsOn: ['a'] },
  ],
};

describe('inspector bridge', () => {
  it('gives a client that connects late the whole actor tree at once', async () => {
    const held = await heldRuntime();
    rt = held.rt;
    const handle = await rt.engine.start(twoTasks, { workflowId: 'late-join' });
    const client = await connect(wsUrl(rt.inspector!.url));
    const system = await client.frame('system');
    const byName = new Map(system.actors.map((a) => [a.name, a]));
    expect([...byName.keys()]).toEqual(
      expect.arrayContaining([
        'troupe',
        'orchestrator',
        'agent:hold',
        'agent:quick',
        'workflow:late-join',
      ]),
    );
    const run = byName.get('workflow:late-join')!;
    expect(run.value).toBe('running');
    expect(run.run).toMatchObject({ workflowId: 'late-join', name: 'two', total: 2, settled: 0 });
    // Runs live under the root's shards (run-shard.machine.ts).
    const shard = system.actors.find((a) => a.sessionId === run.parentId);
    expect(shard?.name).toBe(runShardId('late-join'));
    expect(shard?.parentId).toBe(byName.get('troupe')!.sessionId);
    expect(byName.get('agent:hold/executor')?.parentId).toBe(byName.get('agent:hold')!.sessionId);
    // The events before the client connected are there too, in order.
    expect(system.events.some((e) => e.type === 'task.assign' && e.target === 'agent:hold')).toBe(
      true,
    );
    expect(client.frames[0]).toMatchObject({ type: 'hello', controls: false });
    held.release('a');
    held.release('b');
    expect((await handle.result).status).toBe('completed');
  });

  it('sends frames in order: numbered messages, increasing event seqs, task changes as they happen', async () => {
    const held = await heldRuntime();
    rt = held.rt;
    const client = await connect(wsUrl(rt.inspector!.url));
    await client.frame('system');
    const handle = await rt.engine.start(twoTasks, { workflowId: 'ordered' });
    client.send({ id: 1, type: 'run.watch', workflowId: 'ordered' });
    const detail = await client.frame('run.detail');
    expect(detail.run.tasks.map((t) => [t.id, t.dependsOn])).toEqual([
      ['a', []],
      ['b', ['a']],
    ]);

    const taskStatus = (id: string) => {
      let status: string | undefined;
      for (const f of client.frames) {
        if (f.type === 'run.detail')
          status = f.run.tasks.find((t) => t.id === id)?.status ?? status;
        if (f.type === 'run.tasks') status = f.tasks.find((t) => t.id === id)?.status ?? status;
      }
      return status;
    };
    await client.waitFor(() => taskStatus('a') === 'running', 'a running');
    held.release('a');
    await client.waitFor(
      () => taskStatus('a') === 'completed' && taskStatus('b') === 'running',
      'a done, b running',
    );
    held.release('b');
    await handle.result;
    await client.waitFor(
      () => actorsOf(client).get('workflow:ordered')?.status === 'done',
      'run done',
    );

    expect(client.messages.map((m) => m.seq)).toEqual(client.messages.map((_, i) => i + 1));
    const seqs = client.frames.flatMap((f) =>
      f.type === 'events' || f.type === 'system' ? f.events.map((e) => e.seq) : [],
    );
    expect(seqs.length).toBeGreaterThan(5);
    expect(seqs).toEqual([...seqs].sort((x, y) => x - y));
    const output = client.frames
      .flatMap((f) => (f.type === 'run.tasks' ? f.tasks : []))
      .find((t) => t.id === 'b' && t.status === 'completed')?.output;
    expect(output).toBe('{"done":"b","note":null}');
    expect(actorsOf(client).get('workflow:ordered')?.value).toBe('completed');
  });

  it('drops and counts malformed and oversized frames, and carries on', async () => {
    const held = await heldRuntime();
    rt = held.rt;
    const client = await connect(wsUrl(rt.inspector!.url));
    await client.frame('system');
    client.send('not json');
    client.send({ id: 7, type: 'no.such.request' });
    client.send({ id: 8, type: 'run.watch', workflowId: 42 });
    client.ws.send(Buffer.from([0xde, 0xad]), { binary: true });
    client.send({ id: 9, type: 'stored.get', workflowId: 'x'.repeat(70_000) });
    const replies = () =>
      client.frames.filter((f): f is Extract<ServerFrame, { type: 'reply' }> => f.type === 'reply');
    await client.waitFor(() => replies().length >= 5, 'five replies');
    expect(replies().map((r) => r.error?.code)).toEqual([
      'MALFORMED',
      'MALFORMED',
      'MALFORMED',
      'MALFORMED',
      'OVERSIZED',
    ]);
    expect(replies().map((r) => r.id)).toEqual([0, 7, 8, 0, 0]);
    expect(rt.inspector!.stats()).toMatchObject({ malformedFrames: 4, oversizedFrames: 1 });

    // Over the hard limit `ws` closes that one socket; the server and the runtime go on.
    const big = await connect(wsUrl(rt.inspector!.url));
    big.send('x'.repeat(1024 * 1024 + 10));
    await big.waitFor(() => big.closed !== undefined, 'the oversized client to be closed');
    expect(big.closed?.code).toBe(1009);
    await until(
      () => rt!.inspector!.stats().oversizedFrames === 2,
      'the second oversized frame to be counted',
    );

    held.release('q');
    const result = await rt.engine.execute({ name: 'after', tasks: [{ id: 'q', agent: 'quick' }] });
    expect(result.status).toBe('completed');
    client.send({ id: 10, type: 'stored.list' });
    const stored = await client.frame('stored.runs');
    expect(stored.runs.map((r) => r.workflowId)).toContain(result.workflowId);
  });

  it('checks the Origin and Host of a connection', async () => {
    rt = (await heldRuntime()).rt;
    const url = wsUrl(rt.inspector!.url);
    const { host } = new URL(url);
    expect(await refusedStatus(url, { Origin: 'http://evil.example' })).toBe(403);
    expect(await refusedStatus(url, { Host: 'evil.example' })).toBe(403);
    expect(await refusedStatus(wsUrl(rt.inspector!.url, { path: '/elsewhere' }))).toBe(404);
    const ok = await connect(url, { Origin: `http://${host}` });
    await ok.frame('hello');
    expect(await httpStatus(rt.inspector!.url, { Host: 'rebound.example' })).toBe(403);
    expect(await httpStatus(rt.inspector!.url)).toBe(200);
    expect(rt.inspector!.stats().rejectedConnections).toBe(3);
  });

  it('requires the token for controls and refuses them without it', async () => {
    const held = await heldRuntime({ port: 0, controls: true, token: 'test-token-1234' });
    rt = held.rt;
    expect(rt.inspector!.url).toContain('token=test-token-1234');
    const handle = await rt.engine.start(twoTasks, { workflowId: 'controlled' });
    const anonymous = await connect(wsUrl(rt.inspector!.url, { token: false }));
    expect(await anonymous.frame('hello')).toMatchObject({ controls: false });
    anonymous.send({ id: 1, type: 'control', action: 'pause', workflowId: 'controlled' });
    const refused = await anonymous.frame('reply', (r) => r.id === 1);
    expect(refused).toMatchObject({ ok: false, error: { code: 'FORBIDDEN' } });
    expect(rt.inspector!.stats().rejectedRequests).toBe(1);

    const wrong = await connect(
      `${wsUrl(rt.inspector!.url, { token: false })}?token=wrong-token-0000`,
    );
    expect(await wrong.frame('hello')).toMatchObject({ controls: false });

    const owner = await connect(wsUrl(rt.inspector!.url));
    expect(await owner.frame('hello')).toMatchObject({ controls: true });
    owner.send({ id: 2, type: 'control', action: 'pause', workflowId: 'controlled' });
    expect(await owner.frame('reply', (r) => r.id === 2)).toMatchObject({ ok: true });
    await owner.waitFor(
      () => actorsOf(owner).get('workflow:controlled')?.value === 'paused',
      'run paused',
    );
    owner.send({ id: 3, type: 'control', action: 'cancel', workflowId: 'controlled' });
    held.release('a');
    expect((await handle.result).status).toBe('cancelled');
  });

  it('refuses controls when the runtime does not enable them, token or not', async () => {
    const held = await heldRuntime({ port: 0, token: 'test-token-5678' });
    rt = held.rt;
    await rt.engine.start(twoTasks, { workflowId: 'no-controls' });
    const client = await connect(wsUrl(rt.inspector!.url));
    expect(await client.frame('hello')).toMatchObject({ controls: false });
    client.send({ id: 1, type: 'control', action: 'cancel', workflowId: 'no-controls' });
    expect(await client.frame('reply', (r) => r.id === 1)).toMatchObject({
      ok: false,
      error: { code: 'FORBIDDEN' },
    });
    expect(await rt.engine.getState('no-controls')).toMatchObject({ status: 'running' });
    held.release('a');
    held.release('b');
  });

  it('requires the token on a non-loopback address', async () => {
    rt = (await heldRuntime({ port: 0, host: '0.0.0.0' })).rt;
    const token = new URL(rt.inspector!.url).searchParams.get('token');
    expect(token).toMatch(/^[\w-]{20,}$/);
    expect(await refusedStatus(wsUrl(rt.inspector!.url, { token: false }))).toBe(401);
    const client = await connect(wsUrl(rt.inspector!.url));
    expect(await client.frame('hello')).toMatchObject({ type: 'hello' });
    const bearer = await connect(wsUrl(rt.inspector!.url, { token: false }), {
      Authorization: `Bearer ${token}`,
    });
    await bearer.frame('system');
  });

  it('lists stored runs with their checkpoints and shows a checkpoint read-only', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'troupe-inspector-'));
    try {
      rt = await createRuntime({
        dataDir: dir,
        checkpointInterval: 1,
        inspector: { port: 0 },
        agents: [defineAgent({ role: 'quick', run: async (task) => ({ done: task.id }) })],
      });
      const result = await rt.engine.execute(
        {
          name: 'stored',
          tasks: [
            { id: 'a', agent: 'quick' },
            { id: 'b', agent: 'quick', dependsOn: ['a'] },
          ],
        },
        { workflowId: 'stored-run' },
      );
      expect(result.status).toBe('completed');
      const client = await connect(wsUrl(rt.inspector!.url));
      client.send({ id: 1, type: 'stored.list' });
      expect((await client.frame('stored.runs')).runs).toEqual([
        expect.objectContaining({
          workflowId: 'stored-run',
          name: 'stored',
          status: 'completed',
          tasks: 2,
        }),
      ]);
      client.send({ id: 2, type: 'stored.get', workflowId: 'stored-run' });
      const stored = await client.frame('stored.run');
      expect(stored.run).toMatchObject({ live: false, state: 'completed' });
      expect(stored.run.tasks.map((t) => t.status)).toEqual(['completed', 'completed']);
      expect(stored.checkpoints.length).toBeGreaterThan(0);
      const seq = stored.checkpoints[0]!.seq;
      expect(stored.checkpoints[0]).toMatchObject({
        reason: expect.any(String),
        takenAt: expect.any(Number),
      });
      client.send({ id: 3, type: 'checkpoint.get', workflowId: 'stored-run', seq });
      const checkpoint = await client.frame('checkpoint');
      expect(checkpoint.run).toMatchObject({ workflowId: 'stored-run', live: false });
      expect(checkpoint.run?.tasks.map((t) => t.id)).toEqual(['a', 'b']);
      expect(checkpoint.raw).toMatchObject({ seq, context: { workflowId: 'stored-run' } });
      client.send({ id: 4, type: 'checkpoint.get', workflowId: 'stored-run', seq: 999_999 });
      expect(await client.frame('reply', (r) => r.id === 4)).toMatchObject({
        ok: false,
        error: { code: 'NOT_FOUND' },
      });
    } finally {
      await rt?.close();
      rt = undefined;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('stops serving when the runtime closes', async () => {
    const held = await heldRuntime();
    const url = held.rt.inspector!.url;
    await held.rt.close();
    await expect(fetch(url)).rejects.toThrow();
  });
});

describe('ISSUE-17 compact run snapshot', () => {
  it('encodes every field a task view can have and decodes it back as it was', () => {
    const tasks: TaskView[] = [
      {
        id: 'gate',
        agent: 'gate',
        dependsOn: [],
        description: '',
        status: 'completed',
        attempts: 1,
        startedAt: 10,
        finishedAt: 20,
        output: 'open',
      },
      {
        id: 'fetch-1',
        agent: 'work',
        dependsOn: ['gate'],
        description: 'fetch one',
        status: 'running',
        attempts: 2,
        startedAt: 30,
        progress: 0.5,
        progressMessage: 'half',
      },
      {
        id: 'fetch-2',
        agent: 'work',
        dependsOn: ['gate'],
        description: '',
        status: 'failed',
        attempts: 3,
        startedAt: 31,
        finishedAt: 40,
        error: 'boom',
      },
      {
        id: 'book',
        agent: 'saga',
        dependsOn: ['gate'],
        description: '',
        status: 'completed',
        attempts: 1,
        startedAt: 1,
        finishedAt: 2,
        output: '{"id":1}',
        compensation: { status: 'failed', error: 'no refund' },
      },
      {
        id: 'skip',
        agent: 'work',
        dependsOn: ['fetch-1', 'fetch-2'],
        description: '',
        status: 'skipped',
        attempts: 0,
        skipReason: 'condition false',
      },
      {
        id: 'later',
        agent: 'work',
        dependsOn: ['skip'],
        description: '',
        status: 'pending',
        attempts: 0,
      },
    ];
    const table = encodeTasks(tasks);
    expect(table.agents).toEqual(['gate', 'work', 'saga']);
    expect(table.dependsOn[4]).toEqual([1, 2]);
    // Through JSON, as it travels.
    expect(decodeTasks(JSON.parse(JSON.stringify(table)))).toEqual(tasks);
  });

  it('over the socket: a compact watch shows the run as the full one does, in under half the bytes', async () => {
    const held = await heldRuntime();
    rt = held.rt;
    const handle = await rt.engine.start(heldFanOut(), { workflowId: 'fan-1' });
    const full = await TestClient.connect(wsUrl(rt.inspector!.url));
    const compact = await TestClient.connect(wsUrl(rt.inspector!.url));
    clients.push(full, compact);
    await full.waitFor(() => held.started.size >= 4, 'four held tasks running');
    full.send({ id: 1, type: 'run.watch', workflowId: 'fan-1' });
    compact.send({ id: 1, type: 'run.watch', workflowId: 'fan-1', compact: true });
    const whole = await full.frame('run.detail');
    const table = await compact.frame('run.detail');
    expect(table.run.tasks).toEqual([]);
    expect(table.table).toBeDefined();
    expect(decodeTasks(table.table!)).toEqual(whole.run.tasks);
    expect(whole.run.tasks.filter((t) => t.status === 'running').length).toBeGreaterThanOrEqual(4);
    expect(JSON.stringify(table).length * 2).toBeLessThan(JSON.stringify(whole).length);
    await held.rt.engine.cancel('fan-1');
    await handle.result;
    // The changes that follow: objects to one, columns to the other, folding to the same tasks.
    const fold = (client: TestClient, start: TaskView[]) => {
      const tasks = new Map(start.map((task) => [task.id, task]));
      for (const frame of client.frames) {
        if (frame.type !== 'run.tasks') continue;
        const deltas = frame.changes ? decodeChanges(frame.changes) : frame.tasks;
        for (const delta of deltas) tasks.set(delta.id, { ...tasks.get(delta.id)!, ...delta });
      }
      return tasks;
    };
    const settled = (client: TestClient, start: TaskView[]) => () =>
      [...fold(client, start).values()].every(
        (task) => task.status === 'cancelled' || task.status === 'completed',
      );
    await full.waitFor(settled(full, whole.run.tasks), 'every task settled (objects)');
    await compact.waitFor(
      settled(compact, decodeTasks(table.table!)),
      'every task settled (columns)',
    );
    const changesOf = (client: TestClient) =>
      client.frames.flatMap((f) => (f.type === 'run.tasks' ? [f] : []));
    const fullChanges = changesOf(full);
    const compactChanges = changesOf(compact);
    expect(compactChanges.every((f) => f.tasks.length === 0 && f.changes !== undefined)).toBe(true);
    expect(fullChanges.every((f) => f.changes === undefined)).toBe(true);
    expect(fold(compact, decodeTasks(table.table!))).toEqual(fold(full, whole.run.tasks));
    expect(JSON.stringify(compactChanges).length * 2).toBeLessThan(
      JSON.stringify(fullChanges).length,
    );
  });

  it('sends a client that asks for n events per batch the newest n of each batch, and counts the rest as skipped', async () => {
    const held = await heldRuntime();
    rt = held.rt;
    const few = await connect(wsUrl(rt.inspector!.url));
    const all = await connect(wsUrl(rt.inspector!.url));
    const none = await connect(wsUrl(rt.inspector!.url));
    few.send({ id: 1, type: 'events.watch', perBatch: 2 });
    none.send({ id: 1, type: 'events.watch', perBatch: 0 });
    await few.frame('reply', (r) => r.id === 1 && r.ok);
    await none.frame('reply', (r) => r.id === 1 && r.ok);
    // A bad budget is refused like any malformed request.
    few.send({ id: 2, type: 'events.watch', perBatch: -1 });
    expect((await few.frame('reply', (r) => r.id === 2)).error?.code).toBe('MALFORMED');
    const eventsOf = (client: TestClient) =>
      client.frames.flatMap((f) =>
        f.type === 'events' ? [{ events: f.events, skipped: f.skipped }] : [],
      );
    // Nothing happens before the run: every events frame below is one of its batches.
    expect([few, all, none].map((client) => eventsOf(client).length)).toEqual([0, 0, 0]);
    const fan = {
      name: 'quick-fan',
      tasks: Array.from({ length: 40 }, (_, i) => ({ id: `q${i}`, agent: 'quick' })),
    };
    const handle = await rt.engine.start(fan, { workflowId: 'events-budget' });
    expect((await handle.result).status).toBe('completed');
    const runDone = (client: TestClient) =>
      actorsOf(client).get('workflow:events-budget')?.status === 'done';
    // Each batch goes to the three clients in the same order: once they hold as many, they hold the same batches.
    await until(
      () =>
        [few, all, none].every(runDone) &&
        eventsOf(few).length === eventsOf(all).length &&
        eventsOf(none).length === eventsOf(all).length,
      'the run over for the three clients, with as many batches each',
    );
    const everything = eventsOf(all);
    const newest = eventsOf(few);
    const counted = eventsOf(none);
    // Some batch had more than two events, so the budget had something to cut.
    expect(everything.some((f) => f.events.length > 2)).toBe(true);
    const total = (frames: typeof everything) =>
      frames.reduce((n, f) => n + f.events.length + f.skipped, 0);
    for (const [i, batch] of everything.entries()) {
      const cut = newest[i]!;
      expect(cut.events).toEqual(batch.events.slice(-2));
      expect(cut.skipped).toBe(batch.skipped + batch.events.length - cut.events.length);
      expect(counted[i]).toEqual({ events: [], skipped: batch.skipped + batch.events.length });
    }
    expect(total(newest)).toBe(total(everything));
    expect(total(counted)).toBe(total(everything));
  });

  it("sends a big run's changes when they are due, even when nothing happens after them", async () => {
    const held = await heldRuntime();
    rt = held.rt;
    // 2,000 tasks: their changes gather for changesGapMs (200 ms) between batches.
    const handle = await rt.engine.start(heldFanOut(), { workflowId: 'fan-due' });
    const client = await connect(wsUrl(rt.inspector!.url));
    await client.waitFor(() => held.started.size >= 4, 'four held tasks running');
    client.send({ id: 1, type: 'run.watch', workflowId: 'fan-due', compact: true });
    const detail = await client.frame('run.detail');
    const status = (id: string) => {
      let shown = decodeTasks(detail.table!).find((t) => t.id === id)?.status;
      for (const frame of client.frames) {
        if (frame.type !== 'run.tasks' || !frame.changes) continue;
        shown = decodeChanges(frame.changes).find((t) => t.id === id)?.status ?? shown;
      }
      return shown;
    };
    expect(status('t0')).toBe('running');
    // One task ends and the next starts; then the run waits on held tasks, with no event to come.
    held.release('t0');
    await client.waitFor(
      () => status('t0') === 'completed' && status('t4') === 'running',
      't0 completed and t4 running on the page',
    );
    await rt.engine.cancel('fan-due');
    expect((await handle.result).status).toBe('cancelled');
  });
});
