/** Keeps examples/storage-faults.ts (shown in docs/durability.md) true: it runs and prints what the docs say. */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect, it } from 'vitest';

const root = fileURLToPath(new URL('../../', import.meta.url));

it('examples/storage-faults.ts: the failed write rejects the result, the reopened run resumes', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--conditions=development', '--import', 'tsx', 'examples/storage-faults.ts'],
    { cwd: root },
  );
  expect(stdout.trim().split('\n')).toEqual([
    'result: STORE_WRITE_FAILED ENOSPC',
    'after reopen: wf-import interrupted',
    'resumed: completed',
  ]);
}, 60_000);
