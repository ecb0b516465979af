import { describe, expect, it } from 'vitest';
import type { TroupeError } from '../../src/errors.js';
import { backoffDelay } from '../../src/machines/backoff.js';
import { advance, EPOCH, settle, useSimulatedQueues } from './helpers.js';

const setup = useSimulatedQueues();

describe('ORCH-017 retry logic', () => {
  it('ORCH-017 retries with exponential backoff and completes once an attempt succeeds', async () => {
    const { queue, clock } = setup({
      backoff: { initialDelayMs: 1000, factor: 2, maxDelayMs: 10_000, jitter: 0 },
    });
    const starts: number[] = [];
    queue.register('flaky', ({ attempt }) => {
      starts.push(clock.now() - EPOCH);
      if (attempt < 3) throw new Error(`flaky failure ${attempt}`);
      return { ok: true, attempt };
    });
    await queue.start();
    const id = await queue.enqueue({
      id: 'flaky-1',
      name: 'flaky',
      handler: 'flaky',
      maxRetries: 3,
    });
    await settle();
    expect(starts).toEqual([0]);
    expect((await queue.getJob(id))?.status).toBe('retrying');
    await advance(clock, 999, 333);
    expect(starts).toEqual([0]);
    await advance(clock, 1);
    expect(starts).toEqual([0, 1000]);
    await advance(clock, 2000, 100);
    expect(starts).toEqual([0, 1000, 3000]);

    const result = await queue.waitForJob(id);
    expect(result.status).toBe('completed');
    expect(result.result).toEqual({ ok: true, attempt: 3 });
    expect(result.attempts).toBe(3);
    expect(result.errors.map((error) => error.message)).toEqual([
      'flaky failure 1',
      'flaky failure 2',
    ]);
    expect(queue.stats().totals.retried).toBe(2);
  });

  it('ORCH-017 fails for good after maxRetries and keeps every attempt error', async () => {
    const { queue, clock } = setup({
      backoff: { initialDelayMs: 100, factor: 3, maxDelayMs: 10_000, jitter: 0 },
    });
    queue.register('broken', ({ attempt }) => {
      throw new Error(`boom ${attempt}`);
    });
    const retrying: Array<{ attempt: number; retryAt: number }> = [];
    queue.on('retrying', (event) =>
      retrying.push({ attempt: event.attempt, retryAt: event.retryAt }),
    );
    const failed: string[] = [];
    queue.on('failed', (result) => failed.push(result.jobId));
    await queue.start();
    const id = await queue.enqueue({
      id: 'broken-1',
      name: 'broken',
      handler: 'broken',
      maxRetries: 2,
    });
    await advance(clock, 1000, 50);

    const result = await queue.waitForJob(id);
    expect(result.status).toBe('failed');
    expect(result.attempts).toBe(3);
    expect(result.errors.map((error) => error.message)).toEqual(['boom 1', 'boom 2', 'boom 3']);
    expect(result.error?.message).toBe('boom 3');
    // Delays 100 then 300 ms: initialDelayMs * factor^(retry - 1).
    expect(retrying).toEqual([
      { attempt: 1, retryAt: EPOCH + 100 },
      { attempt: 2, retryAt: EPOCH + 100 + 300 },
    ]);
    expect(failed).toEqual([id]);
    const info = await queue.getJob(id);
    expect(info?.attempts.map((attempt) => attempt.outcome)).toEqual([
      'failed',
      'failed',
      'failed',
    ]);
  });

  it('ORCH-017 spreads retries with deterministic jitter and caps the delay', async () => {
    const policy = { initialDelayMs: 1000, factor: 10, maxDelayMs: 5000, jitter: 0.5 };
    const { queue, clock } = setup({ backoff: policy });
    queue.register('broken', () => {
      throw new Error('no');
    });
    const delays = new Map<string, number[]>();
    queue.on('retrying', (event) => {
      const list = delays.get(event.jobId) ?? [];
      list.push(event.retryAt - clock.now());
      delays.set(event.jobId, list);
    });
    await queue.start();
    for (const id of ['a', 'b', 'c']) {
      await queue.enqueue({ id, name: id, handler: 'broken', maxRetries: 3 });
    }
    await advance(clock, 20_000, 250);
    for (const id of ['a', 'b', 'c']) {
      const expected = [1, 2, 3].map((retry) => backoffDelay(policy, retry, `${id}:${retry}`));
      expect(delays.get(id)).toEqual(expected);
      for (const delay of expected) expect(delay).toBeLessThanOrEqual(5000);
      expect((await queue.waitForJob(id)).attempts).toBe(4);
    }
    // Different jobs wait different times: the jitter is keyed by job id.
    expect(new Set(['a', 'b', 'c'].map((id) => delays.get(id)![0])).size).toBe(3);
  });

  it('an error with retryable: false fails the job without retrying', async () => {
    const { queue } = setup();
    queue.register('reject', () => {
      throw Object.assign(new Error('bad input, retrying will not help'), { retryable: false });
    });
    await queue.start();
    const id = await queue.enqueue({ name: 'reject', handler: 'reject', maxRetries: 5 });
    const result = await queue.waitForJob(id);
    expect(result.status).toBe('failed');
    expect(result.attempts).toBe(1);
  });
});

describe('timeouts', () => {
  it('timeoutSeconds aborts the handler through its AbortSignal and counts as a failed attempt', async () => {
    const { queue, clock } = setup({
      backoff: { initialDelayMs: 500, factor: 2, maxDelayMs: 10_000, jitter: 0 },
    });
    const seen: Array<{ attempt: number; aborted: boolean; code: string | undefined }> = [];
    queue.register('slow', ({ attempt, signal }) => {
      if (attempt === 2) return 'second attempt was quick';
      return new Promise((_, reject) => {
        signal.addEventListener('abort', () => {
          seen.push({
            attempt,
            aborted: signal.aborted,
            code: (signal.reason as TroupeError).code,
          });
          reject(signal.reason);
        });
      });
    });
    await queue.start();
    const id = await queue.enqueue({
      id: 'slow-1',
      name: 'slow',
      handler: 'slow',
      timeoutSeconds: 2,
      maxRetries: 1,
    });
    await advance(clock, 1999, 500);
    expect(seen).toEqual([]);
    expect((await queue.getJob(id))?.status).toBe('running');
    await advance(clock, 1);
    expect(seen).toEqual([{ attempt: 1, aborted: true, code: 'JOB_TIMEOUT' }]);
    expect((await queue.getJob(id))?.status).toBe('retrying');
    await advance(clock, 500, 100);

    const result = await queue.waitForJob(id);
    expect(result.status).toBe('completed');
    expect(result.result).toBe('second attempt was quick');
    expect(result.attempts).toBe(2);
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]?.code).toBe('JOB_TIMEOUT');
    expect(result.errors[0]?.message).toContain('timed out after 2 s');
    const info = await queue.getJob(id);
    expect(info?.attempts.map((attempt) => attempt.outcome)).toEqual(['timed_out', 'completed']);
    expect(queue.stats().totals.timedOut).toBe(1);
  });

  it('a handler that ignores its signal loses its worker at the deadline', async () => {
    const { queue, clock } = setup({ maxWorkers: 1 });
    const order: string[] = [];
    queue.register('hang', () => new Promise(() => undefined));
    queue.register('next', ({ jobId }) => {
      order.push(jobId);
    });
    await queue.start();
    const hung = await queue.enqueue({
      id: 'hung',
      name: 'hang',
      handler: 'hang',
      timeoutSeconds: 1,
      maxRetries: 0,
    });
    await queue.enqueue({ id: 'after', name: 'next', handler: 'next' });
    await advance(clock, 999, 333);
    expect(order).toEqual([]);
    await advance(clock, 1);
    expect(order).toEqual(['after']);
    const result = await queue.waitForJob(hung);
    expect(result.status).toBe('failed');
    expect(result.error?.code).toBe('JOB_TIMEOUT');
  });
});
