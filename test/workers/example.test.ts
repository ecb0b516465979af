/** Keeps examples/workers.ts (the one docs/workers.md points to) true. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';
import { testDatabase } from '../support/postgres.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../../', import.meta.url));

it('examples/workers.ts: an owner and two worker processes; a SIGKILLed worker’s task finishes on the other', async () => {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'examples/workers.ts'], {
    cwd: root,
    env: { ...process.env, TROUPE_DATABASE_URL: await testDatabase('workers-example') },
    timeout: 170_000,
  });
  const killed = /w1 killed \(SIGKILL\) while running (e\d)/.exec(stdout)?.[1];
  expect(killed).toBeDefined();
  // The task w1 was running when it died ran again on w2, with the same key.
  expect(stdout).toMatch(new RegExp(`\\[w2\\] \\{"started":"${killed}","on":"w2"`));
  const by = /run completed; embeds by: (\[.*\])/.exec(stdout)?.[1];
  const workers: string[] = JSON.parse(by!);
  expect(workers).toHaveLength(4);
  expect(new Set(workers)).toEqual(new Set(['w1', 'w2']));
}, 180_000);
