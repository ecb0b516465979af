/** LLM agents that work together: a decisions record in the shared context, and messages between roles. */
import { describe, expect, it } from 'vitest';
import { collaborationTools, decisionsOf, defineLlmAgent } from '../../src/actors/llm/index.js';
import { createRuntime } from '../../src/index.js';
import { type ChatRequestBody, reply } from '../../src/testing/index.js';
import { onCleanup, testClient, testServer } from './support.js';

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
    const agent = (role: string) =>
      defineLlmAgent({
        role,
        systemPrompt: `You are ${role}.`,
        tools: collaborationTools(),
        llm: testClient(server),
      });
    const rt = await createRuntime({ dataDir: false, agents: [agent('backend'), agent('docs')] });
    onCleanup(() => rt.close());

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
