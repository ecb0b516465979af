import { describe, expect, it } from 'vitest';
import type { WorkflowEvaluation } from '../../src/actors/evaluator/evaluation-schema.js';
import { WorkflowEvaluator } from '../../src/runtime/evaluator/workflow-evaluator.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { runTaking, steppingClock } from './fixtures.js';

function freshEvaluator() {
  return new WorkflowEvaluator({ store: new MemoryStore(), clock: steppingClock() });
}

/** Evaluates one run per total, in order, and returns the evaluations. */
async function record(
  evaluator: WorkflowEvaluator,
  totals: readonly number[],
  options: { name?: string } = {},
): Promise<WorkflowEvaluation[]> {
  const evaluations: WorkflowEvaluation[] = [];
  for (const total of totals) {
    const { result, definition } = runTaking(total, options);
    evaluations.push(await evaluator.evaluateWorkflow(result, { definition }));
  }
  return evaluations;
}

const STEADY = [1000, 1010, 990, 1005, 995];

describe('regression detection', () => {
  it('ORCH-020 flags a 2x slowdown against the last 5 runs, naming metric, baseline and rule', async () => {
    const evaluator = freshEvaluator();
    await record(evaluator, STEADY);
    const [slow] = await record(evaluator, [2000]);
    const report = await evaluator.detectRegression(slow!, { baselineCount: 5 });

    expect(report.regressionDetected).toBe(true);
    expect(report.insufficientHistory).toBe(false);
    expect(report.baselineSize).toBe(5);
    const total = report.details.find((detail) => detail.metric === 'totalTimeMs');
    expect(total).toMatchObject({ baselineMean: 1000, current: 2000, relativeChange: 1 });
    expect(total!.baselineStdDev).toBeCloseTo(7.906, 3);
    expect(total!.rule).toMatch(/^regressed: higher is worse; worse by 100\.0% \(limit 20\.0%\)/);
    expect(report.details.map((detail) => detail.metric)).toContain('p95TaskTimeMs');
    expect(report.details.map((detail) => detail.metric)).not.toContain('successRate');
    expect(report.summary).toContain('Regression in totalTimeMs');
  });

  it('finds no regression in a clean history', async () => {
    const evaluator = freshEvaluator();
    await record(evaluator, STEADY);
    const [current] = await record(evaluator, [1002]);
    const report = await evaluator.detectRegression(current!);

    expect(report).toMatchObject({
      regressionDetected: false,
      insufficientHistory: false,
      details: [],
    });
    expect(report.comparisons.map((c) => c.metric)).toEqual([
      'totalTimeMs',
      'p95TaskTimeMs',
      'successRate',
      'errorRate',
      'score',
    ]);
    expect(report.comparisons.every((c) => c.rule.startsWith('within limits'))).toBe(true);
  });

  it('flags a success-rate drop', async () => {
    const evaluator = freshEvaluator();
    await record(evaluator, STEADY);
    const { result, definition } = runTaking(1000, { failed: 1 });
    const current = await evaluator.evaluateWorkflow(result, { definition });
    const report = await evaluator.detectRegression(current);

    expect(report.regressionDetected).toBe(true);
    const metrics = report.details.map((detail) => detail.metric);
    expect(metrics).toEqual(expect.arrayContaining(['successRate', 'errorRate', 'score']));
    expect(metrics).not.toContain('totalTimeMs');
    const success = report.details.find((detail) => detail.metric === 'successRate')!;
    expect(success).toMatchObject({ baselineMean: 1, baselineStdDev: 0 });
    expect(success.current).toBeCloseTo(2 / 3);
    expect(success.relativeChange).toBeCloseTo(-1 / 3);
  });

  it('does not flag noise that lies inside the baseline spread', async () => {
    const evaluator = freshEvaluator();
    await record(evaluator, [1000, 1400, 900, 1300, 1100]);
    const [current] = await record(evaluator, [1450]);
    const report = await evaluator.detectRegression(current!);

    expect(report.regressionDetected).toBe(false);
    const total = report.comparisons.find((c) => c.metric === 'totalTimeMs')!;
    // +27% would pass the relative test on its own; the spread (stddev 207) explains it.
    expect(total.relativeChange).toBeGreaterThan(0.2);
    expect(total.baselineStdDev).toBeCloseTo(Math.sqrt(43_000), 6);
    expect(total.regressed).toBe(false);
    expect(total.rule).toMatch(/^within limits: .*310 beyond the mean \(limit 2 × spread 207\.364/);
  });

  it('does not alarm on a small change against a zero-variance baseline', async () => {
    const evaluator = freshEvaluator();
    await record(evaluator, [1200, 1200, 1200, 1200, 1200]);
    const [slightlySlower, muchSlower] = await record(evaluator, [1260, 1500]);
    const small = await evaluator.detectRegression(slightlySlower!);
    expect(small.regressionDetected).toBe(false);
    // The timing resolution (100 ms) is above 2% of the mean (24 ms).
    expect(small.comparisons.find((c) => c.metric === 'totalTimeMs')!.spread).toBe(100);

    const large = await evaluator.detectRegression(muchSlower!);
    expect(large.details.map((detail) => detail.metric)).toContain('totalTimeMs');
  });

  it('reports fewer runs than the baseline count as insufficient history, not as no regression', async () => {
    const evaluator = freshEvaluator();
    await record(evaluator, [1000, 1000, 1000]);
    const [current] = await record(evaluator, [5000]);
    const report = await evaluator.detectRegression(current!, { baselineCount: 5 });

    expect(report).toMatchObject({
      regressionDetected: false,
      insufficientHistory: true,
      baselineCount: 5,
      baselineSize: 3,
      details: [],
    });
    expect(report.summary).toContain('Insufficient history: 3 earlier evaluation(s)');
    expect(report.summary).toContain('not the same as no regression');
  });

  it('uses only the runs stored before the current one as its baseline', async () => {
    const evaluator = freshEvaluator();
    const before = await record(evaluator, STEADY);
    const [slow] = await record(evaluator, [2000]);
    await record(evaluator, [4000, 4000, 4000, 4000, 4000]);
    const report = await evaluator.detectRegression(slow!);

    expect(report.baselineWorkflowIds).toEqual(before.map((e) => e.workflowId));
    expect(report.regressionDetected).toBe(true);
    const early = await evaluator.detectRegression(before[2]!);
    expect(early).toMatchObject({ insufficientHistory: true, baselineSize: 2 });
  });

  it('keeps one history per workflow name, escaping names the store cannot key', async () => {
    const evaluator = freshEvaluator();
    await record(evaluator, STEADY, { name: 'nightly/etl' });
    await record(evaluator, [9000, 9000, 9000, 9000, 9000], { name: 'nightly' });
    const [current] = await record(evaluator, [1001], { name: 'nightly/etl' });
    const report = await evaluator.detectRegression(current!);

    expect(report).toMatchObject({ workflowName: 'nightly/etl', regressionDetected: false });
    expect(await evaluator.history('nightly/etl')).toHaveLength(6);
    expect(await evaluator.history('nightly', { limit: 2 })).toHaveLength(2);
  });

  it('replaces the evaluation of a run evaluated twice, keeping its place in the history', async () => {
    const evaluator = freshEvaluator();
    const first = await record(evaluator, [1000, 1100, 1200]);
    const { result, definition } = runTaking(1100);
    const again = await evaluator.evaluateWorkflow(
      { ...result, workflowId: first[1]!.workflowId },
      { definition },
    );

    expect(again.sequence).toBe(first[1]!.sequence);
    const history = await evaluator.history('feature-build');
    expect(history.map((e) => e.sequence)).toEqual([1, 2, 3]);
    expect(history[1]!.evaluatedAt).toBe(again.evaluatedAt);
  });

  it('rejects a baseline count that is not a positive integer', async () => {
    const evaluator = freshEvaluator();
    const [current] = await record(evaluator, [1000]);
    await expect(evaluator.detectRegression(current!, { baselineCount: 0 })).rejects.toMatchObject({
      code: 'INVALID_INPUT',
    });
  });
});
