/**
 * MCP tools for an LLM agent, offline: this file is also a small MCP server
 * (written with the SDK's server API). Run normally, it asks troupe to start
 * a copy of itself as a stdio MCP server, gives the server's tools to an LLM
 * agent, and lets the OpenAI test server play the model: it calls
 * `notes__lookup`, and the answer quotes what the tool returned.
 *
 *   npx tsx examples/mcp-tools.ts
 *
 * With a real server, replace `command`/`args` by yours (e.g.
 * `command: 'npx', args: ['-y', '@modelcontextprotocol/server-filesystem', '.']`)
 * or give `{ name, url }` for a streamable HTTP server.
 */
import { fileURLToPath } from 'node:url';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js';
import { z } from 'zod';
import { defineLlmAgent, type LlmAgentOutput, mcpTools } from '../src/actors/llm/index.js';
import { createRuntime } from '../src/runtime/runtime.js';
import { reply, startOpenAiTestServer } from '../src/testing/index.js';

const NOTES: Record<string, string> = { deploy: 'Deploys go out on Tuesdays after the QA run.' };

if (process.argv.includes('--serve')) {
  const server = new McpServer({ name: 'notes', version: '1.0.0' });
  server.registerTool(
    'lookup',
    { description: 'Finds the team note on a topic.', inputSchema: { topic: z.string() } },
    async ({ topic }) => ({ content: [{ type: 'text', text: NOTES[topic] ?? 'no note' }] }),
  );
  await server.connect(new StdioServerTransport());
} else {
  const model = await startOpenAiTestServer({
    chat: [
      reply.toolCall('notes__lookup', { topic: 'deploy' }),
      ({ body }) => reply.text(`From the notes: ${body.messages?.at(-1)?.content}`),
    ],
  });
  const notes = await mcpTools({
    servers: [
      {
        name: 'notes',
        command: process.execPath,
        args: ['--import', 'tsx', fileURLToPath(import.meta.url), '--serve'],
        cwd: fileURLToPath(new URL('..', import.meta.url)), // where tsx is installed
      },
    ],
  });
  const rt = await createRuntime({
    dataDir: false,
    agents: [
      defineLlmAgent({
        role: 'assistant',
        systemPrompt: 'You answer from the team notes.',
        tools: notes.tools,
        llm: { baseURL: model.url, apiKey: 'test', model: 'test-model' },
      }),
    ],
  });
  try {
    const result = await rt.engine.execute({
      name: 'ask-notes',
      tasks: [{ id: 'ask', agent: 'assistant', description: 'When do deploys go out?' }],
    });
    const output = result.tasks.ask?.output as LlmAgentOutput;
    console.log(output.toolCalls, output.content);
    if (output.content !== `From the notes: ${NOTES.deploy}`) process.exitCode = 1;
  } finally {
    await rt.close();
    await notes.close();
    await model.close();
  }
}
