/** LLM agents that work together: a decisions record in the shared context, and messages between roles. */
import { describe, expect, it } from 'vitest';
import {
  collaborationTools,
  decisionsOf,
  defineLlmAgent,
  type LlmAgentOutput,
} from '../../src/actors/llm/index.js';
import { createRuntime, type Runtime } from '../../src/index.js';
import { type ChatRequestBody, type OpenAiTestServer, reply } from '../../src/testing/index.js';
import { onCleanup, testClient, testServer } from './support.js';

/** A runtime whose LLM agents of these roles have the collaboration tools, on the test server. */
async function team(server: OpenAiTestServer, roles: string[]): Promise<Runtime> {
  const agents = roles.map((role) =>
    defineLlmAgent({
      role,
      systemPrompt: `You are ${role}.`,
      tools: collaborationTools(),
      llm: testClient(server),
    }),
  );
  const rt = await createRuntime({ dataDir: false, agents });
  onCleanup(() => rt.close());
  return rt;
}

describe('collaboration tools', () => {
  it('a decision recorded by one agent is in the next agent’s prompt; messages reach the role', async () => {
    const server = await testServer({
      chat: [
        reply.toolCalls([
          {
            name: 'record_decision',
            arguments: { topic: 'api.path', decision: 'POST /api/search in src/api/search.ts' },
          },
          { name: 'send_message', arguments: { to: 'docs', text: 'Document POST /api/search.' } },
        ]),
        reply.text('Decided the API path.'),
        reply.text('Documented POST /api/search.'),
      ],
    });
    const rt = await team(server, ['backend', 'docs']);

    const result = await rt.engine.execute(
      {
        name: 'team',
        tasks: [
          { id: 'api', agent: 'backend', description: 'Build the API.' },
          { id: 'guide', agent: 'docs', description: 'Document it.', dependsOn: ['api'] },
        ],
      },
      { context: { request: 'Create a search API' } },
    );

    expect(result.status).toBe('completed');
    expect(decisionsOf(result.context).decisions).toEqual({
      'api.path': { decision: 'POST /api/search in src/api/search.ts', by: 'backend' },
    });
    const docsPrompt = JSON.stringify((server.requests[2]!.body as ChatRequestBody).messages);
    expect(docsPrompt).toContain('Create a search API');
    expect(docsPrompt).toContain('POST /api/search in src/api/search.ts');
    const inbox = await rt.communicator.getMessageHistory({ agent: 'docs', type: 'notification' });
    expect(inbox.map((m) => [m.from, m.type, m.payload])).toEqual([
      ['backend', 'notification', { text: 'Document POST /api/search.' }],
    ]);
  });
});

describe('ask_role', () => {
  it('an agent asks another role and waits: the LLM agent of that role answers with one model call', async () => {
    const server = await testServer({
      onChat: ({ body }) => {
        const messages = body.messages ?? [];
        const system = String(messages[0]?.content);
        if (system === 'You are elasticsearch.') {
          // Asked outside any task: the question is the whole conversation.
          expect(String(messages[1]?.content)).toContain(
            'The backend agent of your team asks you:',
          );
          return reply.text('<think>the index I made</think>Query products_v1 on port 9200.');
        }
        const last = messages.at(-1)!;
        if (last.role === 'tool') return reply.text(`Using: ${String(last.content)}`);
        return reply.toolCall('ask_role', { to: 'elasticsearch', question: 'Which index?' });
      },
    });
    const rt = await team(server, ['backend', 'elasticsearch']);

    const result = await rt.engine.execute({
      name: 'ask',
      tasks: [{ id: 'api', agent: 'backend', description: 'Build the API.' }],
    });

    expect(result.status).toBe('completed');
    expect((result.tasks.api!.output as LlmAgentOutput).content).toBe(
      'Using: {"from":"elasticsearch","answer":"Query products_v1 on port 9200."}',
    );
    const history = await rt.communicator.getMessageHistory({ workflowId: result.workflowId });
    expect(history.map((m) => [m.from, m.to, m.type])).toEqual([
      ['backend', 'elasticsearch', 'request'],
      ['elasticsearch', 'backend', 'response'],
    ]);
  });

  it('a role that does not answer requests makes a tool error the model can act on', async () => {
    const server = await testServer({
      onChat: ({ body }) => {
        const last = body.messages?.at(-1);
        if (last?.role === 'tool') return reply.text(`Could not ask: ${String(last.content)}`);
        return reply.toolCall('ask_role', { to: 'docs', question: 'Which format?' });
      },
    });
    const rt = await createRuntime({
      dataDir: false,
      agents: [
        defineLlmAgent({
          role: 'backend',
          systemPrompt: 'You are backend.',
          tools: collaborationTools(),
          llm: testClient(server),
        }),
        defineLlmAgent({
          role: 'docs',
          systemPrompt: 'You are docs.',
          llm: testClient(server),
          answerRequests: false,
        }),
      ],
    });
    onCleanup(() => rt.close());
    const result = await rt.engine.execute({
      name: 'ask',
      tasks: [{ id: 'api', agent: 'backend' }],
    });
    const output = result.tasks.api!.output as LlmAgentOutput;
    expect(output.toolCalls[0]).toMatchObject({ name: 'ask_role', ok: false });
    expect(output.content).toMatch(/Could not ask: .*has no onMessage hook/);
  });
});

describe('structured output', () => {
  it('defineLlmAgent({ output }) returns the validated object, repairing an invalid answer', async () => {
    const { z } = await import('zod');
    const server = await testServer({
      chat: [
        reply.text('Here: ```json\n{"endpoint": "/api/search", "port": "eighty"}\n```'),
        reply.text('<think>port is a number</think>{"endpoint": "/api/search", "port": 8080}'),
      ],
    });
    const agent = defineLlmAgent({
      role: 'backend',
      systemPrompt: 'You design APIs.',
      llm: testClient(server),
      output: z.object({ endpoint: z.string(), port: z.number().int() }),
    });
    const rt = await createRuntime({ dataDir: false, agents: [agent] });
    onCleanup(() => rt.close());
    const result = await rt.engine.execute({ name: 's', tasks: [{ id: 'api', agent: 'backend' }] });
    expect(result.status).toBe('completed');
    expect((result.tasks.api!.output as { data: unknown }).data).toEqual({
      endpoint: '/api/search',
      port: 8080,
    });
    const first = JSON.stringify((server.requests[0]!.body as ChatRequestBody).messages);
    expect(first).toContain('JSON Schema');
    const repair = (server.requests[1]!.body as ChatRequestBody).messages!.at(-1)!;
    expect(String(repair.content)).toMatch(/port/);
  });
});
