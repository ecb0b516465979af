/**
 * Identical clean runs of near-instant tasks, run for real (system clock,
 * real timestamps a few ms apart), get the same grade, EXCELLENT, and are
 * never flagged as a regression of each other: the timing resolution rule
 * of docs/evaluator.md.
 */
import { describe, expect, it } from 'vitest';
import {
  createRuntime,
  defineAgent,
  type WorkflowDefinitionInput,
  type WorkflowEvaluation,
  WorkflowEvaluator,
} from '../../src/index.js';
import { buildRun } from './fixtures.js';

/** A diamond, then a fan of six: four dependency levels of instant tasks. */
const INSTANT: WorkflowDefinitionInput = {
  name: 'instant',
  tasks: [
    { id: 'a', agent: 'w' },
    { id: 'b', agent: 'w', dependsOn: ['a'] },
    { id: 'c', agent: 'w', dependsOn: ['a'] },
    { id: 'd', agent: 'w', dependsOn: ['b', 'c'] },
    ...Array.from({ length: 6 }, (_, i) => ({ id: `e${i}`, agent: 'w', dependsOn: ['d'] })),
  ],
};

async function evaluateRealRuns(count: number, withDefinition: boolean) {
  const rt = await createRuntime({
    dataDir: false,
    agents: [defineAgent({ role: 'w', concurrency: 4, run: async () => ({ ok: true }) })],
  });
  const evaluator = new WorkflowEvaluator();
  const evaluations: WorkflowEvaluation[] = [];
  const regressions: string[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const result = await rt.engine.execute(INSTANT);
      expect(result.status).toBe('completed');
      const evaluation = await evaluator.evaluateWorkflow(
        result,
        withDefinition ? { definition: INSTANT } : {},
      );
      evaluations.push(evaluation);
      const report = await evaluator.detectRegression(evaluation);
      if (report.regressionDetected) regressions.push(report.summary);
    }
  } finally {
    await rt.close();
  }
  return { evaluations, regressions };
}

describe('stability on runs of instant tasks', () => {
  it.each([
    ['with the definition', true],
    ['without a definition', false],
  ])(
    'ORCH-019 ORCH-020 grades 20 identical clean runs alike, EXCELLENT, and flags no regression (%s)',
    async (_, withDefinition) => {
      const { evaluations, regressions } = await evaluateRealRuns(20, withDefinition);
      expect(new Set(evaluations.map((e) => e.grade))).toEqual(new Set(['EXCELLENT']));
      expect(regressions).toEqual([]);
      for (const evaluation of evaluations) {
        // Success and reliability are 1; the schedule forgives 100 ms per level.
        const schedule = evaluation.quality.scoreBreakdown.find((c) => c.name === 'schedule')!;
        expect(schedule.detail).toMatch(/100 ms timing resolution × [1-9]\d* dependency level/);
        if (evaluation.performance.totalTimeMs <= 400) expect(evaluation.score).toBe(100);
      }
    },
  );

  it('still scores time lost to scheduling when it is well above the resolution', async () => {
    // Two independent 1 s tasks run one after the other: 1 s lost.
    const { result, definition } = buildRun({
      tasks: [
        { id: 'x', start: 0, duration: 1000 },
        { id: 'y', start: 1000, duration: 1000 },
      ],
    });
    const evaluation = await new WorkflowEvaluator().evaluateWorkflow(result, { definition });
    const schedule = evaluation.quality.scoreBreakdown.find((c) => c.name === 'schedule')!;
    // (1000 + 100 × 1) / 2000.
    expect(schedule.value).toBe(0.55);
    expect(evaluation.performance.parallelEfficiency).toBe(1);
  });

  it('flags a real slowdown of a short workflow, beyond twice the resolution', async () => {
    const evaluator = new WorkflowEvaluator();
    const run = (total: number) =>
      buildRun({ name: 'short', tasks: [{ id: 'x', start: 0, duration: total }] });
    for (const total of [5, 8, 4, 6, 5]) await evaluator.evaluateWorkflow(run(total).result);
    // A 120 ms stall of the machine is not a regression; 400 ms is.
    const jitter = await evaluator.evaluateWorkflow(run(120).result);
    expect(jitter.performance.averageConcurrency).toBe(1);
    expect((await evaluator.detectRegression(jitter)).regressionDetected).toBe(false);
    const slower = await evaluator.evaluateWorkflow(run(400).result);
    const report = await evaluator.detectRegression(slower);
    expect(report.details.map((d) => d.metric)).toContain('totalTimeMs');
  });

  it('leaves the parallelism metrics null when the tasks were busy for less than the resolution', async () => {
    const { result } = buildRun({
      tasks: [
        { id: 'x', start: 0, duration: 3 },
        { id: 'y', start: 1, duration: 2 },
        { id: 'z', start: 9, duration: 1 },
      ],
    });
    const evaluation = await new WorkflowEvaluator().evaluateWorkflow(result);
    expect(evaluation.performance).toMatchObject({
      busyTimeMs: 6,
      averageConcurrency: null,
      parallelEfficiency: null,
    });
  });

  it('uses the resolution it is given', async () => {
    const { result, definition } = buildRun({
      tasks: [
        { id: 'x', start: 0, duration: 1000 },
        { id: 'y', start: 1000, duration: 1000 },
      ],
    });
    const exact = new WorkflowEvaluator({ timingResolutionMs: 0 });
    const evaluation = await exact.evaluateWorkflow(result, { definition });
    expect(evaluation.quality.scoreBreakdown.find((c) => c.name === 'schedule')!.value).toBe(0.5);
  });
});
