/**
 * The offline end-to-end run of docs/llm.md ("An offline end-to-end run"):
 * the command printed there, run as a child process against the demo model
 * server, produces files from four agents that used each other's decisions,
 * QA's test run, and an evaluation of that work. The same run with the habits
 * of Ollama, llama.cpp server and vLLM writes the same work.
 */
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';
import {
  type ChatRequestBody,
  DEMO_MODEL,
  type DemoHabit,
  demoModel,
  type OpenAiTestServer,
  startDemoModelServer,
  startOpenAiTestServer,
} from '../../src/testing/index.js';
import { capture, ROOT, Troupe, troupe } from '../cli/support.js';
import { onCleanup, tempDir } from './support.js';

/** The `troupe run` line of the docs section, as arguments, with the server's URL put in. */
async function documentedCommand(url: string): Promise<string[]> {
  const docs = await readFile(path.join(ROOT, 'docs/llm.md'), 'utf8');
  const section = docs.slice(docs.indexOf('## An offline end-to-end run'));
  const line = section.split('\n').find((l) => l.startsWith('troupe run '));
  if (!line) throw new Error('docs/llm.md: no troupe run line in "An offline end-to-end run"');
  const args = [...line.matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
  expect(args).toContain('http://127.0.0.1:<port>/v1');
  return args.slice(1).map((arg) => (arg === 'http://127.0.0.1:<port>/v1' ? url : arg));
}

async function server(habit: DemoHabit): Promise<OpenAiTestServer> {
  const started = await startDemoModelServer({ habit });
  onCleanup(() => started.close());
  return started;
}

const read = (workspace: string, file: string) => readFile(path.join(workspace, file), 'utf8');

/** The work every habit must produce: files that use the decisions of the agents before. */
async function expectTheWork(workspace: string): Promise<void> {
  const mapping = JSON.parse(await read(workspace, 'search/products-index.json'));
  expect(Object.keys(mapping.mappings.properties)).toEqual(['name', 'description', 'price']);
  // The backend's code uses the index, fields and URL the Elasticsearch agent recorded...
  const service = await read(workspace, 'src/search-service.mjs');
  expect(service).toContain("export const INDEX = 'products_v1';");
  expect(service).toContain("export const FIELDS = ['name^2', 'description'];");
  expect(service).toContain("?? 'http://localhost:9200'");
  // ...and the port the planner decided.
  expect(await read(workspace, 'src/server.mjs')).toContain('process.env.PORT ?? 3000');
  // QA tests the index it read in the backend's file.
  expect(await read(workspace, 'tests/search.test.mjs')).toContain('/\\/products_v1\\/_search$/');
  const readme = await read(workspace, 'README.md');
  expect(readme).toContain('PORT=3000 ELASTICSEARCH_URL=http://localhost:9200 node src/server.mjs');
  expect(readme).toContain('GET /api/search?q=<text>');
  expect(readme).toContain('Searches the `products_v1` index (fields name^2, description)');
}

function expectTheEvaluation(out: string): void {
  expect(out).toMatch(/Grade: EXCELLENT/);
  expect(out).toContain('work 1.00 ×0.3');
  expect(out).toContain(
    'Files      5 written by 4 agent(s); 4 of 4 tool-using tasks produced something',
  );
  expect(out).toContain('    elasticsearch: search/products-index.json');
  expect(out).toContain('    backend: src/search-service.mjs, src/server.mjs');
  expect(out).toContain('    qa: tests/search.test.mjs');
  expect(out).toContain('    docs: README.md');
  expect(out).toContain('Commands   1 of 1 passed');
  expect(out).toContain('passed  node --test tests/ (qa, task search-tests, exit 0)');
  expect(out).toContain('Decisions  7 recorded, no conflicts');
  expect(out).toContain('api.port: 3000 (planner)');
  expect(out).toContain('search.index: products_v1 (elasticsearch)');
  expect(out).toContain('api.endpoint: GET /api/search?q=<text>');
  expect(out).toContain(
    'search-tests: Wrote tests/search.test.mjs and ran node --test tests/: all 3 tests passed (exit code 0).',
  );
}

/** The chat requests of one role, found by its system prompt. */
function requestsOf(model: OpenAiTestServer, prompt: RegExp): ChatRequestBody[] {
  return model.requests
    .filter((r) => r.endpoint === 'chat')
    .map((r) => r.body as ChatRequestBody)
    .filter((body) => prompt.test(String(body.messages?.[0]?.content)));
}

describe('the offline end-to-end run (docs/llm.md)', () => {
  it('the documented troupe run, as a child process: files from four agents, a test run, the evaluation of the work', async () => {
    const model = await server('openai');
    const cwd = await tempDir();
    const args = await documentedCommand(model.url);

    const { code, out, err } = await troupe(args, {
      cwd,
      env: { OPENAI_API_KEY: '', OPENAI_BASE_URL: '', TROUPE_MODEL: '' },
    });

    expect(err).toBe('');
    expect(code).toBe(0);
    await expectTheWork(path.join(cwd, 'troupe-demo-llm/workspace'));
    expectTheEvaluation(out);
    // The backend got the decisions in its prompt: the planner's and the Elasticsearch agent's.
    const [backendFirst] = requestsOf(model, /backend engineer/);
    const prompt = String(backendFirst!.messages![1]!.content);
    expect(prompt).toContain('- api.port: 3000 (planner)');
    expect(prompt).toContain('- search.index: products_v1 (elasticsearch)');
    // QA's answer came after the run_command result, with its exit code.
    const qa = requestsOf(model, /QA engineer/).at(-1)!;
    const result = JSON.parse(String(qa.messages!.at(-1)!.content));
    expect(result).toMatchObject({ command: 'node', exitCode: 0, timedOut: false });
    expect(result.stdout).toMatch(/# pass 3/);

    // `troupe eval` judges the stored run the same way.
    const id = /run (wf-[\w-]+)/.exec(out)![1]!;
    const evaluated = await troupe(['eval', id], { cwd });
    expect(evaluated.code).toBe(0);
    expect(evaluated.out).toContain('Commands   1 of 1 passed');
  }, 120_000);

  it('without --allow-command QA cannot run its test and says so; a second run is answered from the data folder', async () => {
    const model = await server('openai');
    const dir = await tempDir();
    const workspace = path.join(dir, 'ws');
    const args = (await documentedCommand(model.url))
      .map((arg) => (arg === 'troupe-demo-llm/workspace' ? workspace : arg))
      .filter(
        (arg, index, all) => arg !== '--allow-command' && all[index - 1] !== '--allow-command',
      );
    const run = async () => {
      const out = capture();
      const err = capture();
      const code = await main([...args, '--data-dir', path.join(dir, 'data')], { out, err });
      expect(err.text()).toBe('');
      expect(code).toBe(0);
      return out.text();
    };

    const first = await run();
    expect(first).toContain('run_command is not offered (start troupe with --allow-command node)');
    expect(first).toContain('Commands   none run');
    expect(first).toContain('work 1.00 ×0.3');
    const calls = model.calls();
    expect(calls).toBe(10);

    // Same request again: every answer comes from the cache, and the tools run again.
    await rm(workspace, { recursive: true });
    const second = await run();
    expect(model.calls()).toBe(calls);
    expect(second).toMatch(/total\s+0\s+10\s/);
    await expectTheWork(workspace);
  }, 60_000);

  it('killed with SIGKILL while QA works, `troupe resume --all` finishes the run from its journal, decisions and all', async () => {
    let releaseQa!: () => void;
    const qaGate = new Promise<void>((resolve) => {
      releaseQa = resolve;
    });
    // QA and the docs writer are both held at their first question, so both are in
    // flight when the process dies, and must run again from the run's stored state.
    const held = new Set<string>();
    let bothAsked!: () => void;
    const bothWorking = new Promise<void>((resolve) => {
      bothAsked = resolve;
    });
    const answer = demoModel('openai');
    const model = await startOpenAiTestServer({
      models: [DEMO_MODEL],
      onChat: async (call) => {
        const role = /QA engineer|documentation writer/.exec(
          String(call.body.messages?.[0]?.content),
        )?.[0];
        if (role) {
          held.add(role);
          if (held.size === 2) bothAsked();
          await qaGate;
        }
        return answer(call);
      },
    });
    onCleanup(async () => {
      releaseQa();
      await model.close();
    });
    const cwd = await tempDir();
    const env = { OPENAI_API_KEY: '', OPENAI_BASE_URL: '', TROUPE_MODEL: '' };
    const first = new Troupe(await documentedCommand(model.url), { cwd, env });
    await bothWorking;
    first.child.kill('SIGKILL');
    expect((await first.done).signal).toBe('SIGKILL');
    const asked = (prompt: RegExp) => requestsOf(model, prompt).length;
    expect([asked(/You plan software work/), asked(/backend engineer/)]).toEqual([1, 2]);

    releaseQa();
    const resumed = await troupe(['resume', '--all'], { cwd, env });
    expect(resumed.err).toBe('');
    expect(resumed.code).toBe(0);
    // The plan is stored with the run: the planner is not asked again. The docs task
    // runs again and finds the planner's decisions (api.port): the context the run
    // started with is stored with it, not only in checkpoints.
    expect(asked(/You plan software work/)).toBe(1);
    expect(resumed.out).toMatch(/✓ search-tests\s+qa\s+completed/);
    expect(resumed.out).toMatch(/✓ search-docs\s+docs\s+completed/);
    await expectTheWork(path.join(cwd, 'troupe-demo-llm/workspace'));
    const id = /wf-[\w-]+/.exec((await troupe(['list'], { cwd, env })).out)![0];
    const evaluated = await troupe(['eval', id], { cwd, env });
    expect(evaluated.out).toContain(
      'Files      5 written by 4 agent(s); 4 of 4 tool-using tasks produced something',
    );
    expect(evaluated.out).toContain('Commands   1 of 1 passed');
    expect(evaluated.out).toContain('Decisions  7 recorded, no conflicts');
  }, 180_000);

  it.each([
    ['ollama', 11],
    ['llamacpp', 17],
    ['vllm', 18],
  ] as const)(
    'with %s habits the same work is produced (%i model calls)',
    async (habit, calls) => {
      const model = await server(habit);
      const dir = await tempDir();
      const workspace = path.join(dir, 'ws');
      const out = capture();
      const err = capture();
      const args = (await documentedCommand(model.url)).map((arg) =>
        arg === 'troupe-demo-llm/workspace' ? workspace : arg,
      );
      const code = await main([...args, '--data-dir', path.join(dir, 'data')], { out, err });

      expect(err.text()).toBe('');
      expect(code).toBe(0);
      await expectTheWork(workspace);
      expectTheEvaluation(out.text());
      expect(model.calls()).toBe(calls);
      const chats = model.requests
        .filter((r) => r.endpoint === 'chat')
        .map((r) => r.body as ChatRequestBody);
      const toolMessages = chats.flatMap((b) => b.messages ?? []).filter((m) => m.role === 'tool');
      if (habit === 'ollama') {
        // Streamed calls without an index were told apart by id: four in the backend's one answer.
        expect(requestsOf(model, /backend engineer/)).toHaveLength(2);
      } else {
        // Calls written as text went back as text: the server never sees a tool message.
        expect(toolMessages).toEqual([]);
      }
      if (habit === 'vllm') {
        // Refused json_schema (400), then asked in JSON mode; the <think> blocks stay out of the answers.
        expect(chats.slice(0, 2).map((b) => b.response_format?.type)).toEqual([
          'json_schema',
          'json_object',
        ]);
        expect(out.text()).not.toContain('<think>');
      }
    },
    60_000,
  );
});
