/**
 * Keeps the approvals, live events and cost sections of docs/llm.md true:
 * each section's TypeScript block runs as a program (imports of 'troupe' and
 * 'troupe/testing' pointed at the sources) and its output is checked.
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));
const written: string[] = [];
afterAll(() => Promise.all(written.map((file) => rm(file, { force: true }))));

/** The first ts block under the heading `## <title>`. */
async function block(title: string): Promise<string> {
  const text = await readFile(join(root, 'docs', 'llm.md'), 'utf8');
  const start = text.indexOf(`\n## ${title}\n`);
  const section = text.slice(start, text.indexOf('\n## ', start + 1));
  const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
  if (start < 0 || !code) throw new Error(`no ts block under "## ${title}" in docs/llm.md`);
  return code;
}

async function run(title: string): Promise<string> {
  const source = (await block(title))
    .replaceAll("from 'troupe/testing'", `from '${join(root, 'src/testing/index.ts')}'`)
    .replaceAll("from 'troupe'", `from '${join(root, 'src/index.ts')}'`);
  const file = join(root, 'node_modules', '.cache', `llm-doc-${process.pid}-${written.length}.mts`);
  await writeFile(file, source);
  written.push(file);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', file],
    { cwd: root, timeout: 60_000, env: { ...process.env, OPENAI_BASE_URL: '', TROUPE_MODEL: '' } },
  );
  return stdout;
}

describe('docs/llm.md examples run offline', () => {
  it('approving tool calls', async () => {
    const out = await run('Approving tool calls');
    expect(out).toContain(
      'api:deploy:0.1.1: agent "backend", task "api" wants to call deploy with {"env":"production"}. Approve?',
    );
    expect(out).toContain('write_file: allowed, deploy: rejected');
    expect(out).toContain('the deploy was rejected, so I stopped there.');
  }, 60_000);

  it('live events', async () => {
    const out = await run('Live events: text, tool calls, usage');
    expect(out).toContain('sum calls add({"a":2,"b":3})');
    expect(out).toContain('add -> 5');
    expect(out).toMatch(/turn 1: \d+ tokens, task so far \$0\.0000\d+/);
    expect(out).toContain('The sum of 2 and 3 is 5, which I checked with the add tool.');
  }, 60_000);

  it('cost and budgets', async () => {
    const out = await run('Cost and budgets');
    expect(out).toContain('failed BUDGET_EXCEEDED');
    expect(out).toMatch(/1500 tokens spent, and the next call may use \d+ .*maxTokens = 2500/);
    expect(out).toContain("1500 tokens, $0.0060, by agent: [ 'writer' ]");
  }, 60_000);
});
