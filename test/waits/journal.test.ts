/**
 * Waits in the journal and in time travel: a checkpoint taken while a task
 * waits holds the wait, `engine.history` shows it, and a fork from it waits
 * for the same answer under its own id.
 */
import { expect, it } from 'vitest';
import type { EngineEvent } from '../../src/index.js';
import { agent } from '../core/helpers.js';
import { durableRuntime, scratchDir, useScratch } from '../durability/helpers.js';

useScratch();

it('fork from a checkpoint taken while waiting waits for the same answer', async () => {
  const { rt } = await durableRuntime(await scratchDir());
  rt.registerAgent(agent('ops', () => 'deployed'));
  const waiting = new Promise<EngineEvent>((resolve) => rt.engine.on('task.waiting', resolve));
  const original = await rt.engine.start(
    {
      name: 'release',
      tasks: [
        { id: 'ok', kind: 'approval', wait: { prompt: 'Ship?' } },
        { id: 'deploy', agent: 'ops', dependsOn: ['ok'] },
      ],
    },
    { workflowId: 'orig' },
  );
  await waiting;
  rt.engine.pause('orig');
  await rt.engine.flushed();
  const history = await rt.engine.history('orig');
  const paused = history.at(-1)!;
  expect(paused).toMatchObject({ state: 'paused', waiting: ['ok'] });

  const forkWaiting = new Promise<EngineEvent>((resolve) =>
    rt.engine.on('task.waiting', (e) => {
      if ((e as { workflowId: string }).workflowId === 'forked') resolve(e);
    }),
  );
  const fork = await rt.engine.fork('orig', { checkpoint: paused.seq, workflowId: 'forked' });
  rt.engine.resume('forked');
  const state = await rt.engine.getState('forked');
  expect(state?.tasks.ok?.status).toBe('waiting');
  expect((await rt.engine.waiting()).map((r) => r.workflowId).sort()).toEqual(['forked', 'orig']);
  await rt.engine.signal('forked', 'ok', { approved: true });
  expect((await fork.result).tasks.deploy?.output).toBe('deployed');
  expect(forkWaiting).toBeInstanceOf(Promise);

  // The original still waits, untouched by the fork.
  expect((await rt.engine.getState('orig'))?.tasks.ok?.status).toBe('waiting');
  rt.engine.resume('orig');
  await rt.engine.signal('orig', 'ok', { approved: false, reason: 'no' });
  expect((await original.result).status).toBe('failed');
});
