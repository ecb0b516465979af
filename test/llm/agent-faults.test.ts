/**
 * What an LLM agent does when the server misbehaves: retries (by the openai
 * client), timeouts, cancellation and bad bodies. Each abort is checked at
 * the server: the HTTP request must really be closed, not just ignored.
 */
import { describe, expect, it } from 'vitest';
import {
  defineLlmAgent,
  type LlmAgentOutput,
  type LlmOptions,
} from '../../src/actors/llm/index.js';
import { createRuntime, type Runtime, type WorkflowDefinitionInput } from '../../src/index.js';
import { type ChatStep, fault, type OpenAiTestServer, reply } from '../../src/testing/index.js';
import { onCleanup, testClient, testServer } from './support.js';

interface Setup {
  server: OpenAiTestServer;
  rt: Runtime;
}

async function setup(
  chat: ChatStep[],
  llm: LlmOptions = {},
  agent: { stream?: boolean } = {},
): Promise<Setup> {
  const server = await testServer({ chat });
  const rt = await createRuntime({
    dataDir: false,
    agents: [
      defineLlmAgent({
        role: 'writer',
        systemPrompt: 'Write.',
        llm: testClient(server, llm),
        ...agent,
      }),
    ],
  });
  onCleanup(() => rt.close());
  return { server, rt };
}

const task = (
  extra: Partial<WorkflowDefinitionInput['tasks'][number]> = {},
): WorkflowDefinitionInput => ({
  name: 'faults',
  tasks: [{ id: 'write', agent: 'writer', description: 'Write a haiku.', ...extra }],
});

describe('LLM agent faults', () => {
  it('429 with retry-after and 500 are retried by the client, then the task completes', async () => {
    const { server, rt } = await setup(
      [
        fault.rateLimit({ retryAfterMs: 5 }),
        fault.serverError({ retryAfterMs: 5 }),
        reply.text('haiku'),
      ],
      { maxRetries: 2 },
    );
    const result = await rt.engine.execute(task());
    expect(result.status).toBe('completed');
    expect((result.tasks.write!.output as LlmAgentOutput).content).toBe('haiku');
    expect(server.calls()).toBe(3);
  });

  it('when retries run out the task fails with the status, the server and the model', async () => {
    const { server, rt } = await setup(
      [fault.rateLimit({ retryAfterMs: 1 }), fault.rateLimit({ retryAfterMs: 1 })],
      { maxRetries: 1 },
    );
    const result = await rt.engine.execute(task());
    expect(result.status).toBe('failed');
    expect(server.calls()).toBe(2);
    const error = result.tasks.write!.error!;
    expect(error.code).toBe('TASK_FAILED');
    expect(error.message).toContain('agent "writer", task "write"');
    expect(error.message).toContain('model "test-model"');
    expect(error.message).toContain(server.url);
    expect(error.message).toMatch(/after 1 retries: HTTP 429/);
  });

  it('a hung request is aborted by the LLM timeout', async () => {
    const { server, rt } = await setup([fault.hang()], { timeoutMs: 150 });
    const result = await rt.engine.execute(task());
    expect(result.status).toBe('failed');
    expect(result.tasks.write!.error).toMatchObject({ code: 'TASK_TIMEOUT' });
    expect(result.tasks.write!.error!.message).toMatch(/timed out after 150 ms/);
    await server.waitForAborted(1);
  });

  it('a stream that goes silent is aborted by the same timeout', async () => {
    // Long enough that the response always starts in time, so the silence is what trips it.
    const { server, rt } = await setup([fault.stall('The first words and then', 2)], {
      timeoutMs: 500,
    });
    const result = await rt.engine.execute(task());
    expect(result.status).toBe('failed');
    expect(result.tasks.write!.error).toMatchObject({ code: 'TASK_TIMEOUT' });
    expect(result.tasks.write!.error!.message).toMatch(/sent nothing for 500 ms/);
    await server.waitForAborted(1);
  });

  it("a hung request is aborted by the task's own timeout", async () => {
    const { server, rt } = await setup([fault.hang()]);
    const result = await rt.engine.execute(task({ timeoutMs: 150 }));
    expect(result.status).toBe('failed');
    expect(result.tasks.write!.error).toMatchObject({ code: 'TASK_TIMEOUT' });
    await server.waitForAborted(1);
  });

  it('cancelling the workflow aborts the HTTP request in flight', async () => {
    const { server, rt } = await setup([fault.hang()]);
    const handle = await rt.engine.start(task());
    await server.waitForCalls(1);
    rt.engine.cancel(handle.workflowId, 'user pressed ctrl-c');
    const result = await handle.result;
    expect(result.status).toBe('cancelled');
    await server.waitForAborted(1);
    expect(server.requests[0]!.aborted).toBe(true);
  });

  it.each([
    ['a JSON body', false],
    ['an SSE chunk', true],
  ])('malformed JSON in %s fails the task with a readable error', async (_, stream) => {
    const { rt } = await setup([fault.malformed()], {}, { stream });
    const result = await rt.engine.execute(task());
    expect(result.status).toBe('failed');
    expect(result.tasks.write!.error!.message).toMatch(
      /LLM (request|stream) of agent "writer", task "write"/,
    );
  });

  it('a 200 without choices is reported as a non-OpenAI server', async () => {
    const { rt } = await setup([fault.malformed('{"hello": "world"}')], {}, { stream: false });
    const result = await rt.engine.execute(task());
    expect(result.tasks.write!.error!.message).toMatch(/no choices\[0\]\.message/);
  });
});
