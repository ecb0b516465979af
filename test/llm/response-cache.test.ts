/**
 * The response cache that item 6 (journaling LLM answers) builds on: a model
 * call is keyed by `workflowId:taskId` + attempt + turn, so running the same
 * turn again is answered from the store, with the test server counting calls.
 * The SIGKILL-and-resume test belongs with resume itself.
 */
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  defineLlmAgent,
  defineTool,
  type LlmAgentOutput,
  type LlmResponseCache,
  StoreLlmResponseCache,
} from '../../src/actors/llm/index.js';
import { createRuntime, type WorkflowDefinitionInput } from '../../src/index.js';
import { LevelStore } from '../../src/store/level/level-store.js';
import {
  type ChatRequestBody,
  fault,
  type OpenAiTestServer,
  reply,
} from '../../src/testing/index.js';
import { onCleanup, tempDir, testClient, testServer } from './support.js';

const WORKFLOW_ID = 'wf-cached';
const definition: WorkflowDefinitionInput = {
  name: 'cached',
  tasks: [{ id: 'look', agent: 'reader', description: 'Look up the answer.' }],
};

async function openStore(dir: string): Promise<LevelStore> {
  const store = await LevelStore.open(dir);
  onCleanup(() => store.close());
  return store;
}

/** One run in a fresh runtime (as a new process would do) with the given cache. */
async function runOnce(
  server: OpenAiTestServer,
  cache: LlmResponseCache,
  lookups: string[],
  workflowId = WORKFLOW_ID,
  description = 'Look up the answer.',
) {
  const lookup = defineTool({
    name: 'lookup',
    description: 'Looks a key up.',
    input: z.object({ key: z.string() }),
    handler: ({ key }) => {
      lookups.push(key);
      return { value: 42 };
    },
  });
  const agent = defineLlmAgent({
    role: 'reader',
    systemPrompt: 'Answer with the looked-up value.',
    tools: [lookup],
    llm: testClient(server),
    cache,
  });
  const rt = await createRuntime({ dataDir: false, agents: [agent] });
  try {
    const handle = await rt.engine.start(
      { ...definition, tasks: [{ ...definition.tasks![0]!, description }] },
      { workflowId },
    );
    return { rt, handle };
  } catch (error) {
    await rt.close();
    throw error;
  }
}

describe('LLM response cache', () => {
  it('a second run of the same task does not call the model', async () => {
    const server = await testServer({
      chat: [reply.toolCall('lookup', { key: 'answer' }), reply.text('The answer is 42.')],
    });
    const dir = path.join(await tempDir(), 'data');
    const lookups: string[] = [];

    const store = await openStore(dir);
    const first = await runOnce(server, new StoreLlmResponseCache(store), lookups);
    const firstResult = await first.handle.result;
    await first.rt.close();
    await store.close();
    expect(firstResult.status).toBe('completed');
    expect(server.calls()).toBe(2);

    // A new store object over the same folder: the answers were on disk.
    const reopened = await openStore(dir);
    const second = await runOnce(server, new StoreLlmResponseCache(reopened), lookups);
    const secondResult = await second.handle.result;
    await second.rt.close();

    expect(server.calls()).toBe(2);
    const a = firstResult.tasks.look!.output as LlmAgentOutput;
    const b = secondResult.tasks.look!.output as LlmAgentOutput;
    expect(b.content).toBe('The answer is 42.');
    expect(b.toolCalls).toEqual(a.toolCalls);
    expect(a.usage).toMatchObject({ requests: 2, cached: 0 });
    expect(b.usage).toMatchObject({ requests: 0, cached: 2, totalTokens: a.usage.totalTokens });
    // Tools of cached turns run again; built-in tools are safe to repeat.
    expect(lookups).toEqual(['answer', 'answer']);
  });

  it('a task interrupted mid-conversation reuses the answers it had and asks only for the rest', async () => {
    const server = await testServer({
      chat: [
        reply.toolCall('lookup', { key: 'answer' }),
        fault.hang(),
        reply.text('42, after all.'),
      ],
    });
    const store = await openStore(path.join(await tempDir(), 'data'));
    const cache = new StoreLlmResponseCache(store);
    const lookups: string[] = [];

    const first = await runOnce(server, cache, lookups);
    await server.waitForCalls(2);
    first.rt.engine.cancel(WORKFLOW_ID, 'simulated crash');
    expect((await first.handle.result).status).toBe('cancelled');
    await first.rt.close();

    const second = await runOnce(server, cache, lookups);
    const result = await second.handle.result;
    await second.rt.close();

    expect(result.status).toBe('completed');
    expect(server.calls()).toBe(3);
    expect((result.tasks.look!.output as LlmAgentOutput).usage).toMatchObject({
      requests: 1,
      cached: 1,
    });
    // The re-asked turn carries the same conversation as the one that hung.
    const hung = server.requests[1]!.body as ChatRequestBody;
    const resumed = server.requests[2]!.body as ChatRequestBody;
    expect(resumed.messages).toEqual(hung.messages);
  });

  it('keyBy call: keys answers by idempotency key, attempt and turn, and forgets a workflow', async () => {
    const store = await openStore(path.join(await tempDir(), 'data'));
    const cache = new StoreLlmResponseCache(store, { keyBy: 'call' });
    const answer = {
      id: 'c1',
      object: 'chat.completion' as const,
      created: 0,
      model: 'm',
      choices: [
        {
          index: 0,
          finish_reason: 'stop' as const,
          logprobs: null,
          message: { role: 'assistant' as const, content: 'hi', refusal: null },
        },
      ],
    };
    const key = { idempotencyKey: 'wf-1:task', attempt: 1, turn: 1, request: 'same' };
    await cache.put(key, answer);
    await cache.put({ ...key, idempotencyKey: 'wf-10:task' }, answer);
    expect(await cache.get(key)).toEqual(answer);
    expect(await cache.get({ ...key, attempt: 2 })).toBeUndefined();
    expect(await cache.get({ ...key, turn: 2 })).toBeUndefined();
    expect(await store.get('meta', 'llm/wf-1:task/000001/000001')).toMatchObject({
      key,
      response: answer,
    });

    expect(await cache.forget('wf-1')).toBe(1);
    expect(await cache.get(key)).toBeUndefined();
    expect(await cache.get({ ...key, idempotencyKey: 'wf-10:task' })).toEqual(answer);
    expect(() => new StoreLlmResponseCache(store, { collection: 'journal' as 'meta' })).toThrow(
      /reserved/,
    );
  });

  it('keyBy content (the default): a new run of the same request pays nothing; a changed one asks', async () => {
    const server = await testServer({
      chat: [
        reply.toolCall('lookup', { key: 'answer' }),
        reply.text('The answer is 42.'),
        reply.toolCall('lookup', { key: 'other' }),
        reply.text('Other: 42.'),
      ],
    });
    const store = await openStore(path.join(await tempDir(), 'data'));
    const cache = new StoreLlmResponseCache(store);
    const lookups: string[] = [];
    for (const [workflowId, description] of [
      ['wf-first', 'Look up the answer.'],
      ['wf-second', 'Look up the answer.'],
      ['wf-third', 'Look up the other answer.'],
    ] as const) {
      const run = await runOnce(server, cache, lookups, workflowId, description);
      expect((await run.handle.result).status).toBe('completed');
      await run.rt.close();
    }
    // Two calls for the first run, none for the second (a new run id), two for the changed task.
    expect(server.calls()).toBe(4);
    expect(lookups).toEqual(['answer', 'answer', 'other']);
  });
});
