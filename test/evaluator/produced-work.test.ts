/**
 * The evaluation of what tool-using agents produced: files per agent,
 * commands and their exit codes, decisions and conflicts; the `work` score
 * component and its advice; nothing of it for runs without tool calls.
 */
import { describe, expect, it } from 'vitest';
import { workflowEvaluationSchema } from '../../src/actors/evaluator/evaluation-schema.js';
import { formatEvaluationReport } from '../../src/actors/evaluator/report.js';
import { WorkflowEvaluator } from '../../src/runtime/evaluator/workflow-evaluator.js';
import { buildRun, diamond, steppingClock } from './fixtures.js';

const call = (name: string, ok: boolean, effect?: Record<string, unknown>) => ({
  turn: 1,
  name,
  arguments: '{}',
  ok,
  ...(ok ? {} : { error: `${name} failed` }),
  ...(effect ? { effect } : {}),
});

function llmRun() {
  const { result, definition } = buildRun({
    tasks: [
      {
        id: 'index',
        agent: 'elasticsearch',
        start: 0,
        output: {
          content: 'done',
          toolCalls: [
            call('write_file', true, {
              kind: 'file',
              path: 'search/index.json',
              bytes: 40,
              appended: false,
            }),
            call('record_decision', true, {
              kind: 'decision',
              topic: 'search.index',
              decision: 'products',
            }),
          ],
        },
      },
      {
        id: 'api',
        agent: 'backend',
        start: 100,
        dependsOn: ['index'],
        output: {
          content: 'done',
          toolCalls: [
            call('write_file', false),
            call('write_file', true, {
              kind: 'file',
              path: 'src/api.mjs',
              bytes: 90,
              appended: false,
            }),
            call('write_file', true, {
              kind: 'file',
              path: 'search/index.json',
              bytes: 44,
              appended: false,
            }),
          ],
        },
      },
      {
        id: 'tests',
        agent: 'qa',
        start: 200,
        dependsOn: ['api'],
        output: {
          content: 'failed',
          toolCalls: [
            call('run_command', true, {
              kind: 'command',
              command: 'node --test tests/',
              exitCode: 1,
              timedOut: false,
            }),
          ],
        },
      },
      { id: 'notes', agent: 'docs', start: 200, output: { content: 'nothing', toolCalls: [] } },
    ],
  });
  result.context = {
    decisions: { 'api.port': { decision: '3000', by: 'planner' } },
    'decisions/index': { 'search.index': { decision: 'products', by: 'elasticsearch' } },
    'decisions/api': {
      'search.index': { decision: 'items', by: 'backend' },
      'api.port': { decision: ' 3000 ', by: 'backend' },
    },
  };
  return { result, definition };
}

describe('produced work', () => {
  it('files per agent, a failed test run, a conflict and an idle task lower the work component, with advice', async () => {
    const { result, definition } = llmRun();
    const evaluation = await new WorkflowEvaluator({ clock: steppingClock() }).evaluateWorkflow(
      result,
      { definition },
    );

    expect(evaluation.work).toEqual({
      toolTasks: ['index', 'api', 'tests', 'notes'],
      tasksWithWork: ['index', 'api', 'tests'],
      files: [
        {
          path: 'search/index.json',
          taskId: 'api',
          agent: 'backend',
          bytes: 44,
          writers: ['index', 'api'],
        },
        { path: 'src/api.mjs', taskId: 'api', agent: 'backend', bytes: 90, writers: ['api'] },
      ],
      commands: [
        { taskId: 'tests', agent: 'qa', command: 'node --test tests/', exitCode: 1, passed: false },
      ],
      decisions: {
        'api.port': { decision: ' 3000 ', by: 'backend' },
        'search.index': { decision: 'items', by: 'backend' },
      },
      conflicts: [
        {
          topic: 'search.index',
          decisions: [
            { decision: 'products', by: 'elasticsearch' },
            { decision: 'items', by: 'backend' },
          ],
        },
      ],
      failedToolCalls: 1,
    });
    // (3/4 tasks with work + 0/1 commands passed + 1/2 decisions without conflict) / 3
    const work = evaluation.quality.scoreBreakdown.find((c) => c.name === 'work')!;
    expect(work.value).toBeCloseTo((0.75 + 0 + 0.5) / 3, 10);
    expect(work.detail).toBe(
      'mean of tasks with work 3/4, commands passed 0/1, decisions without conflict 1/2',
    );
    const advice = evaluation.recommendations.filter((r) => r.kind !== 'agent-bottleneck');
    expect(advice.map((r) => [r.kind, r.taskId])).toEqual([
      ['failed-command', 'tests'],
      ['decision-conflict', undefined],
      ['no-work', 'notes'],
    ]);
    expect(advice[1]!.message).toBe(
      'Agents disagreed on "search.index": "products" (elasticsearch) vs "items" (backend). Have the planner decide it up front, or tell the later agents to follow the recorded decision.',
    );
    expect(workflowEvaluationSchema.parse(JSON.parse(JSON.stringify(evaluation)))).toEqual(
      evaluation,
    );

    const report = formatEvaluationReport(evaluation);
    expect(report).toContain(
      'Files      2 written by 1 agent(s); 3 of 4 tool-using tasks produced something',
    );
    expect(report).toContain('    backend: search/index.json, src/api.mjs');
    expect(report).toContain('Commands   0 of 1 passed');
    expect(report).toContain('    FAILED  node --test tests/ (qa, task tests, exit 1)');
    expect(report).toContain('Decisions  2 recorded, 1 in conflict');
    expect(report).toContain(
      '    CONFLICT search.index: "products" (elasticsearch) vs "items" (backend)',
    );
    expect(report).toContain('Tool calls that failed: 1');
  });

  it('a run without tool calls has no produced work and the same score as before', async () => {
    const { result, definition } = diamond();
    const evaluation = await new WorkflowEvaluator({ clock: steppingClock() }).evaluateWorkflow(
      result,
      { definition },
    );
    expect(evaluation.work).toBeUndefined();
    expect(evaluation.quality.scoreBreakdown.map((c) => c.name)).toEqual([
      'success',
      'reliability',
      'schedule',
      'outputs',
    ]);
    expect(evaluation.score).toBe(100);
    expect(formatEvaluationReport(evaluation)).not.toContain('Produced work');
  });

  it('the work weight is an option like the others', async () => {
    const { result, definition } = llmRun();
    const evaluation = await new WorkflowEvaluator({
      clock: steppingClock(),
      weights: { work: 0 },
    }).evaluateWorkflow(result, { definition });
    expect(evaluation.score).toBe(100);
    expect(
      () => new WorkflowEvaluator({ scorers: [{ name: 'work', weight: 1, score: () => 1 }] }),
    ).toThrow(/"work" is already used by another scorer or a built-in component/);
  });
});
