/**
 * Every `troupe ...` line of a ```bash block in docs/cli.md, then every
 * example of the commands' `--help`, run in order by
 * a real shell in one folder. A line ending in `# exits N` must exit N, the
 * others 0. `<runId>` and `<otherRunId>` stand for two runs interrupted with
 * Ctrl+C before the examples start.
 */
import { spawn } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { MAIN, ROOT, resumedId, Troupe, workFolder } from './support.js';

interface Example {
  line: string;
  exit: number;
}

const ANSWERS_A_WAIT = new Set(['signal', 'approve', 'reject']);
/** Their examples need a PostgreSQL database: test/workers/cli.test.ts runs them against one. */
const NEEDS_A_DATABASE = new Set(['worker', 'workers']);

async function examples(): Promise<Example[]> {
  const text = await readFile(path.join(ROOT, 'docs', 'cli.md'), 'utf8');
  const found: Example[] = [];
  for (const block of text.matchAll(/```bash\n([\s\S]*?)```/g)) {
    for (const raw of block[1]!.split('\n')) {
      const line = raw.trim();
      if (!line.startsWith('troupe')) continue;
      const exit = /#\s*exits (\d+)/.exec(line)?.[1];
      found.push({ line: line.replace(/\s*#.*$/, ''), exit: exit ? Number(exit) : 0 });
    }
  }
  for (const command of COMMANDS) {
    // Their examples answer a run that is waiting for a person: test/waits/cli.test.ts
    // runs them against such a run.
    if (ANSWERS_A_WAIT.has(command.name) || NEEDS_A_DATABASE.has(command.name)) continue;
    for (const line of command.examples) found.push({ line, exit: 0 });
  }
  return found;
}

let folder: Awaited<ReturnType<typeof workFolder>>;
const ids: Record<string, string> = {};

/** A run of plan.json interrupted with Ctrl+C while its `slow` task runs. */
async function interrupted(cwd: string): Promise<string> {
  const p = new Troupe(['run', '--plan', 'plan.json', '--agents', 'agents.mjs'], { cwd });
  await p.waitFor(/slow\s+worker\s+running/);
  p.child.kill('SIGINT');
  const { code, err } = await p.done;
  expect(code).toBe(130);
  return resumedId(err);
}

beforeAll(async () => {
  folder = await workFolder();
  const { dir } = folder;
  ids['<runId>'] = await interrupted(dir);
  ids['<otherRunId>'] = await interrupted(dir);
  await writeFile(path.join(dir, 'go'), '');
  await mkdir(path.join(dir, 'src'));
  await writeFile(path.join(dir, 'src', 'index.ts'), 'export const answer = 42;\n');
  await writeFile(
    path.join(dir, 'troupe.config.mjs'),
    `export default [
  { role: 'elasticsearch', expertise: ['elasticsearch', 'search', 'index'], run: async () => ({ mapping: { title: 'text' } }) },
  { role: 'backend', expertise: ['api', 'endpoint'], run: async (task, ctx) => ({ endpoint: '/api/search', schema: ctx.dependencies }) },
];
`,
  );
  // `troupe` on the PATH, as an installed package puts it.
  const bin = path.join(dir, 'bin');
  await mkdir(bin);
  const tsx = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  await writeFile(
    path.join(bin, 'troupe'),
    `#!/bin/sh\nexec "${process.execPath}" --import "${tsx}" "${MAIN}" "$@"\n`,
  );
  await chmod(path.join(bin, 'troupe'), 0o755);
}, 180_000);

afterAll(() => folder?.remove());

function shell(line: string, cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['-c', line], {
      cwd,
      env: { ...process.env, PATH: `${path.join(cwd, 'bin')}:${process.env.PATH}` },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('close', (code) => resolve({ code, output }));
  });
}

describe('docs/cli.md and --help examples', () => {
  it('each example command runs with the exit code the page gives', async () => {
    const list = await examples();
    expect(list.length).toBeGreaterThan(10);
    for (const { line, exit } of list) {
      const command = line.replace(/<runId>|<otherRunId>/g, (name) => ids[name]!);
      const { code, output } = await shell(command, folder.dir);
      expect(code, `${line}\n${output}`).toBe(exit);
    }
  }, 600_000);
});
