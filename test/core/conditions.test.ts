/**
 * Conditional tasks and the documented skip rule (scheduler.ts): a task whose
 * dependencies were all skipped is skipped; a task with at least one completed
 * dependency is evaluated (and runs if it has no condition).
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  createRuntime,
  type Runtime,
  type TaskDefinitionInput,
  type WorkflowEmitted,
} from '../../src/index.js';
import { agent } from './helpers.js';

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

/** Agent `check` returns its input as output; agent `work` records what ran and what it saw. */
async function conditionRuntime() {
  const ran: string[] = [];
  const dependencies: Record<string, string[]> = {};
  rt = await createRuntime({
    dataDir: false,
    agents: [
      agent('check', (task) => task.input),
      agent('work', (task, ctx) => {
        ran.push(task.id);
        dependencies[task.id] = Object.keys(ctx.dependencies).sort();
        return task.id;
      }),
    ],
  });
  const skipped: Extract<WorkflowEmitted, { type: 'task.skipped' }>[] = [];
  rt.engine.on('task.skipped', (event) => {
    skipped.push(event);
  });
  return { rt, ran, dependencies, skipped };
}

/**
 *   a (check) ──> gated [a.output.ok == true] ──> onlyGated ──> chain
 *   │                  └────────────────────────┐
 *   └──────────────────────────────────────> mixed (also depends on a)
 */
function gatedWorkflow(ok: boolean): { name: string; tasks: TaskDefinitionInput[] } {
  return {
    name: 'gated',
    tasks: [
      { id: 'a', agent: 'check', input: { ok } },
      {
        id: 'gated',
        agent: 'work',
        dependsOn: ['a'],
        condition: { task: 'a', path: 'output.ok', equals: true },
      },
      { id: 'onlyGated', agent: 'work', dependsOn: ['gated'] },
      { id: 'chain', agent: 'work', dependsOn: ['onlyGated'] },
      { id: 'mixed', agent: 'work', dependsOn: ['gated', 'a'] },
    ],
  };
}

describe('conditional tasks', () => {
  it('skips a task whose condition is false and propagates the skip by the documented rule', async () => {
    const { rt, ran, dependencies, skipped } = await conditionRuntime();
    const result = await rt.engine.execute(gatedWorkflow(false));

    expect(result.status).toBe('completed');
    expect(result.success).toBe(true);
    expect(ran).toEqual(['mixed']);
    expect(result.tasks.gated).toMatchObject({
      status: 'skipped',
      attempts: 0,
      skipReason: 'condition not met: a.output.ok != true',
    });
    // Every dependency skipped -> skipped, along the whole chain.
    expect(result.tasks.onlyGated).toMatchObject({
      status: 'skipped',
      skipReason: 'every dependency was skipped (gated)',
    });
    expect(result.tasks.chain).toMatchObject({
      status: 'skipped',
      skipReason: 'every dependency was skipped (onlyGated)',
    });
    // One completed dependency -> it runs, seeing only the completed one's output.
    expect(result.tasks.mixed).toMatchObject({ status: 'completed', output: 'mixed' });
    expect(dependencies.mixed).toEqual(['a']);
    expect(skipped.map((e) => e.taskId)).toEqual(['gated', 'onlyGated', 'chain']);
    expect(skipped[0]!.reason).toBe('condition not met: a.output.ok != true');
  });

  it('runs the conditional branch when the condition holds', async () => {
    const { rt, ran, dependencies } = await conditionRuntime();
    const result = await rt.engine.execute(gatedWorkflow(true));
    expect(result.status).toBe('completed');
    expect(ran.sort()).toEqual(['chain', 'gated', 'mixed', 'onlyGated']);
    expect(result.tasks.gated!.skipReason).toBeUndefined();
    expect(dependencies.mixed).toEqual(['a', 'gated']);
  });

  it('supports notEquals, exists, all, any and not over upstream results', async () => {
    const { rt, ran } = await conditionRuntime();
    const task = (id: string, condition: TaskDefinitionInput['condition']) => ({
      id,
      agent: 'work',
      dependsOn: ['a'],
      condition,
    });
    const result = await rt.engine.execute({
      name: 'operators',
      tasks: [
        { id: 'a', agent: 'check', input: { level: 'high', tags: ['x'] } },
        task('notEquals', { task: 'a', path: 'output.level', notEquals: 'low' }),
        task('exists', { task: 'a', path: 'output.tags.0', exists: true }),
        task('missing', { task: 'a', path: 'output.nothing', exists: true }),
        task('status', { task: 'a', path: 'status', equals: 'completed' }),
        task('all', {
          all: [
            { task: 'a', path: 'output.level', equals: 'high' },
            { task: 'a', path: 'output.tags', equals: ['x'] },
          ],
        }),
        task('anyNone', {
          any: [
            { task: 'a', path: 'output.level', equals: 'low' },
            { task: 'a', path: 'output.level', equals: 'medium' },
          ],
        }),
        task('not', { not: { task: 'a', path: 'output.level', equals: 'low' } }),
      ],
    });
    expect(result.status).toBe('completed');
    expect(ran.sort()).toEqual(['all', 'exists', 'not', 'notEquals', 'status']);
    expect(result.tasks.missing!.skipReason).toBe(
      'condition not met: a.output.nothing does not exist',
    );
    expect(result.tasks.anyNone!.skipReason).toBe(
      'condition not met: none holds: a.output.level != "low"; a.output.level != "medium"',
    );
  });

  it('skips a first task whose condition reads only the shared context through a guard', async () => {
    const { rt, ran } = await conditionRuntime();
    rt.registerGuard('flag', ({ shared, params }) => shared[String(params.name)] === true);
    const definition = {
      name: 'feature-flag',
      tasks: [
        { id: 'beta', agent: 'work', condition: { guard: 'flag', params: { name: 'beta' } } },
        { id: 'after', agent: 'work', dependsOn: ['beta'] },
      ],
    };
    const off = await rt.engine.execute(definition, { context: { beta: false } });
    expect(off.tasks.beta).toMatchObject({
      status: 'skipped',
      skipReason: 'condition not met: guard "flag" returned false',
    });
    expect(off.tasks.after!.status).toBe('skipped');
    expect(ran).toEqual([]);

    const on = await rt.engine.execute(definition, { context: { beta: true } });
    expect(on.status).toBe('completed');
    expect(ran).toEqual(['beta', 'after']);
  });
});

describe('named guards', () => {
  it('calls a registered guard with upstream results and params', async () => {
    const { rt, ran } = await conditionRuntime();
    const calls: unknown[] = [];
    rt.registerGuard('bigEnough', ({ results, params }) => {
      const size = (results.a!.output as { size: number }).size;
      calls.push({ size, params, status: results.a?.status });
      return size >= Number(params.min);
    });
    const result = await rt.engine.execute({
      name: 'guarded',
      tasks: [
        { id: 'a', agent: 'check', input: { size: 12 } },
        {
          id: 'big',
          agent: 'work',
          dependsOn: ['a'],
          condition: { guard: 'bigEnough', params: { min: 10 } },
        },
        {
          id: 'huge',
          agent: 'work',
          dependsOn: ['a'],
          condition: { guard: 'bigEnough', params: { min: 100 } },
        },
      ],
    });
    expect(ran).toEqual(['big']);
    expect(result.tasks.huge).toMatchObject({
      status: 'skipped',
      skipReason: 'condition not met: guard "bigEnough" returned false',
    });
    expect(calls).toEqual([
      { size: 12, params: { min: 10 }, status: 'completed' },
      { size: 12, params: { min: 100 }, status: 'completed' },
    ]);
  });

  it('skips (with the reason) instead of crashing when a guard throws', async () => {
    const { rt, ran } = await conditionRuntime();
    rt.registerGuard('broken', () => {
      throw new Error('guard bug');
    });
    const result = await rt.engine.execute({
      name: 'broken-guard',
      tasks: [
        { id: 'x', agent: 'work', condition: { guard: 'broken' } },
        { id: 'y', agent: 'work' },
      ],
    });
    expect(result.status).toBe('completed');
    expect(ran).toEqual(['y']);
    expect(result.tasks.x!.skipReason).toBe('condition not met: guard "broken" threw: guard bug');
  });
});
