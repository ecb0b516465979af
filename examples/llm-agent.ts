/**
 * LLM agents end to end, offline: the OpenAI test server plays the model
 * (a small script below), so this runs anywhere with no key and no network.
 * The LLM planner splits the task between two specialists; each works in a
 * temporary workspace through its tools (list_files, read_file, write_file),
 * with streamed progress; a custom agent uses a tool defined with zod. At the
 * end: the files written, each answer, and the token usage of the run.
 *
 *   npx tsx examples/llm-agent.ts
 *
 * With a real model, drop the test server and pass `llm: {}` (read from
 * OPENAI_BASE_URL, OPENAI_API_KEY, TROUPE_MODEL) or `llm: { baseURL, model }`.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import {
  defineLlmAgent,
  defineTool,
  type LlmAgentOutput,
  specialists,
  usageOf,
} from '../src/actors/llm/index.js';
import { createRuntime } from '../src/runtime/runtime.js';
import {
  type ChatCall,
  type ChatReply,
  reply,
  startOpenAiTestServer,
} from '../src/testing/index.js';

/** The scripted "model": plans when asked for a plan, otherwise acts like a careful agent. */
function model({ body }: ChatCall): ChatReply {
  if (body.response_format) {
    return reply.json({
      rationale: 'Write the endpoint first, then document it, while the reviewer checks the words.',
      tasks: [
        { id: 'endpoint', agent: 'backend', description: 'Write src/search.ts.', dependsOn: [] },
        {
          id: 'guide',
          agent: 'docs',
          description: 'Document the endpoint.',
          dependsOn: ['endpoint'],
        },
        { id: 'review', agent: 'reviewer', description: 'Count words of the task.', dependsOn: [] },
      ],
    });
  }
  const messages = body.messages ?? [];
  const system = String(messages[0]?.content);
  const toolTurns = messages.filter((m) => m.role === 'assistant').length;
  if (system.startsWith('You review')) {
    return toolTurns === 0
      ? reply.toolCall('count_words', { text: String(messages[1]?.content) })
      : reply.text('The task statement is short and clear.');
  }
  const file = system.includes('backend') ? 'src/search.ts' : 'docs/search.md';
  const content = file.endsWith('.ts')
    ? 'export function search(q: string) {\n  return { query: q, hits: [] };\n}\n'
    : '# Search\n\n`search(q)` returns the hits for a query.\n';
  if (toolTurns === 0) return reply.toolCall('list_files', { recursive: true });
  if (toolTurns === 1) return reply.toolCall('write_file', { path: file, content });
  return reply.text(`I wrote ${file}. It is small on purpose; next, add paging.`, { chunkSize: 6 });
}

const server = await startOpenAiTestServer({ onChat: model });
const workspace = await mkdtemp(path.join(tmpdir(), 'troupe-llm-example-'));
const rt = await createRuntime({
  dataDir: false,
  llm: { baseURL: server.url, apiKey: 'offline', model: 'scripted-model' },
});
try {
  const llm = rt.options.llm!;
  for (const agent of specialists({ llm, workspace, roles: ['backend', 'docs'] })) {
    rt.registerAgent(agent);
  }
  const countWords = defineTool({
    name: 'count_words',
    description: 'Counts the words of a text.',
    input: z.object({ text: z.string() }),
    handler: ({ text }) => ({ words: text.split(/\s+/).filter(Boolean).length }),
  });
  rt.registerAgent(
    defineLlmAgent({
      role: 'reviewer',
      systemPrompt: 'You review task statements for clarity.',
      tools: [countWords],
      llm,
    }),
  );

  const plan = await rt.orchestrator.decomposeTask('Add a search endpoint and document it');
  console.log(`Plan by ${String(plan.metadata.planner)}: ${String(plan.metadata.rationale)}`);
  for (const task of plan.tasks) {
    console.log(`  ${task.id} (${task.agent}) after [${task.dependsOn.join(', ')}]`);
  }

  rt.engine.on('task.progress', (event) => console.log(`  … ${event.taskId}: ${event.message}`));
  const result = await rt.orchestrator.executeWorkflow(plan);

  console.log(`\nRun ${result.status}. Files in the workspace:`);
  for (const entry of await readdir(workspace, { recursive: true })) console.log(`  ${entry}`);
  for (const [id, task] of Object.entries(result.tasks)) {
    console.log(`${id}: ${(task.output as LlmAgentOutput).content}`);
  }
  const usage = usageOf(result);
  console.log(
    `\nTokens: ${usage.totalTokens} in ${usage.requests} model calls (plan: ${JSON.stringify(plan.metadata.usage)})`,
  );
  console.log(`Model calls the test server answered: ${server.calls('chat')}`);
} finally {
  await rt.close();
  await server.close();
  await rm(workspace, { recursive: true, force: true });
}
