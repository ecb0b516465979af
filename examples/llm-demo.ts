/**
 * The offline end-to-end LLM run: the `troupe run` command itself, against a
 * local OpenAI-compatible server that plays the model (the demo model of
 * troupe/testing, which answers from what each request holds, as a real
 * model does). The planner splits "Create a search API with Elasticsearch
 * integration" between four specialists and starts the decisions record;
 * the Elasticsearch agent records the index, the backend writes code that
 * uses it, QA writes a test and runs it with `node --test`, the docs writer
 * documents what was decided. The evaluation at the end shows the files per
 * agent, the test run and the decisions.
 *
 *   npm run demo:llm                        # an OpenAI-like server
 *   npm run demo:llm -- --habit vllm        # or ollama, llamacpp: their habits
 *   npm run demo:llm -- --serve             # only the server: run troupe yourself
 *
 * Files go to ./troupe-demo-llm/workspace, the run's data to ./troupe-demo-llm/data.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  DEMO_HABITS,
  DEMO_MODEL,
  type DemoHabit,
  startDemoModelServer,
} from '../src/testing/index.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TASK = 'Create a search API with Elasticsearch integration';

const { values } = parseArgs({
  options: {
    habit: { type: 'string', default: 'openai' },
    serve: { type: 'boolean', default: false },
  },
});
const habit = values.habit as DemoHabit;
if (!DEMO_HABITS.includes(habit)) {
  console.error(`--habit must be one of ${DEMO_HABITS.join(', ')}`);
  process.exit(2);
}

const server = await startDemoModelServer({ habit });
const folder = path.resolve('troupe-demo-llm');
const args = [
  'run',
  TASK,
  '--model',
  DEMO_MODEL,
  '--base-url',
  server.url,
  '--workspace',
  path.join(folder, 'workspace'),
  '--data-dir',
  path.join(folder, 'data'),
  '--allow-command',
  'node',
];

if (values.serve) {
  console.log(`The demo model (${habit} habits) answers at ${server.url}. In another terminal:\n`);
  console.log(
    `  npx troupe ${args.map((arg) => (arg.includes(' ') ? `"${arg}"` : arg)).join(' ')}\n`,
  );
  console.log('Stop it with Ctrl+C.');
  process.once('SIGINT', () => void server.close());
} else {
  // The command as a user runs it: a process of its own, talking HTTP to the server.
  const loader = new URL('node_modules/tsx/dist/loader.mjs', `file://${ROOT}/`).href;
  const child = spawn(
    process.execPath,
    ['--import', loader, path.join(ROOT, 'src/cli/main.ts'), ...args],
    { stdio: 'inherit' },
  );
  const code = await new Promise<number>((resolve) =>
    child.on('close', (exitCode) => resolve(exitCode ?? 1)),
  );
  await server.close();
  console.log(
    `\n${server.calls()} model calls; the files are in ${path.join(folder, 'workspace')}`,
  );
  process.exitCode = code;
}
