import { describe, expect, it } from 'vitest';
import { createLlmPlanner } from '../../src/actors/llm/index.js';
import { createRuntime, type Runtime, TroupeError } from '../../src/index.js';
import { type ChatRequestBody, fault, reply } from '../../src/testing/index.js';
import { onCleanup, searchPlan, stubSpecialists, testClient, testServer } from './support.js';

const TASK = 'Create a search API with Elasticsearch';
const REQUIREMENTS = { endpoint: '/api/search', method: 'POST' };

async function runtime(options: Parameters<typeof createRuntime>[0]): Promise<Runtime> {
  const rt = await createRuntime({ dataDir: false, agents: stubSpecialists(), ...options });
  onCleanup(() => rt.close());
  return rt;
}

const bodyOf = (server: { requests: readonly { body: unknown }[] }, index: number) =>
  server.requests[index]!.body as ChatRequestBody;

describe('LLM planner', () => {
  it('plans with structured output restricted to the registered roles', async () => {
    const server = await testServer({ chat: [reply.json(searchPlan())] });
    const rt = await runtime({ llm: testClient(server) });

    const plan = await rt.orchestrator.decomposeTask(TASK, REQUIREMENTS);

    expect(plan.tasks.map((t) => [t.id, t.agent, t.dependsOn])).toEqual([
      ['index', 'elasticsearch', []],
      ['api', 'backend', ['index']],
      ['tests', 'qa', ['api']],
    ]);
    expect(plan.tasks[1]!.input).toEqual({ requirements: REQUIREMENTS });
    expect(plan.name).toBe('create-a-search-api-with-elasticsearch');
    expect(plan.metadata).toMatchObject({
      planner: 'llm',
      model: 'test-model',
      attempts: 1,
      rationale: 'index first, then the API, then tests',
      usage: { requests: 1, totalTokens: expect.any(Number) },
    });

    const body = bodyOf(server, 0);
    expect(body.response_format?.type).toBe('json_schema');
    const schema = body.response_format?.json_schema?.schema as {
      properties: { tasks: { items: { properties: { agent: { enum: string[] } } } } };
    };
    expect(schema.properties.tasks.items.properties.agent.enum.sort()).toEqual(
      rt
        .profiles()
        .map((p) => p.role)
        .sort(),
    );
    const prompt = JSON.stringify(body.messages);
    expect(prompt).toContain(TASK);
    expect(prompt).toContain('/api/search');
    expect(prompt).toContain('Elasticsearch Architect');
  });

  it('only offers the roles that are registered', async () => {
    const server = await testServer({ chat: [reply.json(searchPlan())] });
    const rt = await runtime({ llm: testClient(server), agents: stubSpecialists().slice(0, 2) });
    // The scripted plan uses qa, which is not registered: invalid, then the fallback.
    const plan = await rt.orchestrator.decomposeTask(TASK, REQUIREMENTS).catch((e) => e);
    const body = bodyOf(server, 0);
    const schema = JSON.stringify(body.response_format?.json_schema?.schema);
    expect(schema).toContain('"enum":["backend","elasticsearch"]');
    expect(plan).not.toBeInstanceOf(Error);
    for (const task of plan.tasks) expect(['backend', 'elasticsearch']).toContain(task.agent);
  });

  it.each([
    ['an unknown role', fault.invalidPlan('role'), /unknown agent role "astronaut"/],
    ['a dependency cycle', fault.invalidPlan('cycle', 'backend'), /dependency cycle/],
    ['missing fields', fault.invalidPlan('shape'), /tasks\[0\]\.agent/],
    ['text that is not JSON', reply.text('Sure! Here is the plan: ...'), /not valid JSON/],
  ])('repairs a plan with %s by sending the issues back', async (_, bad, issue) => {
    const server = await testServer({ chat: [bad, reply.json(searchPlan())] });
    const rt = await runtime({ llm: testClient(server) });

    const plan = await rt.orchestrator.decomposeTask(TASK, REQUIREMENTS);

    expect(plan.metadata).toMatchObject({ planner: 'llm', attempts: 2 });
    expect(plan.metadata.fallback).toBeUndefined();
    expect(plan.tasks).toHaveLength(3);
    const repair = bodyOf(server, 1).messages!;
    expect(repair.at(-2)).toMatchObject({ role: 'assistant' });
    expect(repair.at(-1)).toMatchObject({ role: 'user' });
    expect(String(repair.at(-1)!.content)).toMatch(issue);
  });

  it('accepts a plan wrapped in a Markdown fence', async () => {
    const fenced = `\`\`\`json\n${JSON.stringify(searchPlan(), null, 2)}\n\`\`\``;
    const server = await testServer({ chat: [reply.text(fenced)] });
    const rt = await runtime({ llm: testClient(server) });
    expect((await rt.orchestrator.decomposeTask(TASK)).tasks).toHaveLength(3);
  });

  it('falls back to the heuristic planner after repeated invalid plans, and says so', async () => {
    const server = await testServer({
      chat: [fault.invalidPlan('role'), fault.invalidPlan('shape'), fault.invalidPlan('role')],
    });
    const rt = await runtime({ llm: testClient(server) });

    const plan = await rt.orchestrator.decomposeTask(TASK, REQUIREMENTS);

    expect(server.calls()).toBe(3);
    expect(plan.metadata).toMatchObject({
      planner: 'llm',
      fallback: 'heuristic',
      attempts: 3,
      reason: expect.stringMatching(/invalid plan after 3 answer\(s\): .*astronaut/),
      usage: { requests: 3 },
    });
    // The heuristic plan itself: elasticsearch and backend match the words of the task.
    expect(plan.tasks.map((t) => t.agent)).toEqual(
      expect.arrayContaining(['elasticsearch', 'backend']),
    );
  });

  it('falls back when the server keeps failing, after the client retried', async () => {
    const server = await testServer({
      chat: [
        fault.serverError({ retryAfterMs: 1 }),
        fault.serverError({ retryAfterMs: 1 }),
        fault.serverError({ retryAfterMs: 1 }),
      ],
    });
    const rt = await runtime({ llm: testClient(server, { maxRetries: 2 }) });

    const plan = await rt.orchestrator.decomposeTask(TASK, REQUIREMENTS);

    expect(server.calls()).toBe(3);
    expect(plan.metadata).toMatchObject({
      fallback: 'heuristic',
      reason: expect.stringMatching(/HTTP 500/),
    });
  });

  it('with fallback: false, a planner that cannot plan fails with PLANNER_FAILED', async () => {
    const server = await testServer({
      chat: [fault.invalidPlan('role'), fault.invalidPlan('role')],
    });
    const planner = createLlmPlanner({ llm: testClient(server), maxAttempts: 2, fallback: false });
    const rt = await runtime({ planner });
    const error = await rt.orchestrator.decomposeTask(TASK).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TroupeError);
    expect((error as TroupeError).code).toBe('PLANNER_FAILED');
    expect((error as TroupeError).message).toMatch(/unknown agent role "astronaut"/);
  });

  it('retries a 429 with retry-after through the openai client', async () => {
    const server = await testServer({
      chat: [fault.rateLimit({ retryAfterMs: 5 }), reply.json(searchPlan())],
    });
    const rt = await runtime({ llm: testClient(server, { maxRetries: 1 }) });
    const plan = await rt.orchestrator.decomposeTask(TASK);
    expect(server.calls()).toBe(2);
    expect(plan.metadata).toMatchObject({ planner: 'llm', attempts: 1 });
  });

  it('decomposeTask({ signal }): aborting stops the model request and rejects with PLAN_ABORTED', async () => {
    const server = await testServer({ chat: [fault.hang()] });
    const rt = await runtime({ llm: testClient(server) });
    const controller = new AbortController();
    const planned = rt.orchestrator.decomposeTask(TASK, {}, { signal: controller.signal });
    await server.waitForCalls(1);
    controller.abort(new Error('user pressed Ctrl+C'));
    const error = (await planned.catch((e: unknown) => e)) as TroupeError;
    expect(error.code).toBe('PLAN_ABORTED');
    expect(error.message).toMatch(/user pressed Ctrl\+C/);
    await server.waitForAborted(1);
  });

  it('closing the runtime settles a pending plan with RUNTIME_CLOSED', async () => {
    const server = await testServer({ chat: [fault.hang()] });
    const rt = await createRuntime({
      dataDir: false,
      agents: stubSpecialists(),
      llm: testClient(server),
    });
    const planned = rt.orchestrator.decomposeTask(TASK);
    await server.waitForCalls(1);
    await rt.close();
    const error = (await planned.catch((e: unknown) => e)) as TroupeError;
    expect(error.code).toBe('RUNTIME_CLOSED');
    await server.waitForAborted(1);
  });
});
