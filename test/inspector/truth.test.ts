/**
 * Truth: what the inspector shows of each task comes from the run's
 * snapshot, so a page that watched the whole run, a page that joins late
 * and the stored result agree, including the tasks a stopping run ends
 * (never started in a failed, cancelled or compensated run; a retry whose
 * backoff ends while the run is paused). Each of those changes is also an
 * engine event (`task.cancelled`, `task.ready`): folding the events gives the
 * same statuses.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import {
  createRuntime,
  defineAgent,
  type EngineEvent,
  type Runtime,
  type WorkflowResult,
} from '../../src/index.js';
import { scratchDir, useScratch } from '../durability/helpers.js';
import { deferred, shownTasks, TestClient, useInspectorCleanup, wsUrl } from './helpers.js';

useScratch();
const cleanup = useInspectorCleanup();
let rt: Runtime | undefined;
let events: EngineEvent[] = [];

const gate = deferred();

async function runtime(clock?: SimulatedClock): Promise<Runtime> {
  rt = await createRuntime({
    dataDir: await scratchDir('troupe-truth-'),
    inspector: { port: 0 },
    ...(clock ? { clock } : {}),
    agents: [
      defineAgent({ role: 'quick', run: async (task) => ({ done: task.id }) }),
      defineAgent({
        role: 'hold',
        run: async (_task, ctx) => {
          await Promise.race([
            gate.promise,
            new Promise((_, reject) =>
              ctx.signal.addEventListener('abort', () => reject(new Error('aborted'))),
            ),
          ]);
          return 'held';
        },
      }),
      defineAgent({
        role: 'failer',
        run: () => {
          throw new Error('declined');
        },
      }),
      defineAgent({
        role: 'flaky',
        run: (_task, ctx) => {
          if (ctx.attempt === 1) throw new Error('once');
          return 'second time';
        },
      }),
    ],
  });
  cleanup.rt = rt;
  events = [];
  rt.engine.on('*', (event) => {
    events.push(event);
  });
  return rt;
}

async function connect(): Promise<TestClient> {
  const client = await TestClient.connect(wsUrl(rt!.inspector!.url));
  cleanup.clients.push(client);
  await client.frame('system');
  return client;
}

async function watch(client: TestClient, workflowId: string): Promise<void> {
  client.send({ type: 'run.watch', workflowId });
  await client.frame('run.detail', (f) => f.run.workflowId === workflowId);
}

function truthOf(result: WorkflowResult) {
  const tasks: Record<string, { status: string; attempts: number; compensation?: string }> = {};
  const compensated = new Set(result.compensation?.compensated ?? []);
  const failed = new Set((result.compensation?.failed ?? []).map((f) => f.taskId));
  for (const [id, task] of Object.entries(result.tasks)) {
    tasks[id] = {
      status: task.status,
      attempts: task.attempts,
      ...(compensated.has(id) ? { compensation: 'completed' } : {}),
      ...(failed.has(id) ? { compensation: 'failed' } : {}),
    };
  }
  return tasks;
}

const STATUS_OF_EVENT: Partial<Record<EngineEvent['type'], string>> = {
  'task.started': 'running',
  'task.completed': 'completed',
  'task.retrying': 'retrying',
  'task.failed': 'failed',
  'task.skipped': 'skipped',
  'task.cancelled': 'cancelled',
  'task.ready': 'pending',
  'task.waiting': 'waiting',
};

/** Each task's status as the engine's events tell it, in order, from `pending`. */
function statusesFromEvents(workflowId: string, taskIds: string[]): Record<string, string> {
  const statuses: Record<string, string> = Object.fromEntries(taskIds.map((id) => [id, 'pending']));
  for (const event of events) {
    const status = STATUS_OF_EVENT[event.type];
    if (status && 'taskId' in event && event.workflowId === workflowId)
      statuses[event.taskId] = status;
  }
  return statuses;
}

function statusesOf(tasks: Record<string, { status: string }>): Record<string, string> {
  return Object.fromEntries(Object.entries(tasks).map(([id, t]) => [id, t.status]));
}

/** Waits until the page that watched the run shows the stored result, then asks a late page. */
async function expectAgreement(live: TestClient, workflowId: string, result: WorkflowResult) {
  const truth = truthOf(result);
  await live.waitFor(
    () => JSON.stringify(shownTasks(live.frames, workflowId)) === JSON.stringify(truth),
    `the live page to show ${JSON.stringify(truth)}; it shows ${JSON.stringify(shownTasks(live.frames, workflowId))}`,
  );
  const late = await connect();
  late.send({ type: 'stored.get', workflowId });
  await late.frame('stored.run', (f) => f.run.workflowId === workflowId);
  expect(shownTasks(late.frames, workflowId)).toEqual(truth);
  const lateRun = late.frames.find((f) => f.type === 'stored.run');
  expect(lateRun?.type === 'stored.run' && lateRun.run.state).toBe(result.status);
  expect(statusesFromEvents(workflowId, Object.keys(result.tasks))).toEqual(
    statusesOf(result.tasks),
  );
}

describe('inspector truth: live page, late page and stored result agree', () => {
  it('in a failed run: the dependent that never started is cancelled everywhere', async () => {
    await runtime();
    const live = await connect();
    const handle = await rt!.engine.start(
      {
        name: 'fails',
        tasks: [
          { id: 'ok', agent: 'quick' },
          { id: 'bad', agent: 'failer', dependsOn: ['ok'], retry: { maxAttempts: 1 } },
          { id: 'never', agent: 'quick', dependsOn: ['bad'] },
        ],
      },
      { workflowId: 'truth-failed' },
    );
    await watch(live, handle.workflowId);
    const result = await handle.result;
    expect(result.status).toBe('failed');
    expect(result.tasks.never?.status).toBe('cancelled');
    await expectAgreement(live, handle.workflowId, result);
  });

  it('in a cancelled run: the aborted task and its pending dependent are cancelled everywhere', async () => {
    await runtime();
    const live = await connect();
    const handle = await rt!.engine.start(
      {
        name: 'cancels',
        tasks: [
          { id: 'held', agent: 'hold' },
          { id: 'after', agent: 'quick', dependsOn: ['held'] },
        ],
      },
      { workflowId: 'truth-cancelled' },
    );
    await watch(live, handle.workflowId);
    await live.waitFor(
      () => shownTasks(live.frames, handle.workflowId).held?.status === 'running',
      'held to run',
    );
    rt!.engine.cancel(handle.workflowId, 'stop');
    const result = await handle.result;
    expect(result.status).toBe('cancelled');
    await expectAgreement(live, handle.workflowId, result);
  });

  it('in a compensated run: undone tasks are marked compensated and the unstarted one cancelled', async () => {
    await runtime();
    const live = await connect();
    const undone: string[] = [];
    const handle = await rt!.engine.startWithSagaPattern(
      {
        name: 'saga',
        tasks: [
          { id: 'book', agent: 'quick' },
          { id: 'pay', agent: 'failer', dependsOn: ['book'], retry: { maxAttempts: 1 } },
          { id: 'ship', agent: 'quick', dependsOn: ['pay'] },
        ],
      },
      {
        book: async (ctx) => {
          undone.push(ctx.taskId);
        },
      },
      { workflowId: 'truth-compensated' },
    );
    await watch(live, handle.workflowId);
    const result = await handle.result;
    expect(result.status).toBe('compensated');
    expect(undone).toEqual(['book']);
    await expectAgreement(live, handle.workflowId, result);
    expect(shownTasks(live.frames, handle.workflowId).book).toEqual({
      status: 'completed',
      attempts: 1,
      compensation: 'completed',
    });
  });

  it('in a paused run whose retry wait ends: pending on both pages and in the engine, then completed', async () => {
    const clock = new SimulatedClock();
    await runtime(clock);
    const live = await connect();
    const handle = await rt!.engine.start(
      {
        name: 'paused-retry',
        tasks: [
          { id: 'f', agent: 'flaky', retry: { maxAttempts: 2, initialDelayMs: 100 } },
          { id: 'g', agent: 'quick', dependsOn: ['f'] },
        ],
      },
      { workflowId: 'truth-paused' },
    );
    await watch(live, handle.workflowId);
    await live.waitFor(
      () => shownTasks(live.frames, handle.workflowId).f?.status === 'retrying',
      `f to wait for its retry: ${JSON.stringify(live.frames.filter((f) => f.type.startsWith('run')))}`,
    );
    rt!.engine.pause(handle.workflowId);
    clock.increment(1_000);
    const state = await rt!.engine.getState(handle.workflowId);
    expect(state?.tasks.f).toMatchObject({ status: 'pending', attempts: 1 });
    const truth = truthOf(state!);
    await live.waitFor(
      () => JSON.stringify(shownTasks(live.frames, handle.workflowId)) === JSON.stringify(truth),
      'the live page to show the released retry',
    );
    const late = await connect();
    await watch(late, handle.workflowId);
    expect(shownTasks(late.frames, handle.workflowId)).toEqual(truth);
    expect(statusesFromEvents(handle.workflowId, Object.keys(truth))).toEqual(statusesOf(truth));

    rt!.engine.resume(handle.workflowId);
    const result = await handle.result;
    expect(result.tasks.f).toMatchObject({ status: 'completed', attempts: 2 });
    await expectAgreement(live, handle.workflowId, result);
  });
});
