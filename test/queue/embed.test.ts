import { describe, expect, it } from 'vitest';
import { type AnyActorRef, createActor, setup, spawnChild } from 'xstate';
import { JobTable } from '../../src/machines/queue/job-table.js';
import {
  createQueueDeps,
  createQueueLogic,
  type QueueActorRef,
  type QueueDeps,
  queueInput,
} from '../../src/runtime/queue/queue-logic.js';
import { TaskQueue } from '../../src/runtime/queue/task-queue.js';
import { advance, EPOCH, gate, settle, simulatedClock } from './helpers.js';

/** A stand-in for the runtime's root actor: it owns the queue as a child with systemId 'queue'. */
function rootLogic(deps: QueueDeps) {
  return setup({ actors: { queue: createQueueLogic(deps) } }).createMachine({
    entry: spawnChild('queue', { id: 'queue', systemId: 'queue', input: queueInput(deps) }),
  });
}

describe('the queue inside a bigger actor system', () => {
  it('runs as a child with systemId "queue" behind TaskQueue.fromActor()', async () => {
    const clock = simulatedClock();
    const deps = createQueueDeps({ clock, maxWorkers: 2 });
    const root = createActor(rootLogic(deps), { clock });
    root.subscribe({ error: (error) => expect.fail(String(error)) });
    root.start();
    const queue = TaskQueue.fromActor(root.system.get('queue') as QueueActorRef, deps);
    queue.register('double', ({ args }) => (args[0] as number) * 2);
    await queue.start();
    const id = await queue.enqueue({ name: 'double', handler: 'double', args: [21] });
    expect((await queue.waitForJob(id)).result).toBe(42);
    await queue.stop();
    root.stop();
  });

  it('survives a JSON snapshot round trip: timers are re-armed, running jobs run again', async () => {
    const clock = simulatedClock();
    const deps = createQueueDeps({ clock, maxWorkers: 1 });
    const root = createActor(rootLogic(deps), { clock });
    root.start();
    const queue = TaskQueue.fromActor(root.system.get('queue') as QueueActorRef, deps);
    const hold = gate();
    queue.register('work', () => hold.promise);
    await queue.start();
    await queue.enqueue({ id: 'running', name: 'work', handler: 'work' });
    await queue.enqueue({ id: 'queued', name: 'work', handler: 'work' });
    await queue.schedule({ id: 'scheduled', name: 'work', handler: 'work' }, EPOCH + 5000);
    await settle();
    const json = JSON.stringify(root.getPersistedSnapshot());
    root.stop();
    // The job table serialises as a plain object.
    expect(json).toContain('"running":{"id":"running"');

    const restoredDeps = createQueueDeps({ clock, maxWorkers: 1 });
    const restored = createActor(rootLogic(restoredDeps), { clock, snapshot: JSON.parse(json) });
    restored.subscribe({ error: (error) => expect.fail(String(error)) });
    restored.start();
    const ref = restored.system.get('queue') as QueueActorRef;
    // Restored and recovered during start(): stopped until told to start.
    expect(ref.getSnapshot().value).toBe('stopped');
    const again = TaskQueue.fromActor(ref, restoredDeps);
    const runs: string[] = [];
    again.register('work', ({ jobId, attempt }) => {
      runs.push(`${jobId}#${attempt}`);
    });
    await settle();
    // The restarted runner told the queue: the job that was running was interrupted.
    const interrupted = await again.getJob('running');
    expect(interrupted?.status).toBe('queued');
    expect(interrupted?.attempts.map((attempt) => attempt.outcome)).toEqual(['interrupted']);
    await again.start();
    await settle();
    expect(ref.getSnapshot().context.jobs).toBeInstanceOf(JobTable);
    expect(runs).toEqual(['running#2', 'queued#1']);
    await advance(clock, 5000, 500);
    expect(runs).toEqual(['running#2', 'queued#1', 'scheduled#1']);
    expect((await again.waitForJob('scheduled')).status).toBe('completed');
    restored.stop();
  });

  it('fails loudly when the machine is used without its runner', async () => {
    const { queueMachine } = await import('../../src/machines/queue/queue-machine.js');
    const deps = createQueueDeps();
    const actor = createActor(queueMachine, { input: queueInput(deps) });
    const errors: unknown[] = [];
    actor.subscribe({ error: (error) => errors.push(error) });
    actor.start();
    expect(String(errors[0])).toContain('createQueueLogic(deps)');
    const anyRef: AnyActorRef = actor;
    expect(anyRef.getSnapshot().status).toBe('error');
  });
});
