/**
 * Keeps docs/waits.md true: each TypeScript block runs as a program (imports
 * of 'troupe' and 'troupe/testing' pointed at the sources) and its output is
 * checked.
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

async function blocks(): Promise<string[]> {
  const text = await readFile(join(root, 'docs', 'waits.md'), 'utf8');
  return [...text.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1]!);
}

async function run(code: string, index: number): Promise<string> {
  const source = code
    .replaceAll("from 'troupe/testing'", `from '${join(root, 'src/testing/index.ts')}'`)
    .replaceAll("from 'troupe'", `from '${join(root, 'src/index.ts')}'`);
  const file = join(root, 'node_modules', '.cache', `waits-doc-${process.pid}-${index}.mts`);
  await writeFile(file, source);
  written.push(file);
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', file],
    { cwd: root, timeout: 60_000 },
  );
  return stdout;
}

describe('docs/waits.md examples run offline', async () => {
  const [approval, question, child] = await blocks();

  it('an approval before a deploy', async () => {
    const out = await run(approval!, 0);
    expect(out).toMatch(/asks: Deploy v2 to production\?/);
    expect(out).toMatch(/waits for: approve/);
    expect(out).toMatch(/completed deployed by deploy/);
  }, 60_000);

  it('a question an LLM agent asks the user', async () => {
    const out = await run(question!, 1);
    expect(out).toMatch(/the agent asks: Which database should the service use\?/);
    expect(out).toMatch(/Plan: use Postgres\./);
  }, 60_000);

  it('a child workflow', async () => {
    const out = await run(child!, 2);
    expect(out).toMatch(/workflowId: 'release-1\.build'/);
  }, 60_000);
});
