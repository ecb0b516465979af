/**
 * `troupe run "<task>"` with an LLM, end to end against the test server: the
 * LLM plans, the specialists write files in the workspace through their
 * tools, and the output shows the plan, progress, token usage and the
 * evaluation.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import { type ChatCall, type ChatReply, fault, reply } from '../../src/testing/index.js';
import { capture } from '../cli/support.js';
import { tempDir, testServer } from './support.js';

const PLAN = {
  rationale: 'API first, then its documentation',
  tasks: [
    { id: 'api', agent: 'backend', description: 'Write the search endpoint.', dependsOn: [] },
    { id: 'guide', agent: 'docs', description: 'Document the endpoint.', dependsOn: ['api'] },
  ],
};

/** Plans on structured-output requests; as an agent, writes one file then reports. */
function scriptedModel(call: ChatCall): ChatReply {
  const { body } = call;
  if (body.response_format) return reply.json(PLAN);
  const messages = body.messages ?? [];
  const task = /Task "([^"]+)"/.exec(String(messages[1]?.content))?.[1] ?? 'unknown';
  if (messages.at(-1)?.role === 'tool') return reply.text(`Wrote out/${task}.md for task ${task}.`);
  return reply.toolCall('write_file', { path: `out/${task}.md`, content: `# ${task}\n` });
}

/** `troupe run <task>` against the server with that model, in a fresh workspace and data folder under `dir`. */
function runArgs(
  task: string,
  url: string,
  model: string,
  dir: string,
  workspace = path.join(dir, 'ws'),
) {
  return [
    'run',
    task,
    '--base-url',
    url,
    '--model',
    model,
    '--workspace',
    workspace,
    '--data-dir',
    path.join(dir, 'data'),
  ];
}

async function run(argv: string[]) {
  const out = capture();
  const err = capture();
  const code = await main(argv, { out, err });
  return { code, out: out.text(), err: err.text() };
}

describe('troupe run with an LLM', () => {
  it('plans with the LLM, runs the specialists in the workspace, shows usage and the evaluation', async () => {
    const server = await testServer({ onChat: scriptedModel });
    const dir = await tempDir();
    const workspace = path.join(dir, 'ws');

    const { code, out, err } = await run(
      runArgs('Create a search API', server.url, 'test-model', dir, workspace),
    );

    expect(err).toBe('');
    expect(code).toBe(0);
    expect(out).toContain(`Model test-model at ${server.url}`);
    expect(out).toContain(`Workspace ${workspace}`);
    expect(out).toMatch(
      /Plan "create-a-search-api" \(2 tasks\) by the LLM planner \(1 answer\(s\)\)/,
    );
    expect(out).toContain('API first, then its documentation');
    expect(out).toMatch(/api\s+backend\s+-\s+Write the search endpoint\./);
    expect(out).toMatch(/✓ api\s+backend\s+completed/);
    expect(out).toMatch(/Answers\n {2}api: Wrote out\/api.md for task api\./);
    expect(out).toMatch(/Token usage[\s\S]*\(plan\)[\s\S]*api[\s\S]*guide[\s\S]*total\s+5\s+0/);
    expect(out).toMatch(/Evaluation of run wf-[\w-]+ \("create-a-search-api"\), status completed/);
    expect(out).toMatch(/Grade: \w+/);
    expect(await readFile(path.join(workspace, 'out/api.md'), 'utf8')).toBe('# api\n');
    expect(existsSync(path.join(workspace, 'out/guide.md'))).toBe(true);
    // 1 plan + 2 calls per task.
    expect(server.calls()).toBe(5);
  });

  it('says when the plan came from the heuristic fallback (dry run)', async () => {
    const server = await testServer({
      chat: [fault.invalidPlan('role'), fault.invalidPlan('role'), fault.invalidPlan('role')],
    });
    const dir = await tempDir();
    const { code, out } = await run([
      ...runArgs('Write the docs', server.url, 'test-model', dir),
      '--dry-run',
    ]);
    expect(code).toBe(0);
    expect(out).toMatch(
      /by the heuristic planner: the LLM planner gave up \(invalid plan after 3 answer\(s\)/,
    );
    expect(out).toMatch(/docs\s+docs/);
  });

  it('reports a configuration error readably', async () => {
    const dir = await tempDir();
    const { code, err } = await run([
      'run',
      'x',
      '--base-url',
      'http://127.0.0.1:9/v1',
      '--data-dir',
      path.join(dir, 'data'),
    ]);
    // No --model and no TROUPE_MODEL: a local server's models cannot be guessed.
    if (process.env.TROUPE_MODEL) return;
    expect(code).toBe(1);
    expect(err).toMatch(
      /no model for http:\/\/127\.0\.0\.1:9\/v1\. Set TROUPE_MODEL .*\[CONFIG_ERROR\]/,
    );
  });

  it('stops before planning when the model is not served, with the cause and the fix', async () => {
    const server = await testServer({ models: ['qwen2.5'], rejectUnknownModels: true });
    const dir = await tempDir();
    const { code, out, err } = await run(
      runArgs('Create a search API', server.url, 'llama3.1', dir),
    );
    expect(code).toBe(1);
    expect(out).toBe('');
    expect(err).toMatch(/"llama3\.1" is not served .*ollama pull llama3\.1.*\[LLM_UNAVAILABLE\]/);
    // Only the one-token check reached the chat endpoint: no plan, no tasks.
    expect(server.calls()).toBe(1);
  });

  it('a new run of the same request is answered from the data folder; --no-cache asks again', async () => {
    const server = await testServer({ onChat: scriptedModel });
    const dir = await tempDir();
    const args = runArgs('Create a search API', server.url, 'test-model', dir);
    expect((await run(args)).code).toBe(0);
    expect(server.calls()).toBe(5);
    const again = await run(args);
    expect(again.code).toBe(0);
    expect(again.out).toMatch(/✓ api\s+backend\s+completed/);
    expect(server.calls()).toBe(5);
    expect((await run([...args, '--no-cache'])).code).toBe(0);
    expect(server.calls()).toBe(10);
  });
});
