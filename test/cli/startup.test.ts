/**
 * `troupe --help` and `--version` load no command's heavy dependencies
 * (XState, LevelDB, the OpenAI client, zod): a module-resolution hook in a
 * real process records every module it loads.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { MAIN, ROOT } from './support.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

const HEAVY = ['xstate', 'level', 'classic-level', 'openai', 'zod', 'ws'];

async function loadedBy(args: string[]): Promise<string[]> {
  dir = await mkdtemp(path.join(tmpdir(), 'troupe-cli-startup-'));
  const log = path.join(dir, 'loaded.log');
  await writeFile(
    path.join(dir, 'hooks.mjs'),
    `import { appendFileSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context);
  appendFileSync(${JSON.stringify(log)}, result.url + '\\n');
  return result;
}
`,
  );
  await writeFile(
    path.join(dir, 'register.mjs'),
    "import { register } from 'node:module';\nregister('./hooks.mjs', import.meta.url);\n",
  );
  const tsx = pathToFileURL(path.join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      pathToFileURL(path.join(dir, 'register.mjs')).href,
      '--import',
      tsx,
      MAIN,
      ...args,
    ],
    { encoding: 'utf8' },
  );
  expect(child.status, child.stderr).toBe(0);
  return (await readFile(log, 'utf8')).trim().split('\n');
}

describe('troupe startup', () => {
  it.each([[['--help']], [['--version']]])(
    'troupe %j loads no heavy dependency',
    async (args) => {
      const loaded = await loadedBy(args);
      expect(loaded.some((url) => url.endsWith('/src/cli/main.ts'))).toBe(true);
      const heavy = loaded.filter((url) =>
        HEAVY.some((name) => url.includes(`/node_modules/${name}/`)),
      );
      expect(heavy).toEqual([]);
      expect(loaded.filter((url) => url.includes('/src/runtime/'))).toEqual([]);
    },
    60_000,
  );
});
