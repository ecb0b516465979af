/**
 * A wait survives the process: the run waits, the process is SIGKILLed, and
 * a new process continues from the waiting point. Counter files outside the
 * processes prove the rule of docs/waits.md: a `ctx.step` before the wait
 * never runs again, plain code before it runs again, and code after the wait
 * runs once.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowResult } from '../../src/index.js';
import { scratchDir, useScratch } from '../durability/helpers.js';
import { bundleFixture, killAll, Worker } from '../durability/processes.js';

useScratch();
afterEach(killAll);

let fixture: Awaited<ReturnType<typeof bundleFixture>>;
beforeAll(async () => {
  fixture = await bundleFixture('wait-worker');
}, 60_000);
afterAll(() => fixture?.remove());

async function pids(counterDir: string, name: string): Promise<number[]> {
  const text = await readFile(join(counterDir, name), 'utf8').catch(() => '');
  return text.split('\n').filter(Boolean).map(Number);
}

async function startAndKill(dataDir: string, counterDir: string, workflowId: string) {
  const first = new Worker(fixture.file, [dataDir, counterDir, 'start', workflowId]);
  await first.waitFor('waiting');
  await first.kill();
  return first.pid;
}

describe('a wait across SIGKILL', () => {
  it('answered in the new process: the step before the wait is not re-run', async () => {
    const dataDir = await scratchDir();
    const counterDir = await scratchDir('troupe-counters-');
    const killedPid = await startAndKill(dataDir, counterDir, 'ship-1');

    const resumed = new Worker(fixture.file, [dataDir, counterDir, 'resume', 'ship-1']);
    const { result } = (await resumed.waitFor('result')) as unknown as { result: WorkflowResult };
    await resumed.finished();

    expect(result.status).toBe('completed');
    expect(result.tasks.ship?.output).toEqual({ prepared: { ticket: 42 }, answer: { ok: true } });
    expect(await pids(counterDir, 'prepare')).toEqual([killedPid]);
    expect(await pids(counterDir, 'body')).toEqual([killedPid, resumed.pid]);
    expect(await pids(counterDir, 'after')).toEqual([resumed.pid]);
    expect(result.tasks.ship?.attempts).toBe(1);
  }, 60_000);

  it('answered while no process runs it (stored signal), applied on resume without waiting again', async () => {
    const dataDir = await scratchDir();
    const counterDir = await scratchDir('troupe-counters-');
    const killedPid = await startAndKill(dataDir, counterDir, 'ship-2');

    const signaller = new Worker(fixture.file, [dataDir, counterDir, 'signal', 'ship-2']);
    await signaller.waitFor('signalled');
    await signaller.finished();

    const resumed = new Worker(fixture.file, [dataDir, counterDir, 'resume', 'ship-2']);
    const { result } = (await resumed.waitFor('result')) as unknown as { result: WorkflowResult };
    await resumed.finished();
    expect(result.status).toBe('completed');
    expect(result.tasks.ship?.output).toEqual({ prepared: { ticket: 42 }, answer: { ok: true } });
    // The wait returned the journaled answer at once: no second `waiting`.
    expect(resumed.signals.filter((s) => s.signal === 'waiting')).toEqual([]);
    expect(await pids(counterDir, 'prepare')).toEqual([killedPid]);
    expect(await pids(counterDir, 'after')).toEqual([resumed.pid]);
  }, 60_000);
});
