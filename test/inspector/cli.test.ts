/** `--inspect[=port]` on the command line. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  DEFAULT_INSPECTOR_PORT,
  expandInspectFlag,
  parseInspectPort,
} from '../../src/cli/inspect-option.js';
import { main } from '../../src/cli/main.js';
import { capture } from '../cli/support.js';

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('--inspect', () => {
  it('takes an optional port', () => {
    expect(expandInspectFlag(['demo', '--inspect', '--json'])).toEqual([
      'demo',
      `--inspect=${DEFAULT_INSPECTOR_PORT}`,
      '--json',
    ]);
    expect(expandInspectFlag(['--inspect=0'])).toEqual(['--inspect=0']);
    expect(parseInspectPort(undefined)).toBeUndefined();
    expect(parseInspectPort('0')).toBe(0);
    expect(() => parseInspectPort('http')).toThrow(/port number/);
  });

  it('serves the inspector during `troupe run` and prints its address on stderr', async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'troupe-cli-inspect-'));
    const agents = path.join(dir, 'agents.mjs');
    await writeFile(agents, "export default [{ role: 'echo', run: async (task) => task.id }];\n");
    const plan = path.join(dir, 'plan.json');
    await writeFile(plan, JSON.stringify({ name: 'cli', tasks: [{ id: 'one', agent: 'echo' }] }));
    const out = capture();
    const err = capture();
    const code = await main(
      [
        'run',
        '--plan',
        plan,
        '--agents',
        agents,
        '--data-dir',
        path.join(dir, 'data'),
        '--json',
        '--inspect=0',
      ],
      { out, err },
    );
    expect(code).toBe(0);
    const url = /Inspector: (http:\/\/127\.0\.0\.1:\d+\/)/.exec(err.text())?.[1];
    expect(url).toBeDefined();
    expect(JSON.parse(out.text())).toMatchObject({ status: 'completed' });
    // The command closed its runtime, and the inspector with it.
    await expect(fetch(url!)).rejects.toThrow();
  });
});
