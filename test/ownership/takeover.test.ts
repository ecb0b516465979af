/**
 * Takeover with real processes on one database: SIGKILL of an owner mid-run
 * (a few randomised trials; scripts/takeover-campaign.ts runs 50+), and a
 * stale owner (SIGSTOP until its lease expired, then SIGCONT) that must not
 * write into the run it lost.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { RunRecord } from '../../src/schemas/run-record.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { bundleFixture, killAll, Worker } from '../durability/processes.js';
import { testDatabase } from '../support/postgres.js';
import { runTakeoverTrial } from '../support/takeover-trial.js';

let fixture: { file: string; remove: () => Promise<void> };
beforeAll(async () => {
  fixture = await bundleFixture('pg-owner');
});
afterAll(() => fixture.remove());
afterEach(() => killAll());

describe('takeover after SIGKILL (real processes)', () => {
  for (const seed of [3, 11]) {
    it(`trial seed ${seed}: the survivor finishes every run; no journaled completion runs again; results equal an uncrashed run`, async () => {
      const report = await runTakeoverTrial({
        url: await testDatabase('takeover'),
        fixture: fixture.file,
        seed,
      });
      expect(report.violations).toEqual([]);
      expect(report.journaledBeforeKill).toBeGreaterThan(0);
    }, 90_000);
  }
});

describe('a stale owner (SIGSTOP past its lease, then SIGCONT)', () => {
  it('cannot write into the run it lost: its late completion is refused and it stops the run with RUN_OWNERSHIP_LOST', async () => {
    const url = await testDatabase('stale');
    const counters = await mkdtemp(join(tmpdir(), 'troupe-stale-'));
    const env = {
      TASKS: '3',
      TASK_MS: '1',
      LEASE_MS: '1000',
      HEARTBEAT_MS: '200',
      SWEEP_MS: '200',
    };
    try {
      // With SEED 5 and TASK_MS 5000, A's first task sleeps 2.8 s: time to freeze it mid-task.
      const a = new Worker(fixture.file, [url, counters, 'A', '1', 'wf-stale'], {
        ...env,
        TASK_MS: '5000',
        SEED: '5',
      });
      await a.waitFor('ready');
      // Its first task has started (the counter line is written first).
      while (!(await readFile(join(counters, 'wf-stale.t0'), 'utf8').catch(() => ''))) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      // Freeze A while its first task sleeps: no heartbeat, no writes.
      a.child.kill('SIGSTOP');
      const b = new Worker(fixture.file, [url, counters, 'B', '1'], env);
      await b.waitFor('done');
      await b.finished();
      const store = await PostgresStore.open({ connectionString: url });
      const before = await store.get<RunRecord>('workflows', 'wf-stale');
      expect(before?.result?.status).toBe('completed');
      // A wakes up: its task completes late, its write is refused, it stops the run.
      a.child.kill('SIGCONT');
      await a.waitFor('lost');
      a.child.kill('SIGKILL');
      const after = await store.get<RunRecord>('workflows', 'wf-stale');
      expect(after).toEqual(before);
      const t0 = (await readFile(join(counters, 'wf-stale.t0'), 'utf8')).trim().split('\n');
      expect(t0.map((line) => line.split(' ')[0])).toEqual(['A', 'B']);
      expect(a.signals.filter((s) => s.signal === 'journaled')).toEqual([]);
      await store.close();
    } finally {
      await rm(counters, { recursive: true, force: true });
    }
  }, 90_000);
});
