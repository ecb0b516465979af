import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { WorkflowEvaluator } from '../../src/runtime/evaluator/workflow-evaluator.js';
import { LevelStore } from '../../src/store/level/level-store.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { runTaking, steppingClock } from './fixtures.js';

describe('evaluation history in a store', () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'troupe-eval-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps evaluations in a LevelStore across reopening, and uses them as a baseline', async () => {
    const first = await LevelStore.open(dir);
    const evaluator = new WorkflowEvaluator({ store: first, clock: steppingClock() });
    const stored = [];
    for (const total of [1000, 1010, 990, 1005, 995]) {
      const { result, definition } = runTaking(total);
      stored.push(await evaluator.evaluateWorkflow(result, { definition }));
    }
    await first.close();

    const reopened = await LevelStore.open(dir);
    try {
      const later = new WorkflowEvaluator({ store: reopened, clock: steppingClock() });
      const history = await later.history('feature-build');
      expect(history).toEqual(stored);
      expect(history.map((evaluation) => evaluation.sequence)).toEqual([1, 2, 3, 4, 5]);

      const { result, definition } = runTaking(2000);
      const slow = await later.evaluateWorkflow(result, { definition });
      expect(slow.sequence).toBe(6);
      const report = await later.detectRegression(slow);
      expect(report.regressionDetected).toBe(true);
      expect(report.baselineWorkflowIds).toEqual(stored.map((evaluation) => evaluation.workflowId));
    } finally {
      await reopened.close();
    }
  });

  it('reports a corrupt stored evaluation instead of skipping it', async () => {
    const store = new MemoryStore();
    const evaluator = new WorkflowEvaluator({ store });
    const { result } = runTaking(1000);
    await evaluator.evaluateWorkflow(result);
    await store.batch([
      {
        type: 'put',
        collection: 'evaluations',
        key: 'feature-build/0000000000000002',
        value: { workflowId: 'x', score: 'high' },
      },
    ]);
    await expect(evaluator.history('feature-build')).rejects.toMatchObject({
      code: 'STORE_CORRUPT',
      context: { key: 'feature-build/0000000000000002' },
    });
  });

  it('keeps history in memory when no store is given', async () => {
    const evaluator = new WorkflowEvaluator();
    for (const total of [1000, 1100]) await evaluator.evaluateWorkflow(runTaking(total).result);
    expect(await evaluator.history('feature-build')).toHaveLength(2);
  });

  it('gives concurrent evaluations of one workflow distinct sequence numbers', async () => {
    const evaluator = new WorkflowEvaluator({ store: new MemoryStore() });
    const evaluations = await Promise.all(
      [1000, 1001, 1002, 1003].map((total) => evaluator.evaluateWorkflow(runTaking(total).result)),
    );
    expect(evaluations.map((evaluation) => evaluation.sequence).sort()).toEqual([1, 2, 3, 4]);
    expect(await evaluator.history('feature-build')).toHaveLength(4);
  });
});
