/**
 * The `troupe` command on a PostgreSQL database (`--database-url`, or
 * `TROUPE_DATABASE_URL`), as real child processes next to a live owner in
 * this process: they list the runs and what waits, answer a wait (the owner
 * applies it and the run finishes), pause and resume a run live elsewhere,
 * and never take over a run they have no agents for.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createRuntime, defineAgent, type Runtime } from '../../src/index.js';
import { deferred } from '../core/helpers.js';
import { testDatabase } from '../support/postgres.js';
import { troupe, workFolder } from './support.js';

let url: string;
let owner: Runtime;
let folder: Awaited<ReturnType<typeof workFolder>>;

beforeEach(async () => {
  url = await testDatabase('cli');
  folder = await workFolder();
  owner = await createRuntime({
    store: { postgres: { connectionString: url, ownerId: 'owner' } },
    ownership: { commandPollMs: 100 },
    agents: [defineAgent({ role: 'ops', run: () => 'deployed' })],
  });
});
afterEach(async () => {
  await owner.close();
  await folder.remove();
});

const release = {
  name: 'release',
  tasks: [
    { id: 'approve-deploy', kind: 'approval' as const, wait: { prompt: 'Deploy v2?' } },
    { id: 'deploy', agent: 'ops', dependsOn: ['approve-deploy'] },
  ],
};

// Each command is a process that loads tsx and opens the database: seconds each on a busy machine.
describe('troupe on PostgreSQL', { timeout: 90_000 }, () => {
  it('lists what a live run waits for, and approves it: the owner applies the answer', async () => {
    const waiting = new Promise((resolve) => owner.engine.on('task.waiting', resolve));
    const handle = await owner.engine.start(release, { workflowId: 'rel-pg' });
    await waiting;
    await owner.engine.flushed();
    const cwd = folder.dir;

    const listed = await troupe(['list', '--json', '--database-url', url], { cwd });
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.out)).toMatchObject([{ workflowId: 'rel-pg', name: 'release' }]);

    // The environment variable works as the flag does.
    const waits = await troupe(['list', '--waiting'], { cwd, env: { TROUPE_DATABASE_URL: url } });
    expect(waits.code).toBe(0);
    expect(waits.out).toMatch(/rel-pg\s+approve-deploy\s+approval\s+Deploy v2\?/);

    const wrong = await troupe(['signal', 'rel-pg', 'approve-deploy', '--json', '"yes"'], {
      cwd,
      env: { TROUPE_DATABASE_URL: url },
    });
    expect(wrong.code).toBe(1);
    expect(wrong.err).toMatch(/INVALID_SIGNAL/);

    const approved = await troupe(['approve', 'rel-pg', 'approve-deploy', '--database-url', url], {
      cwd,
    });
    expect(approved.code).toBe(0);
    expect(approved.out).toMatch(/process that owns the run applies it/);
    const result = await handle.result;
    expect(result.status).toBe('completed');
    expect(result.tasks.deploy?.output).toBe('deployed');
  });

  it('pauses and resumes a run live in another process (resume is sent to its owner); `show` reads it', async () => {
    const held = deferred();
    owner.registerAgent(defineAgent({ role: 'slow', run: () => held.promise.then(() => 'done') }));
    const started = new Promise((resolve) => owner.engine.on('task.started', resolve));
    const handle = await owner.engine.start(
      {
        name: 'two',
        tasks: [
          { id: 'a', agent: 'slow' },
          { id: 'b', agent: 'ops', dependsOn: ['a'] },
        ],
      },
      { workflowId: 'two-pg' },
    );
    await started;
    const cwd = folder.dir;
    const paused = new Promise((resolve) => owner.engine.on('workflow.paused', resolve));
    expect((await troupe(['pause', 'two-pg', '--database-url', url], { cwd })).code).toBe(0);
    await paused;
    held.resolve();
    const shown = await troupe(['show', 'two-pg', '--json', '--database-url', url], { cwd });
    expect(JSON.parse(shown.out)).toMatchObject({ workflowId: 'two-pg', status: 'paused' });
    const missing = await troupe(['show', 'nope', '--database-url', url], { cwd });
    expect(missing.err).toMatch(/No run "nope" in the database postgresql:\/\//);
    const resumed = new Promise((resolve) => owner.engine.on('workflow.resumed', resolve));
    const sent = await troupe(
      ['resume', 'two-pg', '--agents', 'agents.mjs', '--database-url', url],
      { cwd },
    );
    expect(sent.err).toBe('');
    expect(sent.code).toBe(0);
    expect(sent.out).toMatch(/Run two-pg is live in process owner: the resume was sent to it/);
    await resumed;
    expect((await handle.result).status).toBe('completed');
    expect(owner.ownership?.owned()).toEqual([]);
  });
});
