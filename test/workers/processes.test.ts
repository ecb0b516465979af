/**
 * Remote agents with real processes on one database: owners and workers as
 * child processes, SIGKILLed mid-task (a few randomised trials here;
 * scripts/workers-campaign.ts runs 50+), and a run in this process whose
 * tasks execute on two worker processes.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createRuntime, defineAgent } from '../../src/index.js';
import { bundleFixture, killAll, Worker as Process } from '../durability/processes.js';
import { testDatabase } from '../support/postgres.js';
import { runWorkersTrial } from '../support/workers-trial.js';

let owner: { file: string; remove: () => Promise<void> };
let worker: { file: string; remove: () => Promise<void> };
beforeAll(async () => {
  owner = await bundleFixture('pg-owner');
  worker = await bundleFixture('pg-worker');
});
afterAll(async () => {
  await owner.remove();
  await worker.remove();
});
afterEach(() => killAll());

const fast = { LEASE_MS: '1000', HEARTBEAT_MS: '200', POLL_MS: '200' };

async function ownerRuntime(url: string) {
  return createRuntime({
    store: { postgres: { connectionString: url } },
    remoteAgents: { pollMs: 200, refreshMs: 200 },
  });
}

describe('remote agents across processes', () => {
  it('a run whose tasks execute on two worker processes', async () => {
    const url = await testDatabase('two-workers');
    const counters = await mkdtemp(join(tmpdir(), 'troupe-two-'));
    try {
      // One task at a time per worker, so four parallel tasks need both.
      const env = { ...fast, CONCURRENCY: '1', TASK_MS: '400', SEED: '3' };
      const w1 = new Process(worker.file, [url, counters, 'W1'], env);
      const w2 = new Process(worker.file, [url, counters, 'W2'], env);
      await Promise.all([w1.waitFor('ready'), w2.waitFor('ready')]);
      const rt = await ownerRuntime(url);
      try {
        const result = await rt.orchestrator.executeWorkflow({
          name: 'spread',
          tasks: Array.from({ length: 4 }, (_, i) => ({ id: `t${i}`, agent: 'remote' })),
        });
        expect(result.status).toBe('completed');
        const workers = Object.values(result.tasks).map(
          (task) => (task.output as { worker: string }).worker,
        );
        expect(new Set(workers)).toEqual(new Set(['W1', 'W2']));
      } finally {
        await rt.close();
      }
    } finally {
      await rm(counters, { recursive: true, force: true });
    }
  }, 60_000);

  it('SIGKILL of a worker mid-task: its task finishes on the other worker, with the same idempotency key', async () => {
    const url = await testDatabase('kill-worker');
    const counters = await mkdtemp(join(tmpdir(), 'troupe-kill-'));
    try {
      // W1 starts alone and takes the task; its sleep is long enough to kill it mid-task.
      const w1 = new Process(worker.file, [url, counters, 'W1'], {
        ...fast,
        TASK_MS: '60000',
        SEED: '5',
      });
      await w1.waitFor('ready');
      const rt = await ownerRuntime(url);
      try {
        const handle = await rt.engine.start({
          name: 'one',
          tasks: [{ id: 'only', agent: 'remote' }],
        });
        await w1.waitFor('started', 'only');
        const w2 = new Process(worker.file, [url, counters, 'W2'], { ...fast, TASK_MS: '1' });
        await w2.waitFor('ready');
        await w1.kill();
        const result = await handle.result;
        expect(result.status).toBe('completed');
        expect(result.tasks.only?.output).toMatchObject({ worker: 'W2' });
        const lines = (await readFile(join(counters, `${handle.workflowId}.only`), 'utf8'))
          .trim()
          .split('\n');
        expect(lines).toEqual([`W1 ${handle.workflowId}:only`, `W2 ${handle.workflowId}:only`]);
      } finally {
        await rt.close();
      }
    } finally {
      await rm(counters, { recursive: true, force: true });
    }
  }, 60_000);

  it('cancel reaches a task running in a worker process: its signal aborts with TASK_ABORTED', async () => {
    const url = await testDatabase('cancel-remote');
    const counters = await mkdtemp(join(tmpdir(), 'troupe-cancel-'));
    try {
      const w1 = new Process(worker.file, [url, counters, 'W1'], {
        ...fast,
        TASK_MS: '60000',
        SEED: '5',
      });
      await w1.waitFor('ready');
      const rt = await ownerRuntime(url);
      try {
        const handle = await rt.engine.start({ name: 'c', tasks: [{ id: 'a', agent: 'remote' }] });
        await w1.waitFor('started', 'a');
        await rt.engine.cancel(handle.workflowId, { reason: 'no longer needed' });
        expect((await handle.result).status).toBe('cancelled');
        expect(await w1.waitFor('aborted', 'a')).toMatchObject({ code: 'TASK_ABORTED' });
      } finally {
        await rt.close();
      }
    } finally {
      await rm(counters, { recursive: true, force: true });
    }
  }, 60_000);

  it('a stale worker (SIGSTOP past its lease, then SIGCONT) cannot write: its result is refused, the other worker’s stands', async () => {
    const url = await testDatabase('stale-worker');
    const counters = await mkdtemp(join(tmpdir(), 'troupe-stale-worker-'));
    let openGate: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      openGate = resolve;
    });
    try {
      // With SEED 5 and TASK_MS 5000, W1's first task sleeps 2.8 s: time to freeze it mid-task.
      const w1 = new Process(worker.file, [url, counters, 'W1'], {
        ...fast,
        TASK_MS: '5000',
        SEED: '5',
      });
      await w1.waitFor('ready');
      // The run stays live (its `gate` task waits) while W1 comes back.
      const rt = await createRuntime({
        store: { postgres: { connectionString: url } },
        remoteAgents: { pollMs: 200, refreshMs: 200 },
        agents: [defineAgent({ role: 'gate', run: () => gate.then(() => 'open') })],
      });
      try {
        const handle = await rt.engine.start({
          name: 'stale',
          tasks: [
            { id: 'a', agent: 'remote' },
            { id: 'g', agent: 'gate' },
          ],
        });
        await w1.waitFor('started', 'a');
        w1.child.kill('SIGSTOP');
        const w2 = new Process(worker.file, [url, counters, 'W2'], { ...fast, TASK_MS: '1' });
        await w2.waitFor('started', 'a');
        const completed = new Promise<unknown>((resolve) =>
          rt.engine.on('task.completed', (event) => event.taskId === 'a' && resolve(event.output)),
        );
        expect(await completed).toMatchObject({ worker: 'W2' });
        // W1 wakes up: its claim was lost; its result is refused.
        w1.child.kill('SIGCONT');
        await w1.waitFor('refused', 'a');
        openGate();
        const result = await handle.result;
        expect(result.tasks.a?.output).toMatchObject({ worker: 'W2' });
        const lines = (await readFile(join(counters, `${handle.workflowId}.a`), 'utf8'))
          .trim()
          .split('\n');
        expect(lines.map((line) => line.split(' ')[0])).toEqual(['W1', 'W2']);
      } finally {
        openGate();
        await rt.close();
      }
    } finally {
      await rm(counters, { recursive: true, force: true });
    }
  }, 60_000);

  for (const seed of [2, 7]) {
    it(`trial seed ${seed}: SIGKILLs among owner and workers; every task completed once in the result; no journaled completion ran again`, async () => {
      const report = await runWorkersTrial({
        url: await testDatabase('workers-trial'),
        ownerFixture: owner.file,
        workerFixture: worker.file,
        seed,
      });
      expect(report.violations).toEqual([]);
      expect(report.killed.length).toBeGreaterThan(0);
    }, 120_000);
  }
});
