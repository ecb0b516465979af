/**
 * Replay (`engine.replay`): a new run of a stored run's definition from the
 * shared context it started with, kept in the run record (`input`). Tasks
 * added at run time are not part of the replay's definition (the run adds
 * them again); forks and records without a starting input cannot be
 * replayed and say why.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/index.js';
import type { RunRecord } from '../../src/schemas/run-record.js';
import { workflowKey } from '../../src/store/keys.js';
import { durableRuntime, expectTroupeError, scratchDir, useScratch } from './helpers.js';

useScratch();

const agents = [
  defineAgent({
    role: 'planner',
    run: async (_task, ctx) => {
      const topics = ctx.shared.topics as string[];
      ctx.addTasks(topics.map((topic) => ({ id: `write-${topic}`, agent: 'writer' })));
      return topics.length;
    },
  }),
  defineAgent({
    role: 'writer',
    run: async (task, ctx) => `${ctx.shared.tone as string} ${task.id}`,
  }),
];

const plan = { name: 'plan', tasks: [{ id: 'plan', agent: 'planner' }] };

describe('engine.replay', () => {
  it('runs the stored definition again with the starting context, after a restart, with tasks added at run time added again', async () => {
    const dataDir = await scratchDir('troupe-replay-');
    const first = await durableRuntime(dataDir, { agents });
    const original = await first.rt.engine.execute(plan, {
      workflowId: 'plan-1',
      context: { topics: ['a', 'b'], tone: 'calm' },
    });
    expect(Object.keys(original.tasks).sort()).toEqual(['plan', 'write-a', 'write-b']);
    await first.rt.close();

    const second = await durableRuntime(dataDir, { agents });
    const stored = await second.rt.store.get<RunRecord>('workflows', workflowKey('plan-1'));
    // The ended record's definition grew; how many tasks it started with is kept for replay.
    expect(stored?.definition.tasks.map((t) => t.id)).toEqual(['plan', 'write-a', 'write-b']);
    expect(stored?.input).toEqual({ context: { topics: ['a', 'b'], tone: 'calm' }, tasks: 1 });

    const handle = await second.rt.engine.replay('plan-1', { workflowId: 'plan-2' });
    const result = await handle.result;
    expect(result.status).toBe('completed');
    expect(result.tasks['write-b']?.output).toBe('calm write-b');
    const replayed = await second.rt.store.get<RunRecord>('workflows', workflowKey('plan-2'));
    expect(replayed?.replayOf).toBe('plan-1');
    expect(replayed?.input?.context).toEqual({ topics: ['a', 'b'], tone: 'calm' });
    // The original is untouched.
    expect((await second.rt.engine.getState('plan-1'))?.tasks['write-a']?.output).toBe(
      'calm write-a',
    );
    expect(second.errors).toEqual([]);
  });

  it('refuses a fork, an old record without its input, an unknown run, and bad options', async () => {
    const { rt } = await durableRuntime(await scratchDir('troupe-replay-refused-'), {
      agents,
      checkpointInterval: 1,
    });
    await rt.engine.execute(plan, { workflowId: 'plan-1', context: { topics: ['a'], tone: 'x' } });
    const start = (await rt.engine.history('plan-1')).find((c) => c.state === 'running');
    const fork = await rt.engine.fork('plan-1', { checkpoint: start!.seq, workflowId: 'fork-1' });
    await fork.result;
    const forked = await expectTroupeError(() => rt.engine.replay('fork-1'), 'INVALID_INPUT');
    expect(forked.message).toMatch(/is a fork of "plan-1"/);

    const old = (await rt.store.get<RunRecord>('workflows', workflowKey('plan-1')))!;
    const { input: _dropped, ...withoutInput } = old;
    await rt.store.batch([
      { type: 'put', collection: 'workflows', key: workflowKey('plan-1'), value: withoutInput },
    ]);
    const oldRecord = await expectTroupeError(() => rt.engine.replay('plan-1'), 'INVALID_INPUT');
    expect(oldRecord.message).toMatch(/stored before troupe kept a run’s starting input/);
    await expectTroupeError(() => rt.engine.replay('nope'), 'WORKFLOW_NOT_FOUND');
    const options = await expectTroupeError(
      () => rt.engine.replay('plan-1', { at: 1 } as never),
      'INVALID_INPUT',
    );
    expect(options.message).toMatch(/unknown key "at"/);
  });
});
