/**
 * Limits as data: size limits with a typed error naming the limit and the
 * option that raises it, and one rule for time limits (the longest timer
 * Node can arm, 2^31-1 ms).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SimulatedClock } from 'xstate';
import { createRuntime, MAX_TIMER_MS, type Runtime, TaskQueue } from '../../src/index.js';
import { agent, expectTroupeError } from '../core/helpers.js';
import { settle } from '../queue/helpers.js';

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

describe('size limits', () => {
  const limits = {
    maxMessageBytes: 1_000,
    maxTaskOutputBytes: 2_000,
    maxSharedUpdateBytes: 3_000,
    maxJobBytes: 4_000,
  };

  it('a message payload over maxMessageBytes: VALUE_TOO_LARGE naming the limit and the option', async () => {
    rt = await createRuntime({ dataDir: false, limits, agents: [agent('sink', () => null)] });
    const error = await expectTroupeError(
      () =>
        rt!.communicator.sendMessage({
          from: 'user',
          to: 'sink',
          type: 'notification',
          payload: { text: 'x'.repeat(1_000) },
        }),
      'VALUE_TOO_LARGE',
    );
    expect(error.context).toMatchObject({ limit: 'maxMessageBytes', max: 1_000 });
    expect(error.message).toContain('createRuntime({ limits: { maxMessageBytes } })');
    // Under the limit it goes through.
    await rt.communicator.sendMessage({
      from: 'user',
      to: 'sink',
      type: 'notification',
      payload: 'x'.repeat(900),
    });
  });

  it('a task output over maxTaskOutputBytes fails the task; an update over maxSharedUpdateBytes too', async () => {
    rt = await createRuntime({
      dataDir: false,
      limits,
      agents: [
        agent('big', () => 'x'.repeat(2_000)),
        agent('wide', (_task, ctx) => {
          ctx.updateShared({ text: 'y'.repeat(3_000) });
          return null;
        }),
      ],
    });
    const big = await rt.engine.execute({ name: 'big', tasks: [{ id: 'b', agent: 'big' }] });
    expect(big.tasks.b!.error).toMatchObject({ code: 'VALUE_TOO_LARGE' });
    expect(big.tasks.b!.error!.message).toContain('maxTaskOutputBytes');
    const wide = await rt.engine.execute({ name: 'wide', tasks: [{ id: 'w', agent: 'wide' }] });
    expect(wide.tasks.w!.error!.message).toContain('maxSharedUpdateBytes');
    await expectTroupeError(
      () => rt!.communicator.updateSharedContext('wf', 'a', { text: 'z'.repeat(3_000) }),
      'VALUE_TOO_LARGE',
    );
  });

  it('job args over maxJobBytes, in a runtime and in a standalone queue', async () => {
    rt = await createRuntime({ dataDir: false, limits });
    rt.queue.register('noop', () => null);
    const error = await expectTroupeError(
      () => rt!.queue.enqueue({ name: 'big', handler: 'noop', args: ['x'.repeat(4_000)] }),
      'VALUE_TOO_LARGE',
    );
    expect(error.context).toMatchObject({ limit: 'maxJobBytes', max: 4_000 });
    const queue = new TaskQueue({ maxJobBytes: 10 });
    queue.register('noop', () => null);
    await expectTroupeError(
      () => queue.enqueue({ name: 'big', handler: 'noop', args: ['more than ten'] }),
      'VALUE_TOO_LARGE',
    );
  });

  it('limits themselves are validated, and unknown limit keys are refused', async () => {
    const bad = await expectTroupeError(
      () => createRuntime({ dataDir: false, limits: { maxMessageBytes: 0 } }),
      'INVALID_INPUT',
    );
    expect(bad.message).toContain('options.limits.maxMessageBytes: must be at least 1');
    const unknown = await expectTroupeError(
      () => createRuntime({ dataDir: false, limits: { maxMessagesBytes: 5 } as never }),
      'INVALID_INPUT',
    );
    expect(unknown.message).toContain('unknown key "maxMessagesBytes"');
  });
});

describe('time limits: at most 2^31-1 ms, the same rule everywhere', () => {
  const TOO_LONG = 'must be at most 2147483647 ms (about 24.8 days)';

  it('request and lock timeouts, lock leases, waitForJob and job timeouts', async () => {
    rt = await createRuntime({ dataDir: false, agents: [agent('a', () => null)] });
    const c = rt.communicator;
    const request = await expectTroupeError(
      () => c.request({ from: 'u', to: 'a' }, { timeout: MAX_TIMER_MS + 1 }),
      'INVALID_INPUT',
    );
    expect(request.message).toContain(`options.timeout: ${TOO_LONG}`);
    for (const options of [{ timeout: 2 ** 31 }, { ttlMs: 2 ** 32 }]) {
      const lock = await expectTroupeError(
        () => c.acquireLock('wf', 'k', 'o', options),
        'INVALID_INPUT',
      );
      expect(lock.message).toContain(TOO_LONG);
    }
    // Infinity stays "no limit" where a wait allows it.
    const lease = await c.acquireLock('wf', 'k', 'o', { timeout: Infinity });
    expect(lease.owner).toBe('o');
    rt.queue.register('noop', () => null);
    const id = await rt.queue.enqueue({ name: 'n', handler: 'noop' });
    const wait = await expectTroupeError(
      () => rt!.queue.waitForJob(id, { timeoutMs: 2 ** 31 }),
      'INVALID_INPUT',
    );
    expect(wait.message).toContain(`options.timeoutMs: ${TOO_LONG}`);
    await expectTroupeError(
      () => rt!.queue.enqueue({ name: 'n', handler: 'noop', timeoutSeconds: 3_000_000 }),
      'INVALID_JOB',
    );
    await expectTroupeError(
      () => rt!.queue.enqueue({ name: 'n', handler: 'noop', backoff: { maxDelayMs: 2 ** 31 } }),
      'INVALID_JOB',
    );
  });

  it('a job scheduled further ahead than a timer can wait is not run early (the wake-up is re-armed)', async () => {
    const clock = new SimulatedClock();
    clock.set(Date.UTC(2025, 0, 1));
    const armed: number[] = [];
    const spy = {
      now: () => clock.now(),
      setTimeout: (fn: () => void, ms: number) => {
        armed.push(ms);
        return clock.setTimeout(fn, ms);
      },
      clearTimeout: (handle: unknown) => clock.clearTimeout(handle as never),
    };
    const queue = new TaskQueue({ clock: spy });
    const ran: number[] = [];
    queue.register('tick', () => {
      ran.push(clock.now());
    });
    await queue.start();
    const days30 = 30 * 24 * 3_600_000;
    const id = await queue.schedule({ name: 't', handler: 'tick' }, clock.now() + days30);
    await settle();
    expect(Math.max(...armed)).toBeLessThanOrEqual(MAX_TIMER_MS);
    clock.increment(MAX_TIMER_MS);
    await settle();
    expect(ran).toEqual([]);
    expect((await queue.getJob(id))?.status).toBe('scheduled');
    clock.increment(days30 - MAX_TIMER_MS);
    await settle();
    await queue.waitForJob(id);
    expect(ran).toEqual([Date.UTC(2025, 0, 1) + days30]);
    await queue.stop();
  });
});
