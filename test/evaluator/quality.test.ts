import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { workflowEvaluationSchema } from '../../src/actors/evaluator/evaluation-schema.js';
import { TroupeError } from '../../src/errors.js';
import { WorkflowEvaluator } from '../../src/runtime/evaluator/workflow-evaluator.js';
import { buildRun, diamond, steppingClock, T0 } from './fixtures.js';

function evaluator(options: ConstructorParameters<typeof WorkflowEvaluator>[0] = {}) {
  return new WorkflowEvaluator({ clock: steppingClock(), ...options });
}

describe('quality assessment', () => {
  it('ORCH-019 grades a clean run EXCELLENT with exact metrics and no advice', async () => {
    const { result, definition } = diamond();
    const evaluation = await evaluator().evaluateWorkflow(result, { definition });

    expect(evaluation.grade).toBe('EXCELLENT');
    expect(evaluation.score).toBe(100);
    expect(evaluation.evaluatedAt).toBe(T0);
    expect(evaluation.performance).toMatchObject({
      totalTimeMs: 500,
      taskCount: 4,
      successRate: 1,
      meanTaskTimeMs: 175,
      p95TaskTimeMs: 200,
      totalRetries: 0,
      criticalPathMs: 500,
      criticalPath: ['plan', 'build-api', 'test'],
      criticalPathSource: 'definition',
      criticalPathRatio: 1,
      peakConcurrency: 2,
      averageConcurrency: 1.4,
      parallelEfficiency: 0.7,
    });
    expect(evaluation.quality.errorRate).toBe(0);
    expect(evaluation.recommendations).toEqual([]);
    expect(evaluation.notes).toEqual([]);
    // Stored as plain JSON: it survives a JSON round trip and the schema.
    expect(workflowEvaluationSchema.parse(JSON.parse(JSON.stringify(evaluation)))).toEqual(
      evaluation,
    );
  });

  it('ORCH-019 grades a run with retries GOOD and names the flaky task and agent', async () => {
    const { result, definition } = diamond({ 'build-api': { attempts: 3 } });
    const evaluation = await evaluator().evaluateWorkflow(result, { definition });

    // success 1 × 0.4 + first-try 3/4 × 0.3 + schedule 1 × 0.15, over 0.85.
    expect(evaluation.score).toBe(91.2);
    expect(evaluation.grade).toBe('GOOD');
    expect(evaluation.performance.totalRetries).toBe(2);
    expect(evaluation.quality.errorRate).toBe(2 / 6);
    expect(evaluation.quality.firstAttemptRate).toBe(0.75);
    expect(evaluation.recommendations).toEqual([
      expect.objectContaining({ kind: 'retries', taskId: 'build-api', agent: 'backend' }),
    ]);
    expect(evaluation.recommendations[0]!.message).toMatch(
      /Task "build-api" \(agent "backend"\) succeeded only on attempt 3 \(2 retries\)/,
    );
  });

  it('ORCH-019 grades a run with failures FAIR or lower and says which task failed', async () => {
    const { result, definition } = diamond({
      'build-api': {
        status: 'failed',
        attempts: 3,
        error: { message: 'db down', code: 'TASK_FAILED' },
      },
      test: { status: 'cancelled', start: undefined },
    });
    const evaluation = await evaluator().evaluateWorkflow(result, { definition });

    // success 2/4 × 0.4 + first-try 2/3 × 0.3 + schedule 1 × 0.15, over 0.85.
    expect(evaluation.score).toBe(64.7);
    expect(evaluation.grade).toBe('FAIR');
    expect(evaluation.success).toBe(false);
    expect(evaluation.performance.successRate).toBe(0.5);
    expect(evaluation.quality.errorRate).toBe(3 / 5);
    const failed = evaluation.recommendations.find((r) => r.kind === 'task-failed');
    expect(failed).toMatchObject({ taskId: 'build-api', agent: 'backend' });
    expect(failed!.message).toContain('TASK_FAILED: db down');
    expect(failed!.message).toContain('all 3 attempts');
  });

  it('caps a failed run at FAIR however high its score', async () => {
    const tasks = Array.from({ length: 10 }, (_, i) => ({
      id: `t${i}`,
      start: i * 100,
      ...(i === 9 ? { status: 'failed' as const, error: { message: 'late failure' } } : {}),
    }));
    const { result } = buildRun({ tasks });
    const evaluation = await evaluator().evaluateWorkflow(result);
    expect(evaluation.score).toBeGreaterThanOrEqual(80);
    expect(evaluation.grade).toBe('FAIR');
  });

  it('points at the task that dominates the critical path', async () => {
    const { result, definition } = diamond({ test: { duration: 800 } });
    const evaluation = await evaluator().evaluateWorkflow(result, { definition });
    expect(evaluation.recommendations).toEqual([
      expect.objectContaining({ kind: 'critical-path', taskId: 'test', agent: 'qa' }),
    ]);
    expect(evaluation.recommendations[0]!.message).toContain('72.7% of the critical path');
  });

  it('warns about a timeout close to its limit and about a timeout that was hit', async () => {
    const { result, definition } = diamond({
      'build-ui': { timeoutMs: 220 },
      'build-api': {
        timeoutMs: 200,
        status: 'failed',
        error: { message: 'took too long', code: 'TASK_TIMEOUT' },
      },
      test: { status: 'cancelled', start: undefined },
    });
    const evaluation = await evaluator().evaluateWorkflow(result, { definition });
    const timeouts = evaluation.recommendations.filter((r) => r.kind === 'timeout');
    expect(timeouts.map((r) => [r.taskId, r.agent])).toEqual([
      ['build-api', 'backend'],
      ['build-ui', 'frontend'],
    ]);
    expect(timeouts[0]!.message).toContain('hit its timeout of 200 ms');
    expect(timeouts[1]!.message).toContain('used 90.9% of its 220 ms timeout');
    expect(evaluation.tasks.find((t) => t.taskId === 'build-ui')!.timeoutUsage).toBeCloseTo(
      200 / 220,
    );
  });

  it('names an agent whose tasks waited for a free slot', async () => {
    // build-ui could start at 100 but only got a slot at 300.
    const { result, definition } = diamond({
      'build-ui': { start: 300 },
      test: { start: 500 },
    });
    const evaluation = await evaluator().evaluateWorkflow(result, { definition });
    const ui = evaluation.tasks.find((t) => t.taskId === 'build-ui')!;
    expect(ui.waitMs).toBe(200);
    expect(evaluation.performance.criticalPathRatio).toBeCloseTo(500 / 700);
    expect(evaluation.recommendations).toContainEqual(
      expect.objectContaining({ kind: 'agent-bottleneck', agent: 'frontend' }),
    );
  });

  it('names an agent that does most of the critical path', async () => {
    const { result, definition } = buildRun({
      tasks: [
        { id: 'extract', agent: 'crawler', start: 0, duration: 300 },
        { id: 'clean', agent: 'cleaner', start: 300, duration: 100, dependsOn: ['extract'] },
        { id: 'enrich', agent: 'crawler', start: 400, duration: 300, dependsOn: ['clean'] },
      ],
    });
    const evaluation = await evaluator().evaluateWorkflow(result, { definition });
    expect(evaluation.recommendations).toEqual([
      expect.objectContaining({ kind: 'agent-bottleneck', agent: 'crawler' }),
    ]);
    expect(evaluation.recommendations[0]!.message).toContain('85.7%');
  });

  it('checks declared output schemas and reports outputValid per task', async () => {
    const { result, definition } = diamond({
      plan: { output: { steps: 'one' } },
      'build-api': { output: { files: ['api.ts'] } },
    });
    const evaluation = await evaluator().evaluateWorkflow(result, {
      definition,
      outputSchemas: {
        plan: z.object({ steps: z.array(z.string()) }),
        'build-api': z.object({ files: z.array(z.string()) }),
      },
    });
    const byId = new Map(evaluation.tasks.map((task) => [task.taskId, task]));
    expect(byId.get('plan')!.outputValid).toBe(false);
    expect(byId.get('plan')!.outputIssues![0]).toMatch(/^steps: /);
    expect(byId.get('build-api')!.outputValid).toBe(true);
    expect(byId.get('test')!.outputValid).toBeUndefined();
    expect(evaluation.quality).toMatchObject({ outputsChecked: 2, outputsValid: 1 });
    // outputs 1/2 × 0.15 joins the other three (all 1): 0.925 / 1.
    expect(evaluation.score).toBe(92.5);
    expect(evaluation.recommendations).toContainEqual(
      expect.objectContaining({ kind: 'invalid-output', taskId: 'plan', agent: 'planner' }),
    );
  });

  it('weighs custom (async) scorers into the score and survives one that throws', async () => {
    const { result, definition } = diamond();
    const judged = evaluator({
      scorers: [
        { name: 'judge', weight: 0.85, score: async () => 0.5 },
        {
          name: 'broken',
          weight: 1,
          score: () => {
            throw new Error('no model configured');
          },
        },
        { name: 'overflow', weight: 1, score: () => 7 },
      ],
    });
    const evaluation = await judged.evaluateWorkflow(result, { definition });
    // Built-ins give 0.85 of weight at 1.0, the judge 0.85 at 0.5: 75%.
    expect(evaluation.score).toBe(75);
    const breakdown = evaluation.quality.scoreBreakdown.filter((c) => c.kind === 'custom');
    expect(breakdown).toEqual([
      { name: 'judge', kind: 'custom', weight: 0.85, value: 0.5 },
      {
        name: 'broken',
        kind: 'custom',
        weight: 1,
        value: null,
        error: 'threw: no model configured',
      },
      {
        name: 'overflow',
        kind: 'custom',
        weight: 1,
        value: null,
        error: 'returned 7, expected 0..1 or null',
      },
    ]);
    expect(evaluation.notes).toHaveLength(2);
  });

  it('lets the weights change the score', async () => {
    const { result, definition } = diamond({ 'build-api': { attempts: 3 } });
    const strict = evaluator({ weights: { success: 0, reliability: 1, schedule: 0 } });
    const evaluation = await strict.evaluateWorkflow(result, { definition });
    expect(evaluation.score).toBe(75);
  });

  it('keeps the default of a weight or threshold given as undefined (found by the fuzz test)', async () => {
    const { result, definition } = diamond({ 'build-api': { attempts: 3 } });
    const plain = await evaluator().evaluateWorkflow(result, { definition });
    const unset = await evaluator({
      weights: { success: undefined },
      thresholds: { excellent: undefined },
    }).evaluateWorkflow(result, { definition });
    expect(unset.score).toBe(plain.score);
    expect(unset.grade).toBe(plain.grade);
    expect(unset.quality.scoreBreakdown.every((part) => typeof part.weight === 'number')).toBe(
      true,
    );
  });

  it('rejects bad options with INVALID_INPUT naming the field', () => {
    const attempts = [
      [() => new WorkflowEvaluator({ weights: { success: -1 } }), 'options.weights.success'],
      [
        () => new WorkflowEvaluator({ thresholds: { excellent: 50, good: 80 } }),
        'options.thresholds',
      ],
      [
        () => new WorkflowEvaluator({ scorers: [{ name: 'success', weight: 1, score: () => 1 }] }),
        'options.scorers[0].name',
      ],
      [() => new WorkflowEvaluator({ regression: { k: Number.NaN } }), 'options.regression.k'],
    ] as const;
    for (const [attempt, field] of attempts) {
      expect(attempt).toThrowError(expect.objectContaining({ code: 'INVALID_INPUT' }));
      expect(attempt).toThrowError(field);
    }
  });

  it('rejects a malformed result with INVALID_INPUT', async () => {
    const { result } = diamond();
    const broken = { ...result, totalExecutionTime: 'fast' } as unknown as typeof result;
    const error = await evaluator()
      .evaluateWorkflow(broken)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TroupeError);
    expect(error).toMatchObject({
      code: 'INVALID_INPUT',
      context: { workflowId: result.workflowId },
    });
    expect((error as TroupeError).context.issues![0]).toContain('totalExecutionTime');
  });

  it('infers dependencies from timing without a definition, and says so', async () => {
    const { result } = diamond();
    const evaluation = await evaluator().evaluateWorkflow(result);
    expect(evaluation.performance.criticalPathSource).toBe('inferred');
    expect(evaluation.performance.criticalPathMs).toBe(500);
    expect(evaluation.tasks.every((task) => task.waitMs === null)).toBe(true);
    expect(evaluation.notes[0]).toMatch(/inferred from timing/);
  });

  it('gives equal evaluations for equal input', async () => {
    const { result, definition } = diamond({ 'build-api': { attempts: 2 } });
    const a = await evaluator().evaluateWorkflow(result, { definition });
    const b = await evaluator().evaluateWorkflow(structuredClone(result), { definition });
    expect(b).toEqual(a);
  });
});
