/**
 * MCP tools end to end: a real MCP server (test/fixtures/mcp-docs-server.ts,
 * written with the SDK's server API) started by troupe over stdio, or served
 * over streamable HTTP on 127.0.0.1 in this process; an LLM agent driven by
 * the scripted OpenAI test server calls its tools through the tool loop.
 */
import { getEventListeners } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { describe, expect, it } from 'vitest';
import {
  defineLlmAgent,
  type LlmAgentOutput,
  type McpServerOptions,
  type McpToolset,
  mcpTools,
} from '../../src/actors/llm/index.js';
import { createRuntime, TroupeError } from '../../src/index.js';
import { type ChatRequestBody, reply } from '../../src/testing/index.js';
import { docsMcpServer } from '../fixtures/mcp-docs-server.js';
import { onCleanup, testClient, testServer } from './support.js';

const fixture = fileURLToPath(new URL('../fixtures/mcp-docs-server.ts', import.meta.url));
const stdioDocs = (extra: string[] = []): McpServerOptions => ({
  name: 'docs',
  command: process.execPath,
  args: ['--import', 'tsx', fixture, ...extra],
  env: { DOCS_ENV: 'from-troupe' },
});

async function connect(servers: McpServerOptions[]): Promise<McpToolset> {
  const set = await mcpTools({ servers });
  onCleanup(() => set.close());
  return set;
}

/** The docs server over streamable HTTP on 127.0.0.1, one server instance per session-less request. */
async function httpDocsServer(): Promise<string> {
  const http: Server = createServer(async (req, res) => {
    const mcp = docsMcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    res.on('close', () => {
      void transport.close();
      void mcp.close();
    });
    await mcp.connect(transport);
    await transport.handleRequest(req, res);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise((resolve) => http.close(resolve)));
  return `http://127.0.0.1:${(http.address() as AddressInfo).port}/mcp`;
}

async function runAgent(toolset: McpToolset, script: Parameters<typeof testServer>[0]) {
  const server = await testServer(script);
  const agent = defineLlmAgent({
    role: 'librarian',
    systemPrompt: 'You answer from the documentation.',
    tools: toolset.tools,
    llm: testClient(server),
  });
  const rt = await createRuntime({ dataDir: false, agents: [agent] });
  onCleanup(() => rt.close());
  const result = await rt.engine.execute({
    name: 'mcp-test',
    tasks: [{ id: 'ask', agent: 'librarian', description: 'How do retries work?' }],
  });
  return { server, result, output: result.tasks.ask?.output as LlmAgentOutput | undefined };
}

const toolReplies = (body: ChatRequestBody) =>
  (body.messages ?? []).filter((m) => m.role === 'tool').map((m) => m.content);

describe('mcpTools', () => {
  it('starts a stdio MCP server, lists its tools namespaced, and the agent calls one: the result reaches the answer', async () => {
    const docs = await connect([stdioDocs()]);
    expect([...docs.servers]).toEqual([['docs', ['docs__search', 'docs__stats', 'docs__broken']]]);
    const { server, result, output } = await runAgent(docs, {
      chat: [
        reply.toolCalls([
          { name: 'docs__search', arguments: { query: 'retry' } },
          { name: 'docs__stats', arguments: {} },
        ]),
        ({ body }) => reply.text(`From the docs: ${toolReplies(body).join(' | ')}`),
      ],
    });
    expect(result.status).toBe('completed');
    const first = server.requests[0]!.body as ChatRequestBody;
    expect(first.tools?.map((t) => t.function?.name)).toEqual([
      'docs__search',
      'docs__stats',
      'docs__broken',
    ]);
    expect(
      (first.tools?.[0]?.function as { parameters?: unknown } | undefined)?.parameters,
    ).toMatchObject({
      type: 'object',
      properties: { query: { type: 'string', minLength: 2 } },
      required: ['query'],
    });
    expect(output?.content).toBe(
      'From the docs: retries: Tasks retry with exponential backoff: set retry.maxAttempts on the task. | {"pages":2,"env":"from-troupe"}',
    );
    expect(output?.toolCalls).toEqual([
      { turn: 1, name: 'docs__search', arguments: '{"query":"retry"}', ok: true },
      { turn: 1, name: 'docs__stats', arguments: '{}', ok: true },
    ]);
  });

  it('refuses schema-invalid arguments before the server is called, and an error result, as tool errors the model can act on', async () => {
    const docs = await connect([stdioDocs()]);
    const { server, result, output } = await runAgent(docs, {
      chat: [
        reply.toolCall('docs__search', { query: 42, limit: 9 }),
        reply.toolCall('docs__search', '{"query": "re'),
        reply.toolCall('docs__broken', {}),
        reply.toolCall('docs__search', { query: 'install', limit: 1 }),
        reply.text('Install with npm.'),
      ],
    });
    expect(result.status).toBe('completed');
    expect(output?.content).toBe('Install with npm.');
    const errors = output?.toolCalls.map((call) => call.error);
    expect(errors?.[0]).toMatch(/^docs__search: input rejected by the tool's schema: .*query/);
    expect(errors?.[1]).toMatch(/^docs__search: the arguments are not valid JSON/);
    expect(errors?.[2]).toBe('docs__broken failed: the index is missing');
    expect(errors?.[3]).toBeUndefined();
    const last = server.requests.at(-1)!.body as ChatRequestBody;
    expect(toolReplies(last).at(-1)).toBe(
      'install: Run npm install troupe, then create troupe.config.js.',
    );
  });

  it('uses a streamable HTTP server on 127.0.0.1 next to a stdio one', async () => {
    const url = await httpDocsServer();
    const both = await connect([
      { ...stdioDocs(), needsApproval: true },
      { name: 'web', url, needsApproval: ['stats'] },
    ]);
    expect(both.tools.map((t) => [t.name, t.needsApproval === true])).toEqual([
      ['docs__search', true],
      ['docs__stats', true],
      ['docs__broken', true],
      ['web__search', false],
      ['web__stats', true],
      ['web__broken', false],
    ]);
    const { output } = await runAgent(both, {
      chat: [
        reply.toolCall('web__search', { query: 'install' }),
        ({ body }) => reply.text(`web says ${toolReplies(body).join('')}`),
      ],
    });
    expect(output?.content).toBe(
      'web says install: Run npm install troupe, then create troupe.config.js.',
    );
  });

  it('MCP_UNAVAILABLE names the server, what it printed and the fix when it fails to start or cannot be reached', async () => {
    const url = await httpDocsServer();
    const failure = await mcpTools({
      servers: [
        { name: 'web', url },
        { ...stdioDocs(['--crash']), name: 'crashy' },
      ],
    }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TroupeError);
    expect(failure).toMatchObject({
      code: 'MCP_UNAVAILABLE',
      context: { server: 'crashy', transport: 'stdio' },
    });
    const message = (failure as TroupeError).message;
    expect(message).toContain('MCP server "crashy"');
    expect(message).toContain('cannot open the index at /nowhere');
    expect(message).toContain('Check that the command runs by itself');

    await expect(
      mcpTools({ servers: [{ name: 'gone', command: 'troupe-no-such-mcp-server' }] }),
    ).rejects.toMatchObject({
      code: 'MCP_UNAVAILABLE',
      message: expect.stringContaining('ENOENT'),
    });
    await expect(
      mcpTools({ servers: [{ name: 'down', url: 'http://127.0.0.1:9/mcp' }] }),
    ).rejects.toMatchObject({
      code: 'MCP_UNAVAILABLE',
      context: { server: 'down', transport: 'http' },
    });
  });

  it('rejects bad options with INVALID_INPUT naming the field', async () => {
    await expect(mcpTools({ servers: [] })).rejects.toMatchObject({ code: 'INVALID_INPUT' });
    await expect(mcpTools({ servers: [{ name: 'a b', command: 'x' }] })).rejects.toThrow(
      /servers\.0|name/,
    );
    await expect(
      mcpTools({
        servers: [
          { name: 'a', command: 'x' },
          { name: 'a', url: 'http://127.0.0.1:1/' },
        ],
      }),
    ).rejects.toThrow(/same name/);
  });

  it('many calls on one task signal leave no abort listener behind on it', async () => {
    const docs = await connect([stdioDocs()]);
    const task = new AbortController();
    const ctx = {
      signal: task.signal,
      idempotencyKey: 'w:t',
      attempt: 1,
      turn: 1,
      addUsage: () => undefined,
    };
    for (let i = 0; i < 15; i++) {
      await expect(docs.tools[0]!.call('{"query":"install"}', ctx)).resolves.toMatchObject({
        ok: true,
      });
    }
    expect(getEventListeners(task.signal, 'abort')).toHaveLength(0);
  });

  it('close() stops the stdio server: later calls are tool errors, not crashes', async () => {
    const docs = await mcpTools({ servers: [stdioDocs()] });
    await docs.close();
    await docs.close();
    const search = docs.tools[0]!;
    const outcome = await search.call('{"query":"install"}', {
      signal: new AbortController().signal,
      idempotencyKey: 'w:t',
      attempt: 1,
      turn: 1,
      addUsage: () => undefined,
    });
    expect(outcome).toMatchObject({
      ok: false,
      error: expect.stringContaining('docs__search failed'),
    });
  });
});
