/**
 * Token usage, prices and budgets (issue 16, item 7): usage from the
 * server's fields (streamed too), estimated when it sends none; per task,
 * agent and run; money from a price table; a budget that stops a run with
 * BUDGET_EXCEEDED before a call that could pass it is made.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defineLlmAgent,
  defineTool,
  type LlmAgentOutput,
  LlmBudget,
  type LlmEvent,
  type PriceTable,
  usageOf,
} from '../../src/actors/llm/index.js';
import { type AgentDefinition, createRuntime, type Runtime } from '../../src/index.js';
import { type ChatRequestBody, reply } from '../../src/testing/index.js';
import { expectTroupeError } from '../core/helpers.js';
import { onCleanup, tempDir, testClient, testServer } from './support.js';

const note = defineTool({
  name: 'note',
  description: 'Keeps a note.',
  input: z.object({ text: z.string() }),
  handler: ({ text }) => `noted: ${text}`,
});

async function runtime(agents: AgentDefinition[]): Promise<Runtime> {
  const rt = await createRuntime({ dataDir: await tempDir('troupe-cost-'), agents });
  onCleanup(() => rt.close());
  return rt;
}

const usage = (prompt: number, completion: number) => ({
  usage: { prompt_tokens: prompt, completion_tokens: completion },
});

describe('token usage', () => {
  it('reads streamed usage (stream_options.include_usage) and estimates it when the server sends none, saying so', async () => {
    const server = await testServer({
      chat: [
        reply.text('streamed with usage', usage(111, 22)),
        reply.text('x'.repeat(400), { usage: false }),
        reply.text('y'.repeat(80), { usage: false }),
      ],
    });
    const llm = testClient(server);
    const rt = await runtime([
      defineLlmAgent({ role: 'streamer', systemPrompt: 's', llm }),
      defineLlmAgent({ role: 'plain', systemPrompt: 'p', llm, stream: false }),
    ]);
    const result = await rt.engine.execute({
      name: 'usage',
      tasks: [
        { id: 'a', agent: 'streamer' },
        { id: 'b', agent: 'streamer', dependsOn: ['a'] },
        { id: 'c', agent: 'plain', dependsOn: ['b'] },
      ],
    });
    expect(result.status).toBe('completed');
    const body = server.requests[0]!.body as ChatRequestBody;
    expect(body.stream_options).toEqual({ include_usage: true });
    const of = (id: string) => (result.tasks[id]!.output as LlmAgentOutput).usage;
    expect(of('a')).toMatchObject({ promptTokens: 111, completionTokens: 22, estimated: 0 });
    // 400 characters at 4 a token; the prompt from the request's JSON.
    expect(of('b')).toMatchObject({ completionTokens: 100, estimated: 1, requests: 1 });
    expect(of('b').promptTokens).toBeGreaterThan(5);
    expect(of('c')).toMatchObject({ completionTokens: 20, estimated: 1 });
    const run = usageOf(result);
    expect(run.estimated).toBe(2);
    expect(run.byAgent.streamer).toMatchObject({ requests: 2, completionTokens: 122 });
    expect(run.byAgent.plain).toMatchObject({ requests: 1, completionTokens: 20 });
  });

  it('turns usage into money with a price table, per run and in llm.usage events', async () => {
    const server = await testServer({
      chat: [reply.text('one', usage(1_000_000, 0)), reply.text('two', usage(200_000, 100_000))],
    });
    const prices = { 'test-model': { inputPerMillion: 0.5, outputPerMillion: 2 } };
    const rt = await runtime([
      defineLlmAgent({ role: 'priced', systemPrompt: 'p', llm: testClient(server), prices }),
      defineLlmAgent({
        role: 'other',
        systemPrompt: 'o',
        llm: testClient(server),
        model: 'unpriced-model',
      }),
    ]);
    const events: LlmEvent[] = [];
    rt.engine.on('llm.usage', (event) => {
      events.push(event);
    });
    const result = await rt.engine.execute({
      name: 'money',
      tasks: [
        { id: 'a', agent: 'priced' },
        { id: 'b', agent: 'other', dependsOn: ['a'] },
      ],
    });
    expect(result.status).toBe('completed');
    expect(events.map((e) => (e.type === 'llm.usage' ? e.cost : null))).toEqual([0.5, undefined]);
    const run = usageOf(result, { prices });
    expect(run.cost).toBeCloseTo(0.5, 10);
    expect(run.unpriced).toEqual(['unpriced-model']);
    expect(
      usageOf(result, { prices: { ...prices, 'unpriced-model': prices['test-model'] } }).cost,
    ).toBeCloseTo(0.5 + 0.1 + 0.2, 10);
    expect(usageOf(result)).not.toHaveProperty('cost');
  });
});

describe('budgets', () => {
  it('stops the run with BUDGET_EXCEEDED before a call whose worst case would pass maxTokens, without retrying', async () => {
    const server = await testServer({
      chat: [
        reply.toolCall('note', { text: 'a' }, usage(300, 50)),
        reply.toolCall('note', { text: 'b' }, usage(400, 50)),
        reply.text('never asked', usage(500, 50)),
      ],
    });
    // The prompts here are about 150 tokens: after 800 tokens spent, a third
    // call's worst case (prompt + 200 max_tokens) passes 1,100.
    const budget = new LlmBudget({ maxTokens: 1_100, maxOutputTokens: 200 });
    const rt = await runtime([
      defineLlmAgent({
        role: 'spender',
        systemPrompt: 'You spend.',
        tools: [note],
        llm: testClient(server),
        budget,
      }),
    ]);
    const result = await rt.engine.execute(
      {
        name: 'budget',
        defaults: { retry: { maxAttempts: 3, initialDelayMs: 1 } },
        tasks: [{ id: 'spend', agent: 'spender' }],
      },
      { workflowId: 'budget-1' },
    );
    expect(result.status).toBe('failed');
    expect(result.tasks.spend?.error?.code).toBe('BUDGET_EXCEEDED');
    expect(result.tasks.spend?.error?.message).toMatch(
      /800 tokens spent, and the next call may use \d+ .*could pass maxTokens = 1100/,
    );
    expect(result.tasks.spend?.attempts).toBe(1);
    expect(server.calls()).toBe(2);
    // The worst case is enforced by the server too.
    expect((server.requests[0]!.body as ChatRequestBody).max_tokens).toBe(200);
    expect(budget.spent('budget-1')).toEqual({ tokens: 800, cost: 0 });
    expect(budget.spent('another-run')).toEqual({ tokens: 0, cost: 0 });
  });

  it('shares one budget between agents of a run, in money', async () => {
    const server = await testServer({
      chat: [reply.text('first', usage(100_000, 10_000)), reply.text('never', usage(1, 1))],
    });
    const prices = { 'test-model': { inputPerMillion: 1, outputPerMillion: 4 } };
    // The first call costs 0.14; the second's worst case (its prompt + 50,000 tokens out at 4) passes 0.3.
    const budget = new LlmBudget({ maxCost: 0.3, prices, maxOutputTokens: 50_000 });
    const llm = testClient(server);
    const rt = await runtime([
      defineLlmAgent({ role: 'one', systemPrompt: '1', llm, budget }),
      defineLlmAgent({ role: 'two', systemPrompt: '2', llm, budget }),
    ]);
    const result = await rt.engine.execute({
      name: 'money-budget',
      tasks: [
        { id: 'a', agent: 'one' },
        { id: 'b', agent: 'two', dependsOn: ['a'] },
      ],
    });
    expect(result.tasks.a?.status).toBe('completed');
    expect(result.tasks.b?.error?.code).toBe('BUDGET_EXCEEDED');
    expect(result.tasks.b?.error?.message).toMatch(/could pass maxCost = 0.3/);
    expect(server.calls()).toBe(1);
  });

  it('refuses bad options, and maxCost with a model that has no price', async () => {
    await expectTroupeError(() => new LlmBudget({}), 'INVALID_INPUT');
    await expectTroupeError(() => new LlmBudget({ maxTokens: -1 }), 'INVALID_INPUT');
    const error = await expectTroupeError(
      () =>
        new LlmBudget({
          maxCost: 1,
          prices: { m: { inputPerMillion: 1 } } as unknown as PriceTable,
        }),
      'INVALID_INPUT',
    );
    expect(error.message).toContain('prices.m.outputPerMillion');
    const budget = new LlmBudget({ maxCost: 1 });
    const missing = await expectTroupeError(
      () => budget.reserve('run', 'gpt-x', 10, 'agent "a"'),
      'CONFIG_ERROR',
    );
    expect(missing.message).toContain(`prices: { 'gpt-x': { inputPerMillion, outputPerMillion } }`);
  });
});
