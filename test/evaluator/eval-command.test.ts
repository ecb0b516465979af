import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { workflowEvaluationSchema } from '../../src/actors/evaluator/evaluation-schema.js';
import { evalCommand } from '../../src/cli/commands/eval.js';
import type { RunRecord } from '../../src/schemas/run-record.js';
import { MemoryStore } from '../../src/store/memory/memory-store.js';
import { diamond, runRecordOf, runTaking, steppingClock } from './fixtures.js';

/** A stream that keeps what is written to it. */
function capture(): Writable & { text(): string } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  return Object.assign(stream, { text: () => chunks.join('') });
}

async function storeRuns(store: MemoryStore, runs: ReadonlyArray<ReturnType<typeof runTaking>>) {
  await store.batch(
    runs.map((run) => ({
      type: 'put' as const,
      collection: 'workflows' as const,
      key: run.result.workflowId,
      value: runRecordOf(run),
    })),
  );
}

async function evalRun(store: MemoryStore, runId: string, json = false) {
  const out = capture();
  const code = await evalCommand({ runId, json }, { store, out, clock: steppingClock() });
  return { code, output: out.text() };
}

describe('troupe eval', () => {
  it('prints grade, score, metrics, tasks and advice for a stored run', async () => {
    const store = new MemoryStore();
    const run = diamond({ 'build-api': { attempts: 2 } });
    await storeRuns(store, [run]);
    const { code, output } = await evalRun(store, run.result.workflowId);

    expect(code).toBe(0);
    const lines = output.split('\n');
    expect(lines[0]).toBe(
      `Evaluation of run ${run.result.workflowId} ("feature-build"), status completed`,
    );
    expect(lines[1]).toBe('Grade: GOOD   Score: 91.2/100');
    expect(output).toContain('  Total time      500 ms');
    expect(output).toContain('  Success rate    100% (4 of 4 tasks)');
    expect(output).toContain('  Critical path   500 ms = 100% of total (plan → build-api → test)');
    expect(output).toContain('  TASK       AGENT     STATUS     TIME    TRIES  WAIT  OUTPUT  PATH');
    expect(output).toContain('  build-api  backend   completed  200 ms  2      0 ms  -       *');
    expect(output).toMatch(
      / {2}1\. Task "build-api" \(agent "backend"\) succeeded only on attempt 2/,
    );
    expect(output).toContain('Insufficient history: 0 earlier evaluation(s)');
    expect(output).toContain('Trend: only 1 evaluation(s) of "feature-build" stored');
  });

  it('charts score and duration over the stored history and flags a regression', async () => {
    const store = new MemoryStore();
    const runs = [1000, 1010, 990, 1005, 995, 2000].map((total) => runTaking(total));
    await storeRuns(store, runs);
    for (const run of runs.slice(0, -1)) {
      expect((await evalRun(store, run.result.workflowId)).code).toBe(0);
    }
    const { code, output } = await evalRun(store, runs[5]!.result.workflowId);

    expect(code).toBe(0);
    expect(output).toContain('Regression check (baseline: last 5 runs)');
    expect(output).toContain('Regression in totalTimeMs, p95TaskTimeMs');
    expect(output).toMatch(/- totalTimeMs: 2000 vs baseline mean 1000 ± 7\.906; regressed/);
    expect(output).toContain('Trend over the last 6 runs of "feature-build" (oldest → newest)');
    expect(output).toMatch(/score {5}▄▄▄▄▄▄ {2}min 100\.0 {2}max 100\.0 {2}latest 100\.0/);
    expect(output).toMatch(/duration {2}▁▁▁▁▁█ {2}min 990 ms {2}max 2\.00 s {2}latest 2\.00 s/);
  });

  it('prints the evaluation as JSON with --json', async () => {
    const store = new MemoryStore();
    const run = diamond();
    await storeRuns(store, [run]);
    const { code, output } = await evalRun(store, run.result.workflowId, true);

    expect(code).toBe(0);
    const parsed = JSON.parse(output) as Record<string, unknown>;
    const evaluation = workflowEvaluationSchema.parse(parsed);
    expect(evaluation).toMatchObject({ workflowId: run.result.workflowId, grade: 'EXCELLENT' });
    expect(parsed.regression).toMatchObject({
      insufficientHistory: true,
      regressionDetected: false,
    });
  });

  it('explains a missing run, an unfinished run and a missing id', async () => {
    const store = new MemoryStore();
    const missing = await evalRun(store, 'nope');
    expect(missing.code).toBe(1);
    expect(missing.output).toContain('no run "nope" in the store');
    expect(missing.output).toContain('troupe list');

    const run = diamond();
    const running: RunRecord = { ...runRecordOf(run), status: 'running' };
    delete running.result;
    await store.batch([
      { type: 'put', collection: 'workflows', key: run.result.workflowId, value: running },
    ]);
    const unfinished = await evalRun(store, run.result.workflowId);
    expect(unfinished.code).toBe(1);
    expect(unfinished.output).toContain('has not finished (status running)');

    expect((await evalRun(store, '')).code).toBe(2);
  });
});
