/**
 * Every value an agent, handler or user hands over is checked where it
 * enters: the task that produced a bad one fails with INVALID_VALUE (path
 * included), and nothing else is touched, not even a run whose events share
 * the same group-commit batch.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { createRuntime, type Runtime, TaskQueue } from '../../src/index.js';
import { agent, deferred, expectTroupeError } from '../core/helpers.js';
import { durableRuntime, scratchDir, useScratch } from '../durability/helpers.js';

useScratch();
let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

const circular = () => {
  const value: Record<string, unknown> = {};
  value.self = value;
  return value;
};

describe('a bad value fails the task that produced it', () => {
  const cases: [string, Parameters<typeof agent>[1], string][] = [
    ['an output with a BigInt', () => ({ n: 1n }), 'output.n: a bigint is not JSON'],
    ['a circular output', () => circular(), 'output.self: a circular reference'],
    [
      'a shared-context update with a BigInt',
      (_task, ctx) => {
        ctx.updateShared({ total: 10n });
        return 'ok';
      },
      'updateShared(updates).total: a bigint is not JSON',
    ],
    [
      'a circular shared-context update, caught by the agent',
      (_task, ctx) => {
        try {
          ctx.updateShared({ loop: circular() });
        } catch {
          // Caught, and still the attempt fails: the value was refused.
        }
        return 'ok';
      },
      'updateShared(updates).loop.self: a circular reference',
    ],
    [
      'an added task with a BigInt input',
      (_task, ctx) => {
        ctx.addTasks([{ id: 'more', agent: 'bad', input: { n: 2n } }]);
        return 'ok';
      },
      'addTasks(tasks)[0].input.n: a bigint is not JSON',
    ],
    [
      'a progress message that is not a string',
      (_task, ctx) => {
        ctx.progress(0.5, { text: 'half' } as unknown as string);
        return 'ok';
      },
      'progress(message): must be a string',
    ],
    [
      'a progress fraction that is NaN',
      (_task, ctx) => {
        ctx.progress(Number.NaN);
        return 'ok';
      },
      'progress(fraction): must be a finite number',
    ],
  ];

  it.each(cases)('%s: INVALID_VALUE, no retry', async (_what, run, expected) => {
    rt = await createRuntime({ dataDir: false, agents: [agent('bad', run)] });
    const result = await rt.engine.execute({
      name: 'bad-values',
      tasks: [{ id: 't', agent: 'bad', retry: { maxAttempts: 3, initialDelayMs: 0 } }],
    });
    expect(result.status).toBe('failed');
    expect(result.tasks.t).toMatchObject({ status: 'failed', attempts: 1 });
    expect(result.tasks.t!.error!.code).toBe('INVALID_VALUE');
    expect(result.tasks.t!.error!.message).toContain(expected);
    expect(result.context).toEqual({});
  });

  it('a message payload from ctx.send that is not JSON rejects the send with INVALID_VALUE', async () => {
    let caught: unknown;
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('sender', async (_task, ctx) => {
          caught = await ctx
            .send({ to: 'sink', type: 'notification', payload: { at: new Date() } })
            .catch((e) => e);
          return 'sent';
        }),
        agent('sink', () => 'ok'),
      ],
    });
    await rt.engine.execute({ name: 'send', tasks: [{ id: 's', agent: 'sender' }] });
    expect(caught).toMatchObject({
      code: 'INVALID_VALUE',
      context: { path: 'message.payload.at' },
    });
  });

  it("a run's initial context that is not JSON is refused before the run starts", async () => {
    rt = await createRuntime({ dataDir: false, agents: [agent('a', () => 1)] });
    const error = await expectTroupeError(
      () =>
        rt!.engine.execute(
          { name: 'w', tasks: [{ id: 't', agent: 'a' }] },
          { context: { f: () => 1 } },
        ),
      'INVALID_VALUE',
    );
    expect(error.message).toContain('options.context.f: a function is not JSON');
    expect(await rt.engine.list()).toEqual([]);
  });

  it('a durable job result that is not JSON fails the job with INVALID_VALUE', async () => {
    const { MemoryStore } = await import('../../src/index.js');
    const queue = new TaskQueue({ store: new MemoryStore() });
    queue.register('big', () => ({ n: 1n }));
    await queue.start();
    const id = await queue.enqueue({ name: 'big', handler: 'big' });
    const result = await queue.waitForJob(id);
    expect(result.status).toBe('failed');
    expect(result.error).toMatchObject({ code: 'INVALID_VALUE' });
    expect(result.error!.message).toContain('result.n: a bigint is not JSON');
    await queue.stop();
  });
});

describe('a bad value never poisons the batch it would share', () => {
  it('two concurrent durable runs: the one with a BigInt update fails, the other completes and survives a reopen', async () => {
    const dir = await scratchDir();
    const release = deferred();
    const { rt: first } = await durableRuntime(dir, {
      agents: [
        agent('poison', async (_task, ctx) => {
          await release.promise;
          ctx.updateShared({ total: 10n });
          ctx.addTasks([{ id: 'x', agent: 'poison', input: { loop: circular() } }]);
          return 'never stored';
        }),
        agent('clean', async (_task, ctx) => {
          await release.promise;
          ctx.updateShared({ total: 10 });
          return { ok: true };
        }),
      ],
    });
    const bad = await first.engine.start(
      { name: 'poisoned', tasks: [{ id: 'p', agent: 'poison' }] },
      { workflowId: 'bad' },
    );
    const good = await first.engine.start(
      { name: 'clean', tasks: [{ id: 'c', agent: 'clean' }] },
      { workflowId: 'good' },
    );
    // Both attempts finish in the same turn: their events share one journal batch.
    release.resolve();
    const [badResult, goodResult] = await Promise.all([bad.result, good.result]);
    await first.engine.flushed();
    expect(goodResult.status).toBe('completed');
    expect(goodResult.context).toEqual({ total: 10 });
    expect(badResult.status).toBe('failed');
    expect(badResult.tasks.p!.error).toMatchObject({ code: 'INVALID_VALUE' });
    expect(badResult.tasks.p!.error!.message).toContain('updateShared(updates).total');
    await first.close();

    const { rt: second } = await durableRuntime(dir, {
      agents: [agent('poison', () => 1), agent('clean', () => 1)],
    });
    expect((await second.engine.getState('good'))?.status).toBe('completed');
    expect((await second.engine.getState('bad'))?.status).toBe('failed');
    expect((await second.engine.list()).map((r) => [r.workflowId, r.status])).toEqual([
      ['bad', 'failed'],
      ['good', 'completed'],
    ]);
    expect(await second.engine.interrupted()).toEqual([]);
    // And the runtime still runs a workflow.
    const after = await second.engine.execute({
      name: 'after',
      tasks: [{ id: 'a', agent: 'clean' }],
    });
    expect(after.status).toBe('completed');
  });
});
