/**
 * A record one run produces that cannot be stored (a value that is not JSON
 * reaching the journal or the result) fails only that run, never the
 * group-commit batch it would have shared with other runs.
 */
import { describe, expect, it } from 'vitest';
import { defineAgent } from '../../src/index.js';
import { chain, durableRuntime, expectTroupeError, scratchDir, useScratch } from './helpers.js';

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
      const error = await expectTroupeError(() => bad.result, 'INVALID_INPUT');
      expect(error.message).toContain('Workflow "wf-bad" cannot be stored');
      expect(error.context).toMatchObject({ workflowId: 'wf-bad' });
      expect((await good.result).status).toBe('completed');
      await rt.engine.flushed();
      expect(errors.length).toBeGreaterThan(0);
      for (const reported of errors) expect(reported).toMatch(/workflow "wf-bad"/);

      await rt.close();
      const next = await durableRuntime(dataDir, {
        agents: [defineAgent({ role: 'worker', run: () => 'ok' })],
      });
      const [stored] = await next.rt.engine.list({ status: 'completed' });
      expect(stored?.workflowId).toBe('wf-good');
      // The bad run is stored as it was before the bad record: interrupted.
      expect((await next.rt.engine.interrupted()).map((r) => r.workflowId)).toEqual(['wf-bad']);
    },
  );
});
