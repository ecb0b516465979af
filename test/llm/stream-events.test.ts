/**
 * Live LLM events (issue 16, item 6): `llm.token` in batches, `llm.tool_call`,
 * `llm.tool_result` and `llm.usage` on `engine.on`, stamped with their task,
 * and never journaled.
 */

import path from 'node:path';
import { Level } from 'level';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defineLlmAgent,
  defineTool,
  type LlmEvent,
  MemoryLlmResponseCache,
  TOKEN_BATCH_CHARS,
} from '../../src/actors/llm/index.js';
import { createRuntime, type Runtime } from '../../src/index.js';
import { reply } from '../../src/testing/index.js';
import { tempDir, testClient, testServer } from './support.js';

const ANSWER =
  'First I looked at the request, then I checked the numbers twice, and the sum of two and three is five, which I noted for the next agent.';

const add = defineTool({
  name: 'add',
  description: 'Adds two numbers.',
  input: z.object({ a: z.number(), b: z.number() }),
  handler: ({ a, b }) => ({ sum: a + b }),
});

async function run(
  agentOptions: { stream?: boolean; cache?: MemoryLlmResponseCache },
  chat: Parameters<typeof testServer>[0],
  workflowId = 'events-1',
) {
  const server = await testServer(chat);
  const dataDir = await tempDir('troupe-events-');
  const rt: Runtime = await createRuntime({
    dataDir,
    agents: [
      defineLlmAgent({
        role: 'calc',
        systemPrompt: 'You add.',
        tools: [add],
        llm: testClient(server),
        ...agentOptions,
      }),
    ],
  });
  const events: LlmEvent[] = [];
  rt.engine.on('*', (event) => {
    if (event.type.startsWith('llm.')) events.push(event as LlmEvent);
  });
  const result = await rt.engine.execute(
    { name: 'events', tasks: [{ id: 'sum', agent: 'calc', description: 'Add 2 and 3.' }] },
    { workflowId },
  );
  await rt.close();
  return { result, events, dataDir, server };
}

describe('LLM events', () => {
  it('streams text in batches, then the tool call, its result and the usage of each turn, stamped with the task', async () => {
    const { result, events } = await run(
      {},
      {
        chat: [
          reply.toolCall(
            'add',
            { a: 2, b: 3 },
            { usage: { prompt_tokens: 40, completion_tokens: 9 } },
          ),
          reply.text(ANSWER, { chunkSize: 4, usage: { prompt_tokens: 60, completion_tokens: 30 } }),
        ],
      },
    );
    expect(result.status).toBe('completed');

    const tokens = events.filter((e) => e.type === 'llm.token');
    expect(tokens.map((e) => (e.type === 'llm.token' ? e.text : '')).join('')).toBe(ANSWER);
    // Batched: the server sent 34 pieces of 4 characters.
    expect(tokens.length).toBe(Math.ceil(ANSWER.length / TOKEN_BATCH_CHARS));
    for (const token of tokens.slice(0, -1)) {
      expect(token.type === 'llm.token' && token.text.length).toBeGreaterThanOrEqual(
        TOKEN_BATCH_CHARS,
      );
    }
    expect(events.filter((e) => e.type !== 'llm.token')).toEqual([
      expect.objectContaining({
        type: 'llm.usage',
        turn: 1,
        model: 'test-model',
        usage: expect.objectContaining({ promptTokens: 40, completionTokens: 9, estimated: 0 }),
        total: expect.objectContaining({ totalTokens: 49 }),
      }),
      expect.objectContaining({
        type: 'llm.tool_call',
        turn: 1,
        callId: 'call_1_0',
        name: 'add',
        arguments: '{"a":2,"b":3}',
      }),
      expect.objectContaining({
        type: 'llm.tool_result',
        callId: 'call_1_0',
        name: 'add',
        ok: true,
        result: '{"sum":5}',
      }),
      expect.objectContaining({
        type: 'llm.usage',
        turn: 2,
        total: expect.objectContaining({ totalTokens: 139, requests: 2 }),
      }),
    ]);
    for (const event of events) {
      expect(event).toMatchObject({
        workflowId: 'events-1',
        taskId: 'sum',
        agent: 'calc',
        attempt: 1,
      });
      expect(typeof event.at).toBe('number');
    }
    expect(events.find((e) => e.type === 'llm.tool_call')).not.toHaveProperty('approval');
  });

  it('are never journaled', async () => {
    const { events, dataDir } = await run(
      {},
      {
        chat: [reply.toolCall('add', { a: 1, b: 1 }), reply.text(ANSWER, { chunkSize: 2 })],
      },
      'events-2',
    );
    expect(events.length).toBeGreaterThan(5);
    // Everything the run left in the data folder, read raw: no llm.* event, no step.
    const db = new Level<string, string>(path.join(dataDir, 'db'));
    const stored: string[] = [];
    for await (const [key, value] of db.iterator()) stored.push(`${key} ${value}`);
    await db.close();
    expect(stored.some((entry) => entry.includes('events-2'))).toBe(true);
    expect(
      stored.filter((entry) => /llm\.(token|tool_call|tool_result|usage)/.test(entry)),
    ).toEqual([]);
    expect(stored.filter((entry) => entry.includes('task.step'))).toEqual([]);
  });

  it('sends a whole answer as one llm.token when not streaming, and nothing for answers from the cache', async () => {
    const cache = new MemoryLlmResponseCache();
    const first = await run({ stream: false, cache }, { chat: [reply.text(ANSWER)] }, 'events-3');
    expect(first.events.filter((e) => e.type === 'llm.token')).toEqual([
      expect.objectContaining({ type: 'llm.token', turn: 1, text: ANSWER }),
    ]);
    const again = await run({ stream: false, cache }, { chat: [] }, 'events-4');
    expect(again.result.status).toBe('completed');
    expect(again.server.calls()).toBe(0);
    expect(again.events).toEqual([]);
  });
});
