import { describe, expect, it } from 'vitest';
import type { TroupeError } from '../../src/errors.js';
import { JobPriority } from '../../src/machines/queue/job.js';
import { advance, EPOCH, gate, settle, useSimulatedQueues } from './helpers.js';

const setup = useSimulatedQueues();

describe('ORCH-018 job scheduling', () => {
  it('ORCH-018 runs a scheduled job at its time, not before', async () => {
    const { queue, clock } = setup();
    const ranAt: number[] = [];
    queue.register('report', () => {
      ranAt.push(clock.now() - EPOCH);
      return 'sent';
    });
    await queue.start();
    const id = await queue.schedule({ name: 'daily digest', handler: 'report' }, EPOCH + 5000);
    expect((await queue.getJob(id))?.status).toBe('scheduled');
    expect((await queue.getJob(id))?.runAt).toBe(EPOCH + 5000);
    await advance(clock, 4999, 250);
    expect(ranAt).toEqual([]);
    await advance(clock, 1);
    expect(ranAt).toEqual([5000]);
    const result = await queue.waitForJob(id);
    expect(result).toMatchObject({ status: 'completed', result: 'sent', attempts: 1 });
  });

  it('ORCH-018 accepts a Date and runs a job whose time has passed at once', async () => {
    const { queue, clock } = setup();
    queue.register('noop', () => 'done');
    await queue.start();
    const future = await queue.schedule(
      { name: 'later', handler: 'noop' },
      new Date(EPOCH + 60_000),
    );
    const past = await queue.schedule(
      { name: 'overdue', handler: 'noop' },
      new Date(EPOCH - 60_000),
    );
    await settle();
    expect((await queue.getJob(past))?.status).toBe('completed');
    expect((await queue.getJob(future))?.status).toBe('scheduled');
    await advance(clock, 60_000, 10_000);
    expect((await queue.getJob(future))?.status).toBe('completed');
  });

  it('ORCH-018 runs scheduled jobs in time order, by priority when due together', async () => {
    const { queue, clock } = setup({ maxWorkers: 1 });
    const order: string[] = [];
    queue.register('record', ({ jobId }) => {
      order.push(jobId);
    });
    await queue.start();
    await queue.schedule({ id: 'at-300', name: 'a', handler: 'record' }, EPOCH + 300);
    await queue.schedule({ id: 'at-100', name: 'b', handler: 'record' }, EPOCH + 100);
    await queue.schedule({ id: 'at-200', name: 'c', handler: 'record' }, EPOCH + 200);
    await queue.schedule(
      { id: 'at-400-low', name: 'd', handler: 'record', priority: JobPriority.LOW },
      EPOCH + 400,
    );
    await queue.schedule(
      { id: 'at-400-urgent', name: 'e', handler: 'record', priority: JobPriority.URGENT },
      EPOCH + 400,
    );
    await advance(clock, 500, 50);
    expect(order).toEqual(['at-100', 'at-200', 'at-300', 'at-400-urgent', 'at-400-low']);
  });

  it('ORCH-018 a job that came due while the queue was stopped runs on start', async () => {
    const { queue, clock } = setup();
    let runs = 0;
    queue.register('count', () => {
      runs++;
    });
    const id = await queue.schedule({ name: 'count', handler: 'count' }, EPOCH + 1000);
    await advance(clock, 5000, 1000);
    expect(runs).toBe(0);
    await queue.start();
    await settle();
    expect(runs).toBe(1);
    expect((await queue.waitForJob(id)).status).toBe('completed');
  });
});

describe('cancelJob', () => {
  it('cancels queued and scheduled jobs so they never run', async () => {
    const { queue, clock } = setup();
    let runs = 0;
    queue.register('count', () => {
      runs++;
    });
    const queued = await queue.enqueue({ name: 'queued', handler: 'count' });
    const scheduled = await queue.schedule({ name: 'scheduled', handler: 'count' }, EPOCH + 100);
    expect(await queue.cancelJob(queued)).toBe(true);
    expect(await queue.cancelJob(scheduled)).toBe(true);
    await queue.start();
    await advance(clock, 1000, 100);
    expect(runs).toBe(0);
    expect((await queue.waitForJob(queued)).status).toBe('cancelled');
    expect((await queue.waitForJob(scheduled)).status).toBe('cancelled');
    expect(queue.stats().counts.cancelled).toBe(2);
  });

  it('aborts a running job through its signal and frees its worker', async () => {
    const { queue } = setup({ maxWorkers: 1 });
    let reason: TroupeError | undefined;
    queue.register('wait', ({ signal }) => {
      return new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          reason = signal.reason as TroupeError;
          reject(signal.reason);
        });
      });
    });
    queue.register('next', () => 'next ran');
    await queue.start();
    const running = await queue.enqueue({ name: 'wait', handler: 'wait' });
    const next = await queue.enqueue({ name: 'next', handler: 'next' });
    await settle();
    expect((await queue.getJob(running))?.status).toBe('running');
    const waiting = queue.waitForJob(running);
    expect(await queue.cancelJob(running)).toBe(true);
    expect(reason?.code).toBe('JOB_CANCELLED');
    expect((await waiting).status).toBe('cancelled');
    expect((await queue.waitForJob(next)).result).toBe('next ran');
  });

  it('returns false for a finished job and throws JOB_NOT_FOUND for an unknown id', async () => {
    const { queue } = setup();
    queue.register('noop', () => undefined);
    await queue.start();
    const id = await queue.enqueue({ name: 'noop', handler: 'noop' });
    await queue.waitForJob(id);
    expect(await queue.cancelJob(id)).toBe(false);
    await expect(queue.cancelJob('no-such-job')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });
});

describe('waitForJob', () => {
  it('rejects with WAIT_TIMEOUT on the queue clock, and the job carries on', async () => {
    const { queue, clock } = setup();
    const release = gate<string>();
    queue.register('slow', () => release.promise);
    await queue.start();
    const id = await queue.enqueue({ id: 'slow', name: 'slow', handler: 'slow' });
    const waiting = queue.waitForJob(id, { timeoutMs: 1000 });
    const outcome = waiting.then(
      () => 'resolved',
      (error: TroupeError) => error,
    );
    await advance(clock, 999, 333);
    let settled = false;
    void outcome.then(() => {
      settled = true;
    });
    await settle();
    expect(settled).toBe(false);
    await advance(clock, 1);
    const error = (await outcome) as TroupeError;
    expect(error.code).toBe('WAIT_TIMEOUT');
    expect(error.message).toContain('"slow"');
    expect(error.message).toContain('still running');
    release.open('finally');
    expect((await queue.waitForJob(id)).result).toBe('finally');
  });

  it('resolves at once for a finished job and rejects JOB_NOT_FOUND for an unknown one', async () => {
    const { queue } = setup();
    queue.register('noop', () => 42);
    await queue.start();
    const id = await queue.enqueue({ name: 'noop', handler: 'noop' });
    await settle();
    expect((await queue.waitForJob(id)).result).toBe(42);
    await expect(queue.waitForJob('missing')).rejects.toMatchObject({ code: 'JOB_NOT_FOUND' });
  });
});
