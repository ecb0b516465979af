import { afterEach, describe, expect, it } from 'vitest';
import { JobPriority } from '../../src/machines/queue/job.js';
import { TaskQueue } from '../../src/runtime/queue/task-queue.js';
import { gate, settle } from './helpers.js';

const queues: TaskQueue[] = [];
function track(queue: TaskQueue): TaskQueue {
  queues.push(queue);
  return queue;
}
afterEach(async () => {
  await Promise.all(queues.splice(0).map((queue) => queue.stop({ graceful: false })));
});

describe('ORCH-016 priority execution', () => {
  it('ORCH-016 runs higher priority first, FIFO within a priority', async () => {
    const queue = track(new TaskQueue({ maxWorkers: 1 }));
    const order: string[] = [];
    queue.register('record', ({ jobId }) => {
      order.push(jobId);
    });
    const plan: Array<[string, JobPriority]> = [
      ['low-1', JobPriority.LOW],
      ['normal-1', JobPriority.NORMAL],
      ['urgent-1', JobPriority.URGENT],
      ['high-1', JobPriority.HIGH],
      ['low-2', JobPriority.LOW],
      ['urgent-2', JobPriority.URGENT],
      ['normal-2', JobPriority.NORMAL],
      ['high-2', JobPriority.HIGH],
      ['normal-3', JobPriority.NORMAL],
    ];
    for (const [id, priority] of plan) {
      await queue.enqueue({ id, name: id, handler: 'record', priority });
    }
    await queue.start();
    await queue.onIdle();
    expect(order).toEqual([
      'urgent-1',
      'urgent-2',
      'high-1',
      'high-2',
      'normal-1',
      'normal-2',
      'normal-3',
      'low-1',
      'low-2',
    ]);
  });

  it('ORCH-016 a job enqueued while others run still overtakes lower priorities', async () => {
    const queue = track(new TaskQueue({ maxWorkers: 1 }));
    const order: string[] = [];
    const blocker = gate();
    queue.register('block', () => blocker.promise);
    queue.register('record', ({ jobId }) => {
      order.push(jobId);
    });
    await queue.start();
    await queue.enqueue({ id: 'blocker', name: 'blocker', handler: 'block' });
    for (let i = 0; i < 5; i++) {
      await queue.enqueue({
        id: `low-${i}`,
        name: 'low',
        handler: 'record',
        priority: JobPriority.LOW,
      });
    }
    await queue.enqueue({
      id: 'urgent',
      name: 'urgent',
      handler: 'record',
      priority: JobPriority.URGENT,
    });
    blocker.open();
    await queue.onIdle();
    expect(order).toEqual(['urgent', 'low-0', 'low-1', 'low-2', 'low-3', 'low-4']);
  });

  it('ORCH-016 defaults to NORMAL priority and reports it', async () => {
    const queue = track(new TaskQueue());
    queue.register('noop', () => undefined);
    const id = await queue.enqueue({ name: 'default', handler: 'noop' });
    expect((await queue.getJob(id))?.priority).toBe(JobPriority.NORMAL);
  });
});

describe('worker pool', () => {
  it('never runs more than maxWorkers jobs at once, and uses all of them', async () => {
    const queue = track(new TaskQueue({ maxWorkers: 3 }));
    let active = 0;
    let peak = 0;
    const peaks: number[] = [];
    queue.register('work', async ({ args }) => {
      active++;
      peak = Math.max(peak, active);
      peaks.push(active);
      // Hold the worker for a varying number of event-loop turns.
      for (let i = 0; i < (args[0] as number); i++) await settle();
      active--;
    });
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) {
      ids.push(await queue.enqueue({ name: `job ${i}`, handler: 'work', args: [1 + (i % 4)] }));
    }
    let statsPeak = 0;
    queue.on('started', () => {
      statsPeak = Math.max(statsPeak, queue.stats().counts.running);
    });
    await queue.start();
    await queue.onIdle();
    expect(peak).toBe(3);
    expect(statsPeak).toBeLessThanOrEqual(3);
    expect(Math.max(...peaks)).toBeLessThanOrEqual(3);
    const results = await Promise.all(ids.map((id) => queue.waitForJob(id)));
    expect(results.every((result) => result.status === 'completed')).toBe(true);
  });

  it('with maxWorkers 50 and 1,000 jobs the peak is exactly 50', async () => {
    const queue = track(new TaskQueue({ maxWorkers: 50 }));
    let active = 0;
    let peak = 0;
    queue.register('work', async () => {
      active++;
      peak = Math.max(peak, active);
      await settle();
      active--;
    });
    for (let i = 0; i < 1000; i++) void queue.enqueue({ name: 'w', handler: 'work' });
    await queue.start();
    await queue.onIdle();
    expect(peak).toBe(50);
    expect(queue.stats().totals.completed).toBe(1000);
  });
});
