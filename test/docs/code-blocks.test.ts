/**
 * The docs cannot drift from the code: every ```ts block in README.md and
 * docs/*.md is type-checked against the public API ('troupe' and
 * 'troupe/testing' mapped to the sources), all pages in one tsc run.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';
import { type Module, pageModule, tsBlocks } from './code-blocks.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Inside the checkout, so imports of other packages resolve from its node_modules. */
const OUT = path.join(ROOT, 'test-output', `doc-blocks-${process.pid}`);

const pages = [
  'README.md',
  ...readdirSync(path.join(ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

afterAll(() => rm(OUT, { recursive: true, force: true }));

it('every ts code block in README.md and docs/*.md compiles against the public API', async () => {
  mkdirSync(OUT, { recursive: true });
  const modules = new Map<string, { page: string; module: Module }>();
  for (const page of pages) {
    const blocks = tsBlocks(readFileSync(path.join(ROOT, page), 'utf8'));
    if (blocks.length === 0) continue;
    const file = `${page.replace(/[/.]/g, '_')}.ts`;
    const module = pageModule(blocks);
    writeFileSync(path.join(OUT, file), module.text);
    modules.set(file, { page, module });
  }
  expect(modules.size).toBeGreaterThan(0);
  writeFileSync(path.join(OUT, 'package.json'), '{ "type": "module" }');
  writeFileSync(
    path.join(OUT, 'tsconfig.json'),
    JSON.stringify({
      extends: path.join(ROOT, 'tsconfig.json'),
      compilerOptions: {
        noEmit: true,
        rootDir: ROOT,
        lib: ['ES2023', 'DOM'],
        paths: {
          troupe: [path.join(ROOT, 'src/index.ts')],
          'troupe/testing': [path.join(ROOT, 'src/testing/index.ts')],
        },
      },
      include: ['*.ts'],
    }),
  );
  const output = await new Promise<string>((resolve) => {
    execFile(
      process.execPath,
      [path.join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', OUT, '--pretty', 'false'],
      { maxBuffer: 16 * 1024 * 1024 },
      (_error, stdout, stderr) => resolve(`${stdout}${stderr}`),
    );
  });
  const failures = output
    .split('\n')
    .filter((l) => l.trim())
    .map((line) => {
      const m = /^(?:.*[/\\])?([^/\\(]+\.ts)\((\d+),(\d+)\): (.*)$/.exec(line);
      const entry = m ? modules.get(m[1] ?? '') : undefined;
      if (!m || !entry) return line;
      const origin = entry.module.origins[Number(m[2]) - 1] ?? 0;
      return `${entry.page}:${origin || '?'}: ${m[4]}`;
    });
  expect(failures, `doc blocks that do not compile:\n${failures.join('\n')}`).toEqual([]);
}, 180_000);
