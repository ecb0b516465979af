/** Keeps examples/postgres.ts (the one docs/postgres.md points to) true. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { testDatabase } from '../support/postgres.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

it('examples/postgres.ts: two processes on one database; the survivor of a SIGKILL finishes every run', async () => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/postgres.ts'], {
    cwd: root,
    env: { ...process.env, TROUPE_DATABASE_URL: await testDatabase('example') },
    timeout: 170_000,
  });
  expect(stdout).toContain('process a was killed (SIGKILL)');
  const completedByB = [...stdout.matchAll(/\[b\] \{"completed":"([a-z]-run-\d)","by":"b"\}/g)].map(
    (match) => match[1],
  );
  for (const id of ['a-run-2', 'a-run-3', 'b-run-1', 'b-run-2', 'b-run-3']) {
    expect(completedByB).toContain(id);
  }
  expect(stdout).toMatch(/b finished every run [\d.]+ s after the kill/);
}, 180_000);
