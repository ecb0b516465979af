import { describe, expect, it } from 'vitest';
import { type LlmJudgeVerdict, llmJudgeScorer } from '../../src/actors/llm/index.js';
import { TroupeError } from '../../src/errors.js';
import { WorkflowEvaluator } from '../../src/runtime/evaluator/workflow-evaluator.js';
import { type ChatRequestBody, fault, reply } from '../../src/testing/index.js';
import { buildRun, diamond, steppingClock } from '../evaluator/fixtures.js';
import { testClient, testServer } from './support.js';

const RUBRIC = 'The API and the UI must both exist, and the tests must exercise them.';

function evaluator(
  scorers: NonNullable<ConstructorParameters<typeof WorkflowEvaluator>[0]>['scorers'],
) {
  return new WorkflowEvaluator({ clock: steppingClock(), scorers });
}

/** A clean four-task run whose tasks have outputs worth judging. */
function judgedRun() {
  return diamond({
    plan: { output: { steps: ['api', 'ui'] } },
    'build-api': { output: { endpoint: 'POST /api/search', files: ['src/api/search.ts'] } },
    'build-ui': { output: { component: 'SearchBox' } },
    test: { output: { passed: 12, failed: 0 } },
  });
}

const messagesOf = (body: ChatRequestBody) =>
  (body.messages ?? []).map((m) => String(m.content)).join('\n');

describe('LLM judge scorer', () => {
  it('scores a run through the evaluator: 8/10 becomes 0.8, weighed into the score', async () => {
    const server = await testServer({
      chat: [reply.json({ score: 8, reasons: 'Both parts exist; the UI is thin.' })],
    });
    const verdicts: LlmJudgeVerdict[] = [];
    const judge = llmJudgeScorer({
      llm: testClient(server),
      weight: 0.15,
      rubric: RUBRIC,
      onVerdict: (verdict) => verdicts.push(verdict),
    });
    const { result, definition } = judgedRun();

    const evaluation = await evaluator([judge]).evaluateWorkflow(result, { definition });

    expect(evaluation.quality.scoreBreakdown).toContainEqual({
      name: 'llm-judge',
      kind: 'custom',
      weight: 0.15,
      value: 0.8,
    });
    // success 1 × 0.4 + reliability 1 × 0.3 + schedule 1 × 0.15 + judge 0.8 × 0.15, over 1.
    expect(evaluation.score).toBe(97);
    expect(evaluation.grade).toBe('EXCELLENT');
    expect(evaluation.notes).toEqual([]);
    expect(verdicts).toEqual([
      { score: 8, reasons: 'Both parts exist; the UI is thin.', model: 'test-model' },
    ]);
  });

  it('sends the run (task ids, agents, statuses, outputs) and the rubric with structured output', async () => {
    const server = await testServer({ chat: [reply.json({ score: 10, reasons: 'fine' })] });
    const { result, definition } = judgedRun();
    await evaluator([llmJudgeScorer({ llm: testClient(server), rubric: RUBRIC })]).evaluateWorkflow(
      result,
      { definition },
    );

    expect(server.calls()).toBe(1);
    const body = server.requests[0]!.body as ChatRequestBody;
    expect(body.model).toBe('test-model');
    expect(body.response_format).toMatchObject({
      type: 'json_schema',
      json_schema: {
        name: 'workflow_judgement',
        schema: { required: ['score', 'reasons'], additionalProperties: false },
      },
    });
    const prompt = messagesOf(body);
    expect(prompt).toContain(RUBRIC);
    expect(prompt).toContain('Workflow: feature-build');
    for (const id of ['plan', 'build-api', 'build-ui', 'test'])
      expect(prompt).toContain(`- ${id} `);
    expect(prompt).toContain('(agent backend): completed');
    expect(prompt).toContain('"endpoint":"POST /api/search"');
  });

  it('keeps the description of a run with large outputs under maxPromptChars', async () => {
    const server = await testServer({ chat: [reply.json({ score: 5, reasons: 'ok' })] });
    const tasks = Array.from({ length: 100 }, (_, i) => ({
      id: `task-${i}`,
      start: i * 10,
      output: { text: 'x'.repeat(5000) },
    }));
    const { result } = buildRun({ tasks });

    const value = await llmJudgeScorer({ llm: testClient(server) }).score(result, {
      definition: undefined,
      tasks: [],
      performance: {} as never,
      agents: [],
      errorRate: 0,
    });

    expect(value).toBe(0.5);
    const body = server.requests[0]!.body as ChatRequestBody;
    const runText = String(body.messages![1]!.content);
    expect(runText.length).toBeLessThanOrEqual(8000);
    expect(runText).toContain('- task-0 ');
    expect(runText).toMatch(/\(\d+ more task\(s\) left out to keep this under 8000 characters\)$/);
  });

  it.each([
    ['text that is not JSON', reply.text('I would say about 7/10.'), /not valid JSON/],
    [
      'a score out of range',
      reply.json({ score: 42, reasons: 'great' }),
      /without a valid verdict \(score: .*\)/,
    ],
    ['a missing field', reply.json({ score: 7 }), /without a valid verdict \(reasons: /],
    [
      'a server error',
      fault.serverError(),
      /LLM request of the LLM judge .* failed after 0 retries: HTTP 500/,
    ],
  ])('records %s as a failed scorer and still evaluates', async (_, answer, message) => {
    const server = await testServer({ chat: [answer] });
    const { result, definition } = judgedRun();

    const evaluation = await evaluator([
      llmJudgeScorer({ llm: testClient(server), weight: 0.15 }),
    ]).evaluateWorkflow(result, { definition });

    const component = evaluation.quality.scoreBreakdown.find((c) => c.name === 'llm-judge');
    expect(component).toMatchObject({ kind: 'custom', weight: 0.15, value: null });
    expect(component?.error).toMatch(/^threw: /);
    expect(component?.error).toMatch(message);
    // Left out of the score: the built-ins alone give 100.
    expect(evaluation.score).toBe(100);
    expect(evaluation.notes).toEqual([
      expect.stringMatching(/^Scorer "llm-judge" threw: .*; it was left out of the score\.$/),
    ]);
  });

  it('throws a TroupeError when called directly with a malformed answer', async () => {
    const server = await testServer({ chat: [reply.text('{"score": "high"}')] });
    const { result } = judgedRun();
    const error = await Promise.resolve(
      llmJudgeScorer({ llm: testClient(server) }).score(result, {
        definition: undefined,
        tasks: [],
        performance: {} as never,
        agents: [],
        errorRate: 0,
      }),
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TroupeError);
    expect((error as TroupeError).code).toBe('TASK_FAILED');
    expect((error as TroupeError).message).toMatch(
      /LLM judge \(model "test-model" at http:\/\/127\.0\.0\.1:\d+\/v1\) answered without a valid verdict \(score: /,
    );
  });

  it('rejects a maxPromptChars that is not a positive integer', async () => {
    const server = await testServer();
    expect(() => llmJudgeScorer({ llm: testClient(server), maxPromptChars: 0 })).toThrow(
      expect.objectContaining({ code: 'CONFIG_ERROR' }),
    );
  });
});
