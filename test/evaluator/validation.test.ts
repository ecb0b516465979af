/**
 * The evaluator's boundary: every argument is checked with zod and a bad one
 * is a TroupeError INVALID_INPUT naming the method, the argument, the field
 * and the fix (never a raw TypeError, never a silently ignored key); task
 * tables keyed by user task ids are prototype-safe; and `definition` accepts
 * exactly what `engine.execute()` accepts.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createRuntime,
  defineAgent,
  TroupeError,
  type WorkflowDefinitionInput,
  WorkflowEvaluator,
  type WorkflowResult,
} from '../../src/index.js';
import { buildRun, diamond, steppingClock } from './fixtures.js';

async function caught(action: () => unknown): Promise<TroupeError> {
  try {
    await action();
  } catch (error) {
    expect(error).toBeInstanceOf(TroupeError);
    return error as TroupeError;
  }
  throw new Error('expected a TroupeError');
}

function evaluator() {
  return new WorkflowEvaluator({ clock: steppingClock() });
}

const USER_KEYS = ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf'] as const;

describe('evaluator argument validation', () => {
  it.each([
    ['null', null, 'options: Invalid input: expected object, received null'],
    ['a string', 'fast', 'options: Invalid input: expected object'],
    ['a misspelt key', { treshholds: { good: 70 } }, 'options: unknown key "treshholds"'],
    ['a misspelt nested key', { weights: { sucess: 1 } }, 'options.weights: unknown key "sucess"'],
    ['a wrong type', { timingResolutionMs: '5' }, 'options.timingResolutionMs: Invalid input'],
    ['a store that is not one', { store: {} }, 'options.store: must be a troupe Store'],
    ['a scorer without score()', { scorers: [{ name: 'x', weight: 1 }] }, 'options.scorers[0]'],
  ])(
    'new WorkflowEvaluator(%s) is INVALID_INPUT naming the field and the fix',
    async (_, options, text) => {
      const error = await caught(() => new WorkflowEvaluator(options as never));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toContain('new WorkflowEvaluator(): invalid options:');
      expect(error.message).toContain(text);
      expect(error.message).toMatch(/Fix: pass an object with some of store, weights/);
      expect(error.context).toMatchObject({ argument: 'options' });
    },
  );

  it('lists the known keys when a key is misspelt', async () => {
    const error = await caught(() => new WorkflowEvaluator({ weigths: {} } as never));
    expect(error.message).toContain(
      'known keys: store, weights, thresholds, scorers, regression, clock, timingResolutionMs',
    );
    const nested = await caught(
      () => new WorkflowEvaluator({ regression: { metrics: { totalTime: {} } } } as never),
    );
    expect(nested.message).toContain('options.regression.metrics: unknown key "totalTime"');
    expect(nested.message).toContain('known keys: totalTimeMs, p95TaskTimeMs');
  });

  it('evaluateWorkflow(garbage) is INVALID_INPUT naming the argument', async () => {
    for (const garbage of [null, undefined, 42, 'run', [], { workflowId: 'x' }]) {
      const error = await caught(() => evaluator().evaluateWorkflow(garbage as never));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(/^WorkflowEvaluator\.evaluateWorkflow\(\): invalid result: /);
      expect(error.message).toContain('Fix: pass the WorkflowResult that engine.execute()');
    }
    const { result } = diamond();
    const options = await caught(() =>
      evaluator().evaluateWorkflow(result, { defintion: {} } as never),
    );
    expect(options.message).toContain('invalid options: options: unknown key "defintion"');
    const schemas = await caught(() =>
      evaluator().evaluateWorkflow(result, { outputSchemas: { plan: 'string' } } as never),
    );
    expect(schemas.message).toContain('options.outputSchemas.plan: must be a zod schema');
  });

  it('detectRegression(garbage) and history(garbage) are INVALID_INPUT naming the argument', async () => {
    const ev = evaluator();
    for (const garbage of [null, 1, {}, { workflowName: 'x' }]) {
      const error = await caught(() => ev.detectRegression(garbage as never));
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toMatch(
        /^WorkflowEvaluator\.detectRegression\(\): invalid evaluation: /,
      );
      expect(error.message).toContain('Fix: pass the evaluation that evaluateWorkflow() returned');
    }
    const evaluation = await ev.evaluateWorkflow(diamond().result);
    for (const options of [null, { baselineCount: 0 }, { baseline: 5 }]) {
      const error = await caught(() => ev.detectRegression(evaluation, options as never));
      expect(error.message).toMatch(/detectRegression\(\): invalid options: options/);
    }
    expect((await caught(() => ev.history(null as never))).message).toContain(
      'history(): invalid workflowName',
    );
    expect((await caught(() => ev.history('x', { limit: -1 }))).message).toContain(
      'options.limit: must be a non-negative integer',
    );
  });
});

describe('evaluator task tables keyed by user task ids', () => {
  /** A result whose task table has `ok` and `id`, through JSON as a stored result or an HTTP body arrives: `"__proto__"` is then an own key. */
  function resultWith(id: string, task: Record<string, unknown>): WorkflowResult {
    const { result } = buildRun({ tasks: [{ id: 'ok', start: 0 }] });
    const json = JSON.parse(JSON.stringify(result));
    json.tasks = JSON.parse(
      `{"ok":${JSON.stringify(result.tasks.ok)},${JSON.stringify(id)}:${JSON.stringify({ ...result.tasks.ok, ...task, taskId: id })}}`,
    );
    expect(Object.keys(json.tasks)).toEqual(['ok', id]);
    return json;
  }

  /** `{ [id]: value }` as an own property, even for `__proto__`. */
  function ownEntry<T>(id: string, value: T): Record<string, T> {
    const table: Record<string, T> = {};
    Object.defineProperty(table, id, {
      value,
      enumerable: true,
      writable: true,
      configurable: true,
    });
    return table;
  }

  it.each(USER_KEYS)('grades a failed task with id %s as a failure', async (id) => {
    const result = resultWith(id, {
      status: 'failed',
      error: { name: 'Error', message: 'boom', code: 'TASK_FAILED' },
    });
    const evaluation = await evaluator().evaluateWorkflow(result);
    expect(evaluation.score).toBeLessThan(100);
    expect(evaluation.grade).not.toBe('EXCELLENT');
    expect(evaluation.performance).toMatchObject({
      taskCount: 2,
      failedTasks: 1,
      successRate: 0.5,
    });
    expect(evaluation.tasks.map((task) => task.taskId)).toEqual(['ok', id]);
    expect(evaluation.recommendations[0]).toMatchObject({ kind: 'task-failed', taskId: id });
  });

  it.each(USER_KEYS)(
    'checks the output schema of a task with id %s, and only its own',
    async (id) => {
      const result = resultWith(id, { output: { n: 1 } });
      const outputSchemas = ownEntry(id, z.object({ n: z.string() }));
      const evaluation = await evaluator().evaluateWorkflow(result, { outputSchemas });
      expect(evaluation.tasks[1]).toMatchObject({ taskId: id, outputValid: false });
      expect(evaluation.tasks[0]!.outputValid).toBeUndefined();
      // Without a schema of its own, a task with this id finds none inherited from Object.prototype.
      const unchecked = await evaluator().evaluateWorkflow(result, { outputSchemas: {} });
      expect(unchecked.quality.outputsChecked).toBe(0);
    },
  );

  it('refuses a task whose taskId differs from its key', async () => {
    const { result } = diamond();
    const tasks = { ...result.tasks, other: { ...result.tasks.plan!, taskId: 'plan' } };
    const error = await caught(() => evaluator().evaluateWorkflow({ ...result, tasks }));
    expect(error.message).toContain('result.tasks.other.taskId: is "plan"; it must equal its key');
  });
});

describe('evaluateWorkflow({ definition })', () => {
  const literal: WorkflowDefinitionInput = {
    name: 'release',
    tasks: [
      { id: 'build', agent: 'worker' },
      { id: 'test', agent: 'worker', dependsOn: ['build'], timeoutMs: 5_000 },
      {
        id: 'publish',
        agent: 'worker',
        dependsOn: ['test'],
        condition: { task: 'test', path: 'ok', equals: true },
      },
    ],
  };

  it('accepts the definition literal execute() accepted, conditions and all', async () => {
    const rt = await createRuntime({
      dataDir: false,
      agents: [defineAgent({ role: 'worker', run: async () => ({ ok: true }) })],
    });
    try {
      const result = await rt.engine.execute(literal);
      expect(result.status).toBe('completed');
      const evaluation = await evaluator().evaluateWorkflow(result, { definition: literal });
      expect(evaluation.performance.criticalPathSource).toBe('definition');
      expect(evaluation.tasks.find((task) => task.taskId === 'test')!.timeoutMs).toBe(5_000);
      expect(evaluation.notes).toEqual([]);
    } finally {
      await rt.close();
    }
  });

  it('rejects a definition execute() would reject, naming the field under options.definition', async () => {
    const { result } = diamond();
    const cases: Array<[unknown, string]> = [
      [{ name: 'x', tasks: [] }, 'options.definition.tasks: a workflow needs at least one task'],
      [{ name: 'x', tasks: [{ id: 'a' }] }, 'options.definition.tasks[0].agent'],
      [{ name: 'x', tasks: [{ id: 'a', agent: 'w', dependsOn: ['b'] }] }, 'unknown task "b"'],
      [{ name: 'x', tasks: [{ id: 'a', agent: 'w' }], extra: 1 }, 'options.definition'],
      [null, 'options.definition'],
    ];
    for (const [definition, text] of cases) {
      const error = await caught(() =>
        evaluator().evaluateWorkflow(result, { definition } as never),
      );
      expect(error.code).toBe('INVALID_INPUT');
      expect(error.message).toContain(text);
      expect(error.message).toContain('Fix: pass the definition given to engine.execute()');
      expect((error.cause as TroupeError).code).toBe('INVALID_DEFINITION');
    }
  });
});

describe('score weights', () => {
  // Found by the nightly-size fuzz run: two weights of Number.MAX_VALUE summed to Infinity.
  it('weights near Number.MAX_VALUE give the same score as weights 1:1', async () => {
    const { result } = diamond();
    const huge = new WorkflowEvaluator({
      weights: { success: Number.MAX_VALUE, schedule: Number.MAX_VALUE },
      clock: steppingClock(),
    });
    const even = new WorkflowEvaluator({
      weights: { success: 1, schedule: 1 },
      clock: steppingClock(),
    });
    const score = (await huge.evaluateWorkflow(result)).score;
    expect(Number.isFinite(score)).toBe(true);
    expect(score).toBe((await even.evaluateWorkflow(result)).score);
  });
});
