/**
 * `troupe worker`, `troupe workers` and `troupe list` on PostgreSQL, as a
 * user runs them (real child processes): the commands' --help examples run
 * here against a database, since test/cli/docs-examples.test.ts has none.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands/index.js';
import { createRuntime } from '../../src/index.js';
import { Troupe, troupe, workFolder } from '../cli/support.js';
import { testDatabase } from '../support/postgres.js';

let folder: Awaited<ReturnType<typeof workFolder>>;
let env: NodeJS.ProcessEnv;
beforeAll(async () => {
  folder = await workFolder();
  env = { TROUPE_DATABASE_URL: await testDatabase('cli-workers') };
});
afterAll(() => folder.remove());

const example = (name: string, index = 0) =>
  COMMANDS.find((command) => command.name === name)!
    .examples[index]!.split(' ')
    .slice(1);

describe('troupe worker / workers / list on PostgreSQL', () => {
  it('a worker serves a run owned elsewhere; workers lists it with its load; list shows the run with its owner; Ctrl+C stops the worker', async () => {
    const cwd = folder.dir;
    // The --help example of `troupe worker`.
    const worker = new Troupe(example('worker'), { cwd, env });
    await worker.waitFor(/serving worker/);
    const workerId = /worker (\S+) serving/.exec(worker.out)![1];

    const idle = await troupe(example('workers', 1), { cwd, env });
    expect(idle.code, idle.err).toBe(0);
    expect(JSON.parse(idle.out)).toMatchObject([
      { workerId, running: 0, roles: [{ role: 'worker', concurrency: 1 }] },
    ]);

    const rt = await createRuntime({
      store: { postgres: { connectionString: env.TROUPE_DATABASE_URL! } },
      remoteAgents: { pollMs: 200, refreshMs: 200 },
    });
    try {
      const plan = JSON.parse(await readFile(path.join(cwd, 'plan.json'), 'utf8'));
      const handle = await rt.engine.start(plan, { workflowId: 'wf-cli' });
      // `slow` holds in the worker process until it is aborted.
      const ranLog = path.join(cwd, 'ran.log');
      await expect
        .poll(async () => existsSync(ranLog) && (await readFile(ranLog, 'utf8')), {
          timeout: 20_000,
        })
        .toContain('slow');

      const busy = await troupe(example('workers'), { cwd, env });
      expect(busy.code, busy.err).toBe(0);
      expect(busy.out).toMatch(/worker\s+.*heartbeat/);
      expect(busy.out).toContain(workerId);

      const listed = await troupe(['list', '--json'], { cwd, env });
      expect(listed.code, listed.err).toBe(0);
      expect(JSON.parse(listed.out)).toMatchObject([
        { workflowId: 'wf-cli', status: 'interrupted', owner: rt.ownership!.ownerId },
      ]);
      const table = await troupe(['list'], { cwd, env });
      expect(table.out).toMatch(/run\s+workflow\s+status\s+tasks\s+time\s+started\s+owner/);
      expect(table.out).toContain(rt.ownership!.ownerId);

      await rt.engine.cancel('wf-cli', { reason: 'test over' });
      expect((await handle.result).status).toBe('cancelled');
    } finally {
      await rt.close();
    }
    worker.child.kill('SIGINT');
    const ended = await worker.done;
    expect(ended.code, ended.err).toBe(0);
    expect(ended.out).toContain(`worker ${workerId} stopped`);
    const none = await troupe(['workers'], { cwd, env });
    expect(none.out).toContain('No live workers');
  }, 120_000);

  it('without a database the commands say how to give one', async () => {
    const { TROUPE_DATABASE_URL: _, ...noDatabase } = process.env;
    const ended = await troupe(['workers'], { cwd: folder.dir, env: { ...noDatabase } });
    expect(ended.code).toBe(1);
    expect(ended.err).toContain('--database-url');
  }, 60_000);
});
