import { afterEach, describe, expect, it } from 'vitest';
import { TroupeError } from '../../src/errors.js';
import { TaskQueue } from '../../src/runtime/queue/task-queue.js';
import { gate, settle } from './helpers.js';

const queues: TaskQueue[] = [];
function make(options: ConstructorParameters<typeof TaskQueue>[0] = {}): TaskQueue {
  const queue = new TaskQueue(options);
  queue.register('noop', () => 'ok');
  queues.push(queue);
  return queue;
}
afterEach(async () => {
  await Promise.all(queues.splice(0).map((queue) => queue.stop({ graceful: false })));
});

async function rejection(promise: Promise<unknown>): Promise<TroupeError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TroupeError);
    return error as TroupeError;
  }
  throw new Error('expected a rejection');
}

describe('bad jobs are rejected with clear errors', () => {
  const cases: Array<[string, unknown, string]> = [
    ['a missing name', { handler: 'noop' }, 'job.name: must be a string'],
    ['an empty name', { name: '', handler: 'noop' }, 'job.name: must not be empty'],
    ['a handler that is neither name nor function', { name: 'x', handler: 42 }, 'job.handler:'],
    [
      'an unknown priority',
      { name: 'x', handler: 'noop', priority: 7 },
      'job.priority: must be JobPriority',
    ],
    [
      'negative maxRetries',
      { name: 'x', handler: 'noop', maxRetries: -1 },
      'job.maxRetries: must be >= 0',
    ],
    [
      'fractional maxRetries',
      { name: 'x', handler: 'noop', maxRetries: 1.5 },
      'job.maxRetries: must be a whole number',
    ],
    [
      'a zero timeout',
      { name: 'x', handler: 'noop', timeoutSeconds: 0 },
      'job.timeoutSeconds: must be > 0',
    ],
    [
      'args that are not an array',
      { name: 'x', handler: 'noop', args: 'a' },
      'job.args: must be an array',
    ],
    [
      'an id with a slash',
      { id: 'a/b', name: 'x', handler: 'noop' },
      "job.id: must not contain '/'",
    ],
    ['an empty id', { id: '', name: 'x', handler: 'noop' }, 'job.id: must not be empty'],
    ['a misspelt option', { name: 'x', handler: 'noop', max_retries: 2 }, 'max_retries'],
    [
      'a bad backoff',
      { name: 'x', handler: 'noop', backoff: { jitter: 2 } },
      'job.backoff.jitter: must be between 0 and 1',
    ],
    ['an unregistered handler name', { name: 'x', handler: 'nope' }, 'no handler named "nope"'],
    ['a non-object', null, 'job: '],
  ];

  for (const [what, job, expected] of cases) {
    it(`rejects ${what} with INVALID_JOB naming the field`, async () => {
      const queue = make();
      const error = await rejection(queue.enqueue(job as never));
      expect(error.code).toBe('INVALID_JOB');
      expect(error.message).toContain('TaskQueue.enqueue()');
      expect(error.message).toContain(expected);
      expect(error.context.issues?.join('\n') ?? '').toMatch(/job/);
    });
  }

  it.each([
    ['a Date in the args of a durable job', [new Date()], 'job.args[0]: a Date is not plain JSON'],
    ['a function nested in the args', [{ cb: () => 1 }], 'job.args[0].cb: a function is not JSON'],
    ['a BigInt in the args', [1, 2n], 'job.args[1]: a bigint is not JSON'],
  ])('rejects %s with INVALID_VALUE naming the path', async (_what, args, expected) => {
    const queue = make();
    const error = await rejection(queue.enqueue({ name: 'x', handler: 'noop', args }));
    expect(error.code).toBe('INVALID_VALUE');
    expect(error.message).toContain('TaskQueue.enqueue()');
    expect(error.message).toContain(expected);
  });

  it('lists every bad field at once', async () => {
    const queue = make();
    const error = await rejection(
      queue.enqueue({ name: '', handler: 'noop', priority: 0, maxRetries: -2 } as never),
    );
    expect(error.context.issues).toHaveLength(3);
  });

  it('rejects schedule() with an invalid date', async () => {
    const queue = make();
    const error = await rejection(queue.schedule({ name: 'x', handler: 'noop' }, new Date('nope')));
    expect(error.code).toBe('INVALID_JOB');
    expect(error.message).toContain('runAt');
  });

  it('keeps working after rejecting bad jobs', async () => {
    const queue = make();
    await rejection(queue.enqueue({ name: 'x', handler: 'noop', priority: 9 } as never));
    await queue.start();
    const id = await queue.enqueue({ name: 'fine', handler: 'noop' });
    expect((await queue.waitForJob(id)).result).toBe('ok');
  });

  it('lets function-handler jobs carry any args (they are never stored)', async () => {
    const queue = make();
    await queue.start();
    const when = new Date(0);
    const id = await queue.enqueue({ name: 'fn', handler: ({ args }) => args[0], args: [when] });
    expect((await queue.waitForJob(id)).result).toBe(when);
  });
});

describe('duplicate ids', () => {
  it('checks generated ids again once a caller gave an id that looks generated', async () => {
    const queue = make();
    const rejected: string[] = [];
    queue.on('rejected', ({ jobId }) => rejected.push(jobId));
    const first = await queue.enqueue({ name: 'x', handler: 'noop' });
    // The default generator counts in base 36 after a per-queue prefix: guess its next id.
    const guessed = `${first.slice(0, first.lastIndexOf('-') + 1)}1`;
    expect(await queue.enqueue({ id: guessed, name: 'x', handler: 'noop' })).toBe(guessed);
    // Generated now, and taken by the queued job above: refused, not written over it.
    expect(await queue.enqueue({ name: 'x', handler: 'noop' })).toBe(guessed);
    expect(queue.stats().counts.queued).toBe(2);
    expect(rejected).toEqual([guessed]);
  });

  it('rejects an id that is queued, including twice in one tick', async () => {
    const queue = make();
    const first = queue.enqueue({ id: 'dup', name: 'x', handler: 'noop' });
    const second = queue.enqueue({ id: 'dup', name: 'x', handler: 'noop' });
    expect(await first).toBe('dup');
    const error = await rejection(second);
    expect(error.code).toBe('DUPLICATE_JOB');
    expect(error.message).toContain('"dup"');
    const third = await rejection(queue.enqueue({ id: 'dup', name: 'x', handler: 'noop' }));
    expect(third.message).toContain('already queued');
  });

  it('rejects an id that is running, and accepts it again once the job finished', async () => {
    const queue = make();
    const release = gate<string>();
    let runs = 0;
    queue.register('hold', () => {
      runs++;
      return release.promise;
    });
    await queue.start();
    await queue.enqueue({ id: 'again', name: 'x', handler: 'hold' });
    await settle();
    const error = await rejection(queue.enqueue({ id: 'again', name: 'x', handler: 'hold' }));
    expect(error.message).toContain('already running');
    release.open('first');
    expect((await queue.waitForJob('again')).result).toBe('first');

    // A finished job's id may be reused: the new job replaces the old record.
    await queue.enqueue({ id: 'again', name: 'x', handler: 'noop' });
    expect((await queue.waitForJob('again')).result).toBe('ok');
    expect(runs).toBe(1);
    expect(queue.stats().counts.completed).toBe(1);
  });
});

describe('options and registration', () => {
  it('rejects bad options with CONFIG_ERROR naming each option', () => {
    expect(() => new TaskQueue({ maxWorkers: 0, maxJobsPerSecond: -1 })).toThrow(
      expect.objectContaining({
        code: 'CONFIG_ERROR',
        message: expect.stringContaining('options.maxWorkers: must be >= 1'),
      }),
    );
    expect(() => new TaskQueue({ maxJobsPerSecond: -1 })).toThrow(/options\.maxJobsPerSecond/);
  });

  it('refuses a handler name registered twice', () => {
    const queue = make();
    expect(() => queue.register('noop', () => 1)).toThrow(/already registered/);
    expect(() => queue.register('', () => 1)).toThrow(
      /TaskQueue.register\(\): name: must not be empty/,
    );
  });
});
