/**
 * The agent communicator across two processes on one PostgreSQL database:
 * this process runs the agent `editor`, a child process runs `translator`.
 * The editor asks the translator (request-response), broadcasts to everyone,
 * and both processes update one shared context with `expectedVersion` and
 * take one global lock. Starts its own private PostgreSQL cluster in a temp
 * folder (Debian's `postgresql` package), so it runs offline, and exits by
 * itself.
 *
 *   npx tsx examples/communicator-postgres.ts
 */
import assert from 'node:assert/strict';
import { fork } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createRuntime, defineAgent, TroupeError } from '../src/index.js';
import { startPostgresCluster } from '../src/testing/index.js';

if (process.argv[2] === 'translator') await translator(process.argv[3]!);
else await main();

/** The child process: serves `translator` until SIGTERM. */
async function translator(url: string): Promise<void> {
  const rt = await createRuntime({
    store: { postgres: { connectionString: url } },
    communicator: { pollMs: 200 },
    agents: [
      defineAgent({
        role: 'translator',
        run: async () => null,
        // A request's answer is what the hook returns; it goes back to the requesting process.
        onMessage: async (message, ctx) => {
          if (message.type === 'notification') console.error(`translator got: ${message.payload}`);
          if (message.type !== 'request') return undefined;
          // This process also writes the shared context the editor reads.
          await rt.communicator.updateSharedContext('book', ctx.role, { language: 'fr' });
          return { text: message.payload === 'hello' ? 'bonjour' : '?', pid: process.pid };
        },
      }),
    ],
  });
  // Tell the parent (over the IPC channel fork opened) that `translator` is announced.
  process.send?.('ready');
  process.on('SIGTERM', () => {
    void rt.close().then(() => process.exit(0));
  });
}

async function main(): Promise<void> {
  const cluster = await startPostgresCluster();
  const child = fork(fileURLToPath(import.meta.url), ['translator', cluster.connectionString], {
    execArgv: ['--import', import.meta.resolve('tsx')],
  });
  const exited = once(child, 'exit');
  try {
    await once(child, 'message');
    const rt = await createRuntime({
      store: { postgres: { connectionString: cluster.connectionString } },
      communicator: { pollMs: 200 },
      agents: [defineAgent({ role: 'editor', run: async () => null })],
    });
    try {
      // 1. Request-response with an agent of the other process.
      const answer = await rt.communicator.request(
        { from: 'editor', to: 'translator', payload: 'hello' },
        { timeout: 10_000 },
      );
      const { text, pid } = answer.payload as { text: string; pid: number };
      // Checked, so the example fails (and the docs test with it) if this stops being true.
      assert.equal(pid, child.pid);
      assert.equal(text, 'bonjour');
      console.log(`translator (in the child process) says: ${text}`);

      // 2. A broadcast reaches every agent of every process but the sender.
      const receipt = await rt.communicator.broadcast({
        from: 'editor',
        type: 'notification',
        payload: 'chapter 1 is done',
      });
      assert.deepEqual(receipt.recipients, ['translator']);
      console.log('broadcast reached:', receipt.recipients);

      // 3. The translator wrote version 1 in its process; a stale write here is refused.
      const shared = await rt.communicator.getSharedContext('book');
      assert.equal(shared.version, 1);
      console.log(`shared context v${shared.version}:`, shared.data);
      try {
        await rt.communicator.updateSharedContext(
          'book',
          'editor',
          { title: 'x' },
          {
            expectedVersion: 0,
          },
        );
        assert.fail('a write expecting version 0 must be refused at version 1');
      } catch (error) {
        if (!(error instanceof TroupeError && error.code === 'VERSION_CONFLICT')) throw error;
        console.log(
          `stale write refused: ${error.code} (at version ${error.context.actualVersion})`,
        );
      }

      // 4. A lock is global: every process sees who holds it.
      const lease = await rt.communicator.acquireLock('book', 'chapter-2', 'editor', {
        ttlMs: 5_000,
      });
      console.log(`lock held by ${lease.owner}, fencing token ${lease.fencingToken}`);
      await rt.communicator.releaseLock('book', 'chapter-2', 'editor');
    } finally {
      await rt.close();
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
    await cluster.stop();
  }
}
