/**
 * Habits of local model servers (Ollama, llama.cpp's server, vLLM) that an
 * OpenAI-proper server never shows, each scripted on the test server.
 */
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createLlmPlanner,
  defineLlmAgent,
  defineTool,
  type LlmAgentOutput,
} from '../../src/actors/llm/index.js';
import { checkLlmServer } from '../../src/actors/llm/preflight.js';
import { StreamAccumulator } from '../../src/actors/llm/stream-accumulator.js';
import { createRuntime, type Runtime, TroupeError } from '../../src/index.js';
import { type ChatRequestBody, reply } from '../../src/testing/index.js';
import { onCleanup, searchPlan, stubSpecialists, testClient, testServer } from './support.js';

async function runtime(options: Parameters<typeof createRuntime>[0]): Promise<Runtime> {
  const rt = await createRuntime({ dataDir: false, ...options });
  onCleanup(() => rt.close());
  return rt;
}

function writerAgent(
  server: Parameters<typeof testClient>[0],
  written: string[],
  options: { stream?: boolean; textToolCalls?: boolean } = {},
) {
  const writeFile = defineTool({
    name: 'write_file',
    description: 'Writes a file.',
    input: z.object({ path: z.string(), content: z.string() }),
    handler: ({ path }) => {
      written.push(path);
      return `wrote ${path}`;
    },
  });
  return defineLlmAgent({
    role: 'writer',
    systemPrompt: 'You write files.',
    tools: [writeFile],
    llm: testClient(server),
    ...options,
  });
}

const writeTask = {
  name: 'local-model',
  tasks: [{ id: 'files', agent: 'writer', description: 'Write a.txt.' }],
};

const call = { name: 'write_file', arguments: { path: 'a.txt', content: 'A' } };

describe('tool calls written as text (server returns none)', () => {
  it.each([
    [
      'a ```json fence (vLLM without a tool parser)',
      `I will write it.\n\`\`\`json\n${JSON.stringify(call)}\n\`\`\``,
    ],
    [
      '<tool_call> tags (Hermes/Qwen template without --jinja)',
      `<tool_call>\n${JSON.stringify(call)}\n</tool_call>`,
    ],
    ['a bare {"name","arguments"} object', JSON.stringify(call)],
    [
      'a bare object with "parameters" (Llama 3.1 without a tool template)',
      JSON.stringify({ name: 'write_file', parameters: { path: 'a.txt', content: 'A' } }),
    ],
    [
      'a <think> block before the call',
      `<think>The user wants a file; {"name": "x"} is not it.</think>${JSON.stringify(call)}`,
    ],
  ])('runs the tool from %s', async (_, text) => {
    const server = await testServer({ chat: [reply.text(text), reply.text('Wrote a.txt.')] });
    const written: string[] = [];
    const rt = await runtime({ agents: [writerAgent(server, written)] });

    const result = await rt.engine.execute(writeTask);

    expect(result.status).toBe('completed');
    expect(written).toEqual(['a.txt']);
    const output = result.tasks.files!.output as LlmAgentOutput;
    expect(output.content).toBe('Wrote a.txt.');
    expect(output.toolCalls).toMatchObject([{ name: 'write_file', ok: true }]);
    // The result goes back as text, the way the call came.
    const second = server.requests[1]!.body as ChatRequestBody;
    expect(second.messages!.at(-1)).toMatchObject({ role: 'user' });
    expect(String(second.messages!.at(-1)!.content)).toContain('Result of write_file');
  });

  it('leaves an answer that only mentions JSON alone, and can be turned off', async () => {
    const answer = 'Done. The config is {"name": "search", "arguments": {}}.';
    const server = await testServer({
      chat: [reply.text(answer), reply.text(JSON.stringify(call))],
    });
    const written: string[] = [];
    const rt = await runtime({ agents: [writerAgent(server, written)] });
    const first = await rt.engine.execute(writeTask);
    expect((first.tasks.files!.output as LlmAgentOutput).content).toBe(answer);

    const rt2 = await runtime({ agents: [writerAgent(server, written, { textToolCalls: false })] });
    const second = await rt2.engine.execute(writeTask);
    expect((second.tasks.files!.output as LlmAgentOutput).content).toBe(JSON.stringify(call));
    expect(written).toEqual([]);
  });
});

describe('streamed tool-call deltas of local servers', () => {
  const two = [
    { name: 'write_file', arguments: { path: 'a.txt', content: 'A' }, id: 'call_a' },
    { name: 'write_file', arguments: { path: 'b.txt', content: 'B' }, id: 'call_b' },
  ];
  it.each([
    ['without index (ids only)', 'none'],
    ['all with index 0', 'zero'],
  ] as const)('keeps two parallel calls apart when deltas come %s', async (_, toolCallIndex) => {
    const server = await testServer({
      chat: [reply.toolCalls(two, { toolCallIndex, chunkSize: 5 }), reply.text('Both written.')],
    });
    const written: string[] = [];
    const rt = await runtime({ agents: [writerAgent(server, written)] });
    const result = await rt.engine.execute(writeTask);
    expect(result.status).toBe('completed');
    expect(written).toEqual(['a.txt', 'b.txt']);
  });

  it('folds repeated names, and index-0 calls without ids once the arguments are complete', () => {
    const acc = new StreamAccumulator();
    const chunk = (tool_calls: unknown[], finish: string | null = null) =>
      ({
        id: 'c',
        object: 'chat.completion.chunk',
        created: 0,
        model: 'm',
        choices: [{ index: 0, delta: { tool_calls }, finish_reason: finish }],
      }) as never;
    acc.add(chunk([{ index: 0, function: { name: 'read_file', arguments: '{"path":' } }]));
    acc.add(chunk([{ index: 0, function: { name: 'read_file', arguments: '"a"}' } }]));
    acc.add(
      chunk(
        [{ index: 0, function: { name: 'read_file', arguments: '{"path":"b"}' } }],
        'tool_calls',
      ),
    );
    const calls = acc.result().choices[0]!.message.tool_calls!;
    expect(
      calls.map((c) => (c.type === 'function' ? [c.function.name, c.function.arguments] : [])),
    ).toEqual([
      ['read_file', '{"path":"a"}'],
      ['read_file', '{"path":"b"}'],
    ]);
  });
});

describe('answers cut off or empty', () => {
  it('asks again with a note when the answer was cut at the token limit', async () => {
    const server = await testServer({
      chat: [
        reply.text('Here is a very long ans', { finishReason: 'length' }),
        reply.text('Short.'),
      ],
    });
    const rt = await runtime({ agents: [writerAgent(server, [])] });
    const result = await rt.engine.execute(writeTask);
    expect(result.status).toBe('completed');
    expect((result.tasks.files!.output as LlmAgentOutput).content).toBe('Short.');
    const retry = server.requests[1]!.body as ChatRequestBody;
    expect(String(retry.messages!.at(-1)!.content)).toMatch(/cut off at the token limit/);
  });

  it('fails the task with the cause and the fix when answers stay empty', async () => {
    const server = await testServer({
      chat: [reply.text(''), reply.text(''), reply.text('<think>hmm</think>')],
    });
    const rt = await runtime({ agents: [writerAgent(server, [], { stream: false })] });
    const result = await rt.engine.execute(writeTask);
    expect(result.status).toBe('failed');
    expect(result.tasks.files!.error?.code).toBe('TASK_FAILED');
    expect(result.tasks.files!.error?.message).toMatch(/answered with nothing/);
    expect(server.calls()).toBe(3);
  });

  it('fails with finish_reason "length" named, after asking again', async () => {
    const cut = () => reply.text('Lorem ipsum', { finishReason: 'length' });
    const server = await testServer({ chat: [cut(), cut(), cut()] });
    const rt = await runtime({ agents: [writerAgent(server, [])] });
    const result = await rt.engine.execute(writeTask);
    expect(result.tasks.files!.error?.message).toMatch(/finish_reason "length".*num_predict/);
  });
});

describe('the planner with local models', () => {
  const TASK = 'Create a search API with Elasticsearch';
  const plan = JSON.stringify(searchPlan());
  const planned = async (...answers: Parameters<typeof reply.text>[0][]) => {
    const server = await testServer({ chat: answers.map((a) => reply.text(a)) });
    const rt = await runtime({ agents: stubSpecialists(), llm: testClient(server) });
    return { server, definition: await rt.orchestrator.decomposeTask(TASK) };
  };

  it.each([
    ['prose around a fence', `Here is the plan:\n\`\`\`json\n${plan}\n\`\`\`\nGood luck!`],
    ['a <think> block first', `<think>Index first; the API needs {it}.</think>\n${plan}`],
    ['prose and bare JSON', `Sure! ${plan} Let me know.`],
  ])('takes the plan from %s in one answer', async (_, answer) => {
    const { server, definition } = await planned(answer);
    expect(server.calls()).toBe(1);
    expect(definition.metadata).toMatchObject({ planner: 'llm', attempts: 1 });
    expect(definition.tasks.map((t) => t.id)).toEqual(['index', 'api', 'tests']);
    // Planned workflows retry transient failures (a connection reset, an answer cut short).
    expect(definition.defaults.retry).toMatchObject({ maxAttempts: 3 });
  });

  it('coerces numeric ids, a missing dependsOn and a role in capitals', async () => {
    const sloppy = {
      tasks: [
        { id: 1, agent: 'Elasticsearch', description: 'Create the index.' },
        { id: 2, agent: 'backend', description: 'Build the API.', dependsOn: [1] },
      ],
    };
    const { definition } = await planned(JSON.stringify(sloppy));
    expect(definition.tasks.map((t) => [t.id, t.agent, t.dependsOn])).toEqual([
      ['1', 'elasticsearch', []],
      ['2', 'backend', ['1']],
    ]);
  });

  it('names the exact problem in the repair prompt: prose without JSON, a cut-off answer', async () => {
    const server = await testServer({
      chat: [
        reply.text('I would start with the index and then build the API.'),
        reply.text('{"rationale": "x", "tasks": [{"id": "a"', { finishReason: 'length' }),
        reply.text(plan),
      ],
    });
    const rt = await runtime({ agents: stubSpecialists(), llm: testClient(server) });
    const definition = await rt.orchestrator.decomposeTask(TASK);
    expect(definition.metadata).toMatchObject({ attempts: 3 });
    const repair = (i: number) =>
      String((server.requests[i]!.body as ChatRequestBody).messages!.at(-1)!.content);
    expect(repair(1)).toMatch(/prose with no JSON in it/);
    expect(repair(2)).toMatch(/cut off at the token limit/);
  });

  it('falls back from json_schema to json_object to instructions when the server answers 400', async () => {
    const formats: string[] = [];
    const server = await testServer({
      onChat: ({ body }) => {
        const format = body.response_format?.type ?? 'none';
        formats.push(format);
        if (format !== 'none') {
          return {
            type: 'error',
            status: 400,
            message: `response_format ${format} is not supported`,
          };
        }
        return reply.text(plan);
      },
    });
    const rt = await runtime({ agents: stubSpecialists(), llm: testClient(server) });
    const definition = await rt.orchestrator.decomposeTask(TASK);
    expect(formats).toEqual(['json_schema', 'json_object', 'none']);
    expect(definition.metadata).toMatchObject({
      planner: 'llm',
      attempts: 1,
      format: 'instructions',
    });
    const system = String((server.requests[2]!.body as ChatRequestBody).messages![0]!.content);
    expect(system).toContain('"dependsOn"');
  });

  it('with fallback: false, a refused format at every level is PLANNER_FAILED', async () => {
    const server = await testServer({
      onChat: () => ({ type: 'error', status: 400, message: 'bad request' }),
    });
    const planner = createLlmPlanner({ llm: testClient(server), fallback: false });
    const rt = await runtime({ agents: stubSpecialists(), planner });
    const error = await rt.orchestrator.decomposeTask(TASK).catch((e: unknown) => e);
    expect((error as TroupeError).code).toBe('PLANNER_FAILED');
    expect(server.calls()).toBe(3);
  });
});

describe('preflight: checkLlmServer', () => {
  const code = async (promise: Promise<unknown>) => {
    const error = (await promise.catch((e: unknown) => e)) as TroupeError;
    expect(error).toBeInstanceOf(TroupeError);
    expect(error.code).toBe('LLM_UNAVAILABLE');
    return error;
  };

  it('passes for a listed model without a chat request, and for Ollama-style :latest', async () => {
    const server = await testServer({ models: ['llama3.1:latest', 'test-model'] });
    await checkLlmServer(testClient(server));
    await checkLlmServer(testClient(server, { model: 'llama3.1' }));
    expect(server.calls('models')).toBe(2);
    expect(server.calls('chat')).toBe(0);
  });

  it('connection refused: says so and how to start a server', async () => {
    const server = await testServer();
    const client = testClient(server);
    await server.close();
    const error = await code(checkLlmServer(client));
    expect(error.context.reason).toBe('unreachable');
    expect(error.message).toMatch(/connection refused.*ollama serve/);
  });

  it('a base URL without /v1: 404, and the fix names the URL with /v1', async () => {
    const server = await testServer();
    const bare = server.url.replace(/\/v1$/, '');
    const error = await code(checkLlmServer(testClient(server, { baseURL: bare })));
    expect(error.context.reason).toBe('not-found');
    expect(error.message).toContain(`--base-url ${bare}/v1`);
  });

  it('a model that is not pulled: the models it serves and the pull command', async () => {
    const server = await testServer({ models: ['qwen2.5'], rejectUnknownModels: true });
    const error = await code(checkLlmServer(testClient(server, { model: 'llama3.1' })));
    expect(error.context.reason).toBe('unknown-model');
    expect(error.message).toMatch(
      /"llama3\.1" is not served .* It serves: qwen2\.5\. .*ollama pull llama3\.1/,
    );
  });

  it('a server that answers any model name (llama.cpp) passes after a one-token request', async () => {
    const server = await testServer({ models: ['/models/qwen.gguf'], chat: [reply.text('OK')] });
    await checkLlmServer(testClient(server, { model: 'anything' }));
    expect((server.requests.at(-1)!.body as ChatRequestBody).max_tokens).toBe(1);
  });
});

describe('small context windows', () => {
  it('maxContextChars trims the oldest tool results, keeping the task and the latest turn', async () => {
    const server = await testServer({
      chat: [
        reply.toolCall('read_big', { n: 1 }),
        reply.toolCall('read_big', { n: 2 }),
        reply.text('Done.'),
      ],
    });
    const readBig = defineTool({
      name: 'read_big',
      description: 'Reads a big file.',
      input: z.object({ n: z.number() }),
      handler: ({ n }) => String(n).repeat(900),
    });
    const agent = defineLlmAgent({
      role: 'reader',
      systemPrompt: 'You read.',
      tools: [readBig],
      llm: testClient(server),
      maxContextChars: 1000,
    });
    const rt = await runtime({ agents: [agent] });
    const result = await rt.engine.execute({ name: 'ctx', tasks: [{ id: 'r', agent: 'reader' }] });
    expect(result.status).toBe('completed');
    const last = (server.requests[2]!.body as ChatRequestBody).messages!;
    const tools = last.filter((m) => m.role === 'tool').map((m) => String(m.content));
    expect(tools[0]).toMatch(/^\[trimmed to fit the context window: 900 characters/);
    expect(tools[1]).toBe('2'.repeat(900));
    expect(String(last[1]!.content)).toContain('Task "r"');
  });
});
