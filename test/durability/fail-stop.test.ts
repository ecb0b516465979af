/**
 * A value one run produces that cannot be stored (not JSON) fails only the
 * task that produced it: it is refused where it enters (INVALID_VALUE, see
 * docs/limits.md), so it never reaches the group-commit batch it would have
 * shared with other runs.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/index.js';
import { chain, durableRuntime, scratchDir, useScratch } from './helpers.js';

useScratch();

describe('fail-stop', () => {
  const bigint = () => ({ n: 1n });
  const cycle = () => {
    const value: Record<string, unknown> = {};
    value.self = value;
    return value;
  };
  it.each([
    ['a BigInt in shared context', 'shared', bigint],
    ['a cycle in shared context', 'shared', cycle],
    ['a BigInt in an added task', 'added', bigint],
  ] as const)(
    '%s fails only the run that produced it; a run completing in the same batch is stored',
    async (_label, route, value) => {
      const dataDir = await scratchDir();
      const { rt, errors } = await durableRuntime(dataDir, {
        agents: [
          defineAgent({
            role: 'poison',
            run: (_task, ctx) => {
              if (route === 'shared') ctx.updateShared({ bad: value() });
              else ctx.addTasks([{ id: 'q', agent: 'worker', input: value() }]);
              return 'ok';
            },
          }),
          defineAgent({ role: 'worker', run: (task) => `${task.id} done` }),
        ],
      });
      const bad = await rt.engine.start(chain('bad', ['p'], 'poison'), { workflowId: 'wf-bad' });
      const good = await rt.engine.start(chain('good', ['g']), { workflowId: 'wf-good' });
      const failed = await bad.result;
      expect(failed.status).toBe('failed');
      expect(failed.tasks.p?.error).toMatchObject({ code: 'INVALID_VALUE' });
      expect(failed.tasks.p?.error?.message).toContain('workflow "wf-bad"');
      expect((await good.result).status).toBe('completed');
      await rt.engine.flushed();
      expect(errors).toEqual([]);

      await rt.close();
      const next = await durableRuntime(dataDir, {
        agents: [defineAgent({ role: 'worker', run: () => 'ok' })],
      });
      const stored = await next.rt.engine.list();
      expect(stored.map((r) => [r.workflowId, r.status])).toEqual([
        ['wf-bad', 'failed'],
        ['wf-good', 'completed'],
      ]);
      expect(await next.rt.engine.interrupted()).toEqual([]);
    },
  );
});
