/**
 * Runs every benchmark, one process each so they do not disturb each other,
 * and prints their Markdown tables. `npm run bench`; `npm run bench -- core`
 * runs only the ones whose file name contains "core". Each runs bundled
 * (see `bundleBench`), on XState's production build like an application.
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { bundleBench } from './harness.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const filter = process.argv[2];
const benches = readdirSync(here)
  .filter((file) => file.endsWith('.ts') && !['run.ts', 'harness.ts'].includes(file))
  .filter((file) => !filter || file.includes(filter))
  .sort();

let failed = 0;
for (const file of benches) {
  process.stdout.write(`## ${file}\n\n`);
  const bundle = await bundleBench(path.join(here, file));
  const result = spawnSync(process.execPath, ['--expose-gc', bundle], { stdio: 'inherit' });
  if (result.status !== 0) {
    failed++;
    process.stdout.write(`(${file} exited with ${result.status})\n\n`);
  }
}
process.exitCode = failed > 0 ? 1 : 0;
