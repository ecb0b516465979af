/**
 * The OpenAI test server, exercised through the real `openai` client: what
 * every other LLM test relies on.
 */
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import {
  fault,
  type OpenAiTestServer,
  reply,
  startOpenAiTestServer,
} from '../../src/testing/index.js';

let server: OpenAiTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

const client = (s: OpenAiTestServer, options: { maxRetries?: number; timeout?: number } = {}) =>
  new OpenAI({ baseURL: s.url, apiKey: 'test-key', maxRetries: 0, ...options });

describe('openai test server', () => {
  it('answers a chat completion with tool calls and usage', async () => {
    server = await startOpenAiTestServer({
      chat: [reply.toolCall('read_file', { path: 'a.txt' }, { usage: { prompt_tokens: 7 } })],
    });
    const completion = await client(server).chat.completions.create({
      model: 'test-model',
      messages: [{ role: 'user', content: 'hi' }],
    });
    const message = completion.choices[0]!.message;
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls');
    expect(message.tool_calls).toEqual([
      {
        id: 'call_1_0',
        type: 'function',
        function: { name: 'read_file', arguments: '{"path":"a.txt"}' },
      },
    ]);
    expect(completion.usage).toMatchObject({ prompt_tokens: 7 });
    expect(server.calls('chat')).toBe(1);
    expect(server.requests[0]!.headers.authorization).toBe('Bearer test-key');
  });

  it('streams content and tool-call deltas over SSE, with usage last', async () => {
    server = await startOpenAiTestServer({
      chat: [
        {
          type: 'message',
          content: 'Hello, streaming world',
          toolCalls: [{ name: 'list_files', arguments: { path: '.' } }],
          chunkSize: 5,
        },
      ],
    });
    const stream = await client(server).chat.completions.create({
      model: 'test-model',
      messages: [{ role: 'user', content: 'hi' }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const pieces: string[] = [];
    let args = '';
    let usage: unknown;
    for await (const chunk of stream) {
      if (chunk.usage) usage = chunk.usage;
      const delta = chunk.choices[0]?.delta;
      if (delta?.content) pieces.push(delta.content);
      for (const call of delta?.tool_calls ?? []) args += call.function?.arguments ?? '';
    }
    expect(pieces.join('')).toBe('Hello, streaming world');
    expect(pieces.length).toBeGreaterThan(3);
    expect(JSON.parse(args)).toEqual({ path: '.' });
    expect(usage).toMatchObject({ completion_tokens: expect.any(Number) });
  });

  it('computes deterministic embeddings, base64 (the client default) or float', async () => {
    server = await startOpenAiTestServer({ embeddingDimensions: 4 });
    const openai = client(server);
    const decoded = await openai.embeddings.create({ model: 'test-embedding', input: ['a', 'b'] });
    const floats = await openai.embeddings.create({
      model: 'test-embedding',
      input: ['a', 'b'],
      encoding_format: 'float',
    });
    expect(decoded.data[0]!.embedding).toHaveLength(4);
    expect(decoded.data.map((d) => d.embedding)).toEqual(floats.data.map((d) => d.embedding));
    expect(decoded.data[0]!.embedding).not.toEqual(decoded.data[1]!.embedding);
    expect(server.calls('embeddings')).toBe(2);
  });

  it('lists models', async () => {
    server = await startOpenAiTestServer({ models: ['m1'] });
    const page = await client(server).models.list();
    expect(page.data.map((m) => m.id)).toEqual(['m1']);
  });

  it('429 with retry-after and 500 are retried by the client', async () => {
    server = await startOpenAiTestServer({
      chat: [
        fault.rateLimit({ retryAfterMs: 5 }),
        fault.serverError({ retryAfterMs: 5 }),
        reply.text('ok'),
      ],
    });
    const completion = await client(server, { maxRetries: 2 }).chat.completions.create({
      model: 'test-model',
      messages: [{ role: 'user', content: 'hi' }],
    });
    expect(completion.choices[0]!.message.content).toBe('ok');
    expect(server.calls()).toBe(3);
  });

  it('the client waits as long as retry-after-ms says', async () => {
    // Longer than the client's own first backoff (at most 500 ms), so only the header explains it.
    server = await startOpenAiTestServer({
      chat: [fault.rateLimit({ retryAfterMs: 700 }), reply.text('ok')],
    });
    await client(server, { maxRetries: 1 }).chat.completions.create({
      model: 'test-model',
      messages: [],
    });
    const [first, second] = server.requests;
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(650);
  });

  it('an exhausted script is a clear, non-retried error', async () => {
    server = await startOpenAiTestServer();
    await expect(
      client(server, { maxRetries: 3 }).chat.completions.create({
        model: 'test-model',
        messages: [{ role: 'user', content: 'hi' }],
      }),
    ).rejects.toThrow(/no scripted answer left for chat request #1/);
    expect(server.calls()).toBe(1);
  });

  it('a malformed body makes the client fail', async () => {
    server = await startOpenAiTestServer({ chat: [fault.malformed()] });
    await expect(
      client(server).chat.completions.create({ model: 'test-model', messages: [] }),
    ).rejects.toThrow();
  });

  it('a hung request stays open until the client gives up, and is recorded as abandoned', async () => {
    server = await startOpenAiTestServer({ chat: [fault.hang()] });
    await expect(
      client(server, { timeout: 100 }).chat.completions.create({
        model: 'test-model',
        messages: [],
      }),
    ).rejects.toThrow(/timed out/i);
    await server.waitForAborted(1);
    expect(server.requests[0]!.aborted).toBe(true);
  });
});
