import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defineLlmAgent,
  defineTool,
  type LlmAgentOutput,
  tokenBudgetScorer,
  usageOf,
} from '../../src/actors/llm/index.js';
import {
  type AgentDefinition,
  createRuntime,
  type Runtime,
  type WorkflowDefinitionInput,
} from '../../src/index.js';
import { WorkflowEvaluator } from '../../src/runtime/evaluator/workflow-evaluator.js';
import { type ChatRequestBody, reply } from '../../src/testing/index.js';
import { onCleanup, testClient, testServer } from './support.js';

async function runtime(agents: readonly AgentDefinition[]): Promise<Runtime> {
  const rt = await createRuntime({ dataDir: false, agents });
  onCleanup(() => rt.close());
  return rt;
}

const oneTask = (agent = 'calc'): WorkflowDefinitionInput => ({
  name: 'llm-agent-test',
  tasks: [{ id: 'sum', agent, description: 'Add 2 and 3, then note the result.' }],
});

function calculatorTools(calls: string[]) {
  const add = defineTool({
    name: 'add',
    description: 'Adds two numbers.',
    input: z.object({ a: z.number(), b: z.number() }),
    handler: ({ a, b }) => {
      calls.push(`add(${a},${b})`);
      return { sum: a + b };
    },
  });
  const note = defineTool({
    name: 'note',
    description: 'Keeps a note.',
    input: z.object({ text: z.string().min(1) }),
    handler: ({ text }) => {
      calls.push(`note(${text})`);
      return `noted: ${text}`;
    },
  });
  return [add, note];
}

const toolMessages = (body: ChatRequestBody) =>
  (body.messages ?? []).filter((m) => m.role === 'tool');

describe('defineLlmAgent', () => {
  it('runs a tool-calling loop with two tools until the model answers', async () => {
    const server = await testServer({
      chat: [
        reply.toolCalls([
          { name: 'add', arguments: { a: 2, b: 3 } },
          { name: 'note', arguments: { text: 'five' } },
        ]),
        reply.text('The sum is 5.'),
      ],
    });
    const calls: string[] = [];
    const agent = defineLlmAgent({
      role: 'calc',
      systemPrompt: 'You add numbers.',
      tools: calculatorTools(calls),
      llm: testClient(server),
    });
    const rt = await runtime([agent]);

    const result = await rt.engine.execute(oneTask());

    expect(result.status).toBe('completed');
    expect(calls).toEqual(['add(2,3)', 'note(five)']);
    const output = result.tasks.sum!.output as LlmAgentOutput;
    expect(output).toMatchObject({
      role: 'calc',
      model: 'test-model',
      content: 'The sum is 5.',
      finishReason: 'stop',
      turns: 2,
      toolCalls: [
        { turn: 1, name: 'add', ok: true, arguments: '{"a":2,"b":3}' },
        { turn: 1, name: 'note', ok: true },
      ],
      usage: { requests: 2, cached: 0 },
    });

    const first = server.requests[0]!.body as ChatRequestBody;
    expect(first.tools?.map((t) => t.function?.name)).toEqual(['add', 'note']);
    expect(first.messages?.[0]).toMatchObject({ role: 'system', content: 'You add numbers.' });
    expect(String(first.messages?.[1]?.content)).toContain('Add 2 and 3');
    const second = server.requests[1]!.body as ChatRequestBody;
    expect(toolMessages(second)).toEqual([
      { role: 'tool', tool_call_id: 'call_1_0', content: '{"sum":5}' },
      { role: 'tool', tool_call_id: 'call_1_1', content: 'noted: five' },
    ]);
  });

  it('rejects tool input that fails the schema, without running the handler, and lets the model retry', async () => {
    const server = await testServer({
      chat: [
        reply.toolCall('add', { a: 'two', b: 3 }),
        reply.toolCall('add', '{"a": 2, "b":'),
        reply.toolCall('multiply', { a: 2, b: 3 }),
        reply.toolCall('add', { a: 2, b: 3 }),
        reply.text('5'),
      ],
    });
    const calls: string[] = [];
    const agent = defineLlmAgent({
      role: 'calc',
      systemPrompt: 'You add numbers.',
      tools: calculatorTools(calls),
      llm: testClient(server),
    });
    const rt = await runtime([agent]);

    const result = await rt.engine.execute(oneTask());

    expect(result.status).toBe('completed');
    expect(calls).toEqual(['add(2,3)']);
    const replies = [1, 2, 3].map(
      (i) => toolMessages(server.requests[i]!.body as ChatRequestBody).at(-1)!.content,
    );
    expect(JSON.parse(String(replies[0])).error).toMatch(
      /add: input rejected by the tool's schema: a: .*number/,
    );
    expect(JSON.parse(String(replies[1])).error).toMatch(/add: the arguments are not valid JSON/);
    expect(JSON.parse(String(replies[2])).error).toMatch(
      /unknown tool "multiply"; available tools: add, note/,
    );
    const output = result.tasks.sum!.output as LlmAgentOutput;
    expect(output.toolCalls.map((c) => c.ok)).toEqual([false, false, false, true]);
    expect(output.turns).toBe(5);
  });

  it('sends a throwing handler’s error back to the model as a tool error', async () => {
    const server = await testServer({
      chat: [reply.toolCall('explode', {}), reply.text('gave up politely')],
    });
    const explode = defineTool({
      name: 'explode',
      description: 'Always fails.',
      input: z.object({}),
      handler: () => {
        throw new Error('kaboom');
      },
    });
    const agent = defineLlmAgent({
      role: 'calc',
      systemPrompt: 'x',
      tools: [explode],
      llm: testClient(server),
    });
    const rt = await runtime([agent]);
    const result = await rt.engine.execute(oneTask());
    expect(result.status).toBe('completed');
    const last = toolMessages(server.requests[1]!.body as ChatRequestBody).at(-1)!;
    expect(JSON.parse(String(last.content))).toEqual({ error: 'explode failed: kaboom' });
  });

  it('fails the task when every answer calls tools for maxTurns turns', async () => {
    const server = await testServer({
      chat: [reply.toolCall('add', { a: 1, b: 1 }), reply.toolCall('add', { a: 1, b: 1 })],
    });
    const agent = defineLlmAgent({
      role: 'calc',
      systemPrompt: 'x',
      tools: calculatorTools([]),
      llm: testClient(server),
      maxTurns: 2,
    });
    const rt = await runtime([agent]);
    const result = await rt.engine.execute(oneTask());
    expect(result.status).toBe('failed');
    expect(result.tasks.sum!.error?.message).toMatch(/did not finish within maxTurns = 2/);
  });

  it('feeds streamed text into task progress', async () => {
    const text =
      'First I read the requirements. Then I design the index mapping. Finally I write the summary of the work.';
    const server = await testServer({ chat: [{ type: 'message', content: text, chunkSize: 4 }] });
    const agent = defineLlmAgent({ role: 'calc', systemPrompt: 'x', llm: testClient(server) });
    const rt = await runtime([agent]);
    const progress: string[] = [];
    rt.engine.on('task.progress', (event) => {
      if (event.message) progress.push(event.message);
    });

    const result = await rt.engine.execute(oneTask());

    expect((result.tasks.sum!.output as LlmAgentOutput).content).toBe(text);
    expect((server.requests[0]!.body as ChatRequestBody).stream).toBe(true);
    // Several reports while the text arrived (one per 48 characters), each the tail of the text so far.
    expect(progress.length).toBeGreaterThanOrEqual(2);
    expect(progress[0]).toMatch(/^turn 1: First I read/);
    expect(progress.at(-1)).toMatch(/summary of the work\.$/);
  });

  it('reports usage per task in the output, sums it per workflow with usageOf, and scores it', async () => {
    const server = await testServer({
      chat: [
        reply.toolCall(
          'add',
          { a: 1, b: 2 },
          { usage: { prompt_tokens: 100, completion_tokens: 10 } },
        ),
        reply.text('3', { usage: { prompt_tokens: 120, completion_tokens: 5 } }),
        reply.text('done', { usage: { prompt_tokens: 50, completion_tokens: 7 } }),
      ],
    });
    const llm = testClient(server);
    const calc = defineLlmAgent({
      role: 'calc',
      systemPrompt: 'x',
      tools: calculatorTools([]),
      llm,
    });
    const writer = defineLlmAgent({ role: 'writer', systemPrompt: 'y', llm, stream: false });
    const rt = await runtime([calc, writer]);

    const result = await rt.engine.execute({
      name: 'usage',
      tasks: [
        { id: 'sum', agent: 'calc' },
        { id: 'report', agent: 'writer', dependsOn: ['sum'] },
      ],
    });

    expect(result.status).toBe('completed');
    const sum = {
      promptTokens: 220,
      completionTokens: 15,
      totalTokens: 235,
      requests: 2,
      cached: 0,
      estimated: 0,
    };
    expect((result.tasks.sum!.output as LlmAgentOutput).usage).toEqual(sum);
    const report = {
      promptTokens: 50,
      completionTokens: 7,
      totalTokens: 57,
      requests: 1,
      cached: 0,
      estimated: 0,
    };
    expect(usageOf(result)).toEqual({
      promptTokens: 270,
      completionTokens: 22,
      totalTokens: 292,
      requests: 3,
      cached: 0,
      estimated: 0,
      byTask: { sum, report },
      byAgent: { calc: sum, writer: report },
    });
    const evaluation = await new WorkflowEvaluator({
      scorers: [tokenBudgetScorer({ budget: 146 })],
    }).evaluateWorkflow(result);
    expect(evaluation.quality.scoreBreakdown).toContainEqual(
      expect.objectContaining({ name: 'token-budget', kind: 'custom', value: 0.5 }),
    );
    // The dependent task saw the upstream answer text.
    expect(String((server.requests[2]!.body as ChatRequestBody).messages?.[1]?.content)).toMatch(
      /## sum\n3/,
    );
  });

  it('validates its options', () => {
    expect(() =>
      defineLlmAgent({
        role: 'x',
        systemPrompt: ' ',
        llm: { baseURL: 'http://127.0.0.1:1/v1', model: 'm' },
      }),
    ).toThrow(/systemPrompt: must be a non-empty string/);
    expect(() =>
      defineTool({ name: 'bad name', description: 'd', input: z.object({}), handler: () => 1 }),
    ).toThrow(/name: must be 1-64 letters/);
  });
});
