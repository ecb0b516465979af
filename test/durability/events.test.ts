/**
 * ORCH-009 event handling: the EventType names, delivered in order; handlers
 * that throw, reject or hang never harm a run; and a resumed run's journal is
 * replayed without firing any handler again.
 */
import { describe, expect, it } from 'vitest';
import {
  defineAgent,
  type EngineEvent,
  EventType,
  type WorkflowDefinitionInput,
} from '../../src/index.js';
import { chain, durableRuntime, Gates, recordEvents, scratchDir, useScratch } from './helpers.js';

useScratch();

const worker = (gates?: Gates, hold: string[] = []) =>
  defineAgent({
    role: 'worker',
    concurrency: 10,
    run: async (task, ctx) => {
      if (task.input.progress) ctx.progress(0.5, 'halfway');
      if (ctx.attempt < Number(task.input.failUntil ?? 0)) throw new Error('not yet');
      if (hold.includes(task.id)) await gates?.wait(task.id);
      return `${task.id} done`;
    },
  });

/** What a listener saw, as `type` or `type:taskId`. */
const names = (events: EngineEvent[]) =>
  events.map((e) =>
    'taskId' in e && e.type !== 'workflow.failed' ? `${e.type}:${e.taskId}` : e.type,
  );

const withoutCheckpoints = (events: EngineEvent[]) =>
  events.filter((e) => e.type !== EventType.CHECKPOINT_SAVED);

const checkpointReasons = (events: EngineEvent[]) =>
  events.flatMap((e) => (e.type === 'checkpoint.saved' ? [e.reason] : []));

describe('ORCH-009 event handling', () => {
  it('ORCH-009 delivers each EventType of a run in order', async () => {
    const { rt } = await durableRuntime(await scratchDir(), { agents: [worker()] });
    const events = recordEvents(rt);
    const definition: WorkflowDefinitionInput = {
      name: 'events',
      tasks: [
        { id: 'a', agent: 'worker', input: { progress: true } },
        {
          id: 'b',
          agent: 'worker',
          dependsOn: ['a'],
          input: { failUntil: 2 },
          retry: { maxAttempts: 2, initialDelayMs: 1, jitter: 0 },
        },
        {
          id: 'c',
          agent: 'worker',
          dependsOn: ['b'],
          condition: { task: 'b', path: 'output', equals: 'never' },
        },
        { id: 'd', agent: 'worker', dependsOn: ['b'] },
      ],
    };
    const result = await rt.engine.execute(definition, { workflowId: 'wf-events' });
    expect(result.status).toBe('completed');
    expect(names(events)).toEqual([
      EventType.WORKFLOW_STARTED,
      `${EventType.TASK_STARTED}:a`,
      `${EventType.TASK_PROGRESS}:a`,
      `${EventType.TASK_COMPLETED}:a`,
      `${EventType.TASK_STARTED}:b`,
      `${EventType.TASK_RETRYING}:b`,
      `${EventType.TASK_READY}:b`,
      `${EventType.TASK_STARTED}:b`,
      `${EventType.TASK_COMPLETED}:b`,
      `${EventType.TASK_SKIPPED}:c`,
      `${EventType.TASK_STARTED}:d`,
      `${EventType.TASK_COMPLETED}:d`,
      EventType.WORKFLOW_COMPLETED,
      EventType.CHECKPOINT_SAVED,
    ]);
    expect(events.every((e) => e.workflowId === 'wf-events')).toBe(true);
    expect(events.find((e) => e.type === 'task.completed')).toEqual({
      type: 'task.completed',
      workflowId: 'wf-events',
      taskId: 'a',
      output: 'a done',
      at: expect.any(Number),
    });
  });

  it('ORCH-009 delivers pause, resume, failure and cancellation events', async () => {
    const gates = new Gates();
    const { rt } = await durableRuntime(await scratchDir(), {
      agents: [
        worker(gates, ['a', 'x']),
        defineAgent({
          role: 'failer',
          run: () => {
            throw new Error('nope');
          },
        }),
      ],
    });
    const events = recordEvents(rt);
    const handle = await rt.engine.start(chain('pausing', ['a', 'b']), { workflowId: 'wf-p' });
    await gates.arrived('a');
    rt.engine.pause('wf-p');
    gates.open('a');
    await new Promise<void>((resolve) => rt.engine.on('task.completed', () => resolve()));
    rt.engine.resume('wf-p');
    await handle.result;
    // checkpoint.saved comes once the checkpoint is written, so its place
    // among the run's own events depends on when the batch lands.
    const ofRun = events.filter((e) => e.workflowId === 'wf-p');
    expect(names(withoutCheckpoints(ofRun))).toEqual([
      EventType.WORKFLOW_STARTED,
      `${EventType.TASK_STARTED}:a`,
      EventType.WORKFLOW_PAUSED,
      `${EventType.TASK_COMPLETED}:a`,
      EventType.WORKFLOW_RESUMED,
      `${EventType.TASK_STARTED}:b`,
      `${EventType.TASK_COMPLETED}:b`,
      EventType.WORKFLOW_COMPLETED,
    ]);
    expect(checkpointReasons(ofRun)).toEqual(['pause', 'end']);

    events.length = 0;
    const failed = await rt.engine.execute(
      { name: 'failing', tasks: [{ id: 'f', agent: 'failer' }] },
      { workflowId: 'wf-f' },
    );
    expect(failed.status).toBe('failed');
    expect(names(events)).toEqual([
      EventType.WORKFLOW_STARTED,
      `${EventType.TASK_STARTED}:f`,
      `${EventType.TASK_FAILED}:f`,
      EventType.WORKFLOW_FAILED,
      EventType.CHECKPOINT_SAVED,
    ]);

    events.length = 0;
    const cancelling = await rt.engine.start(
      { name: 'cancelling', tasks: [{ id: 'x', agent: 'worker' }] },
      { workflowId: 'wf-c' },
    );
    await gates.arrived('x');
    rt.engine.cancel('wf-c', 'stop');
    expect((await cancelling.result).status).toBe('cancelled');
    expect(names(events)).toEqual([
      EventType.WORKFLOW_STARTED,
      `${EventType.TASK_STARTED}:x`,
      `${EventType.TASK_CANCELLED}:x`,
      EventType.WORKFLOW_CANCELLED,
      EventType.CHECKPOINT_SAVED,
    ]);
  });

  it('ORCH-009 a handler that throws, rejects or hangs never harms the run, and its error is reported', async () => {
    const { rt, errors } = await durableRuntime(await scratchDir(), { agents: [worker()] });
    rt.engine.registerEventHandler(EventType.TASK_COMPLETED, () => {
      throw new Error('sync handler broke');
    });
    rt.engine.registerEventHandler(EventType.TASK_STARTED, async () => {
      throw new Error('async handler broke');
    });
    rt.engine.registerEventHandler(EventType.WORKFLOW_STARTED, () => new Promise(() => undefined));
    // Registered after the broken ones: still called for every event.
    const seen = recordEvents(rt);
    const removed: EngineEvent[] = [];
    const off = rt.engine.on('*', (event) => {
      removed.push(event);
    });
    off();

    const result = await rt.engine.execute(chain('robust', ['a', 'b', 'c']), {
      workflowId: 'wf-robust',
    });
    expect(result.status).toBe('completed');
    expect(Object.values(result.tasks).map((t) => t.status)).toEqual([
      'completed',
      'completed',
      'completed',
    ]);
    expect(seen.filter((e) => e.type === 'task.completed')).toHaveLength(3);
    expect(removed).toEqual([]);
    expect(
      errors.filter((e) => e === 'listener of task.completed: sync handler broke'),
    ).toHaveLength(3);
    expect(
      errors.filter((e) => e === 'listener of task.started: async handler broke'),
    ).toHaveLength(3);
    expect(errors).toHaveLength(6);
  });

  it('ORCH-009 replay does not re-fire handlers: a resuming runtime sees only what happens after the resume', async () => {
    const dataDir = await scratchDir();
    const gates = new Gates();
    const first = await durableRuntime(dataDir, { agents: [worker(gates, ['c'])] });
    const before = recordEvents(first.rt);
    await first.rt.engine.start(chain('replay', ['a', 'b', 'c', 'd']), {
      workflowId: 'wf-replay',
      checkpointInterval: 100,
    });
    await gates.arrived('c');
    await first.rt.engine.flushed();
    await first.rt.close();
    expect(names(before)).toEqual([
      'workflow.started',
      'task.started:a',
      'task.completed:a',
      'task.started:b',
      'task.completed:b',
      'task.started:c',
    ]);

    const second = await durableRuntime(dataDir, { agents: [worker()] });
    const after = recordEvents(second.rt);
    const result = await second.rt.engine.resumeFromCheckpoint('wf-replay');
    expect(result?.status).toBe('completed');
    expect(names(withoutCheckpoints(after))).toEqual([
      EventType.WORKFLOW_RESTORED,
      `${EventType.TASK_STARTED}:c`,
      `${EventType.TASK_COMPLETED}:c`,
      `${EventType.TASK_STARTED}:d`,
      `${EventType.TASK_COMPLETED}:d`,
      EventType.WORKFLOW_COMPLETED,
    ]);
    // The replayed tail (a and b) is short of the interval: no checkpoint at the restore.
    expect(checkpointReasons(after)).toEqual(['end']);
    expect(after[0]).toMatchObject({ state: 'running', requeued: ['c'] });
  });
});
