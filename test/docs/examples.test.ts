/**
 * The README says every example runs offline and exits by itself: each file
 * in examples/ is run with tsx, in a temp folder, and must exit 0 on its own.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX = path.join(ROOT, 'node_modules/.bin/tsx');
const examples = readdirSync(path.join(ROOT, 'examples')).filter((f) => f.endsWith('.ts'));

describe.concurrent('examples', () => {
  it('there are examples to run', () => {
    expect(examples.length).toBeGreaterThan(0);
  });

  it.each(examples)(
    'examples/%s runs offline and exits by itself',
    async (name) => {
      const cwd = await mkdtemp(path.join(tmpdir(), 'troupe-example-'));
      try {
        const outcome = await new Promise<{
          code: number | null;
          signal: string | null;
          output: string;
        }>((resolve) => {
          const child = execFile(
            TSX,
            [path.join(ROOT, 'examples', name)],
            {
              cwd,
              // An example that does not exit by itself is killed, and fails.
              timeout: 150_000,
              env: { ...process.env, INSPECTOR_PORT: '0', OPENAI_BASE_URL: '', TROUPE_MODEL: '' },
            },
            (_error, stdout, stderr) =>
              resolve({
                code: child.exitCode,
                signal: child.signalCode,
                output: `${stdout}${stderr}`,
              }),
          );
        });
        expect(outcome, outcome.output).toMatchObject({ code: 0, signal: null });
      } finally {
        await rm(cwd, { recursive: true, force: true });
      }
    },
    180_000,
  );
});
