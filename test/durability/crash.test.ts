/**
 * Crash tests: a real child process (test/fixtures/durable-worker.ts) runs a
 * workflow over LevelDB and is killed with SIGKILL at a signal it prints; a
 * new process resumes the run.
 *
 * How "no journaled task ran again" is proven: after the kill, and before the
 * resume, the test opens the dead process's store and reads the newest
 * checkpoint and the journal after it directly (`durableProgress`, no
 * recovery code involved). Every task whose completion (and every
 * compensation step whose success) is in there must have no run at all by
 * the resuming process, according to counter files the tasks append to
 * outside both processes (one line per run: pid, attempt, idempotency key).
 * Every other task that ends completed ran exactly once in the resuming
 * process, with the same attempt and key as its interrupted run, if any.
 * On top of that each scenario pins down what was durable at its kill point:
 * the fixture makes that deterministic (tasks wait for the journal before
 * they finish, and FREEZE blocks the event loop right at a signal), so these
 * tests need no sleeps.
 *
 * The final result must equal that of an uncrashed run of the same scenario
 * and workflow id (statuses, outputs, attempts, errors; not timestamps).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { WorkflowResult } from '../../src/index.js';
import { comparable, durableProgress, readStoredRun, scratchDir, useScratch } from './helpers.js';
import {
  bundleFixture,
  type CountedRun,
  killAll,
  readCounters,
  type Signal,
  Worker,
} from './processes.js';

useScratch();
afterEach(killAll);

let fixture: Awaited<ReturnType<typeof bundleFixture>>;
beforeAll(async () => {
  fixture = await bundleFixture('durable-worker');
}, 60_000);
afterAll(() => fixture?.remove());

type Scenario = 'chain' | 'pause' | 'saga' | 'burst';

/** The result of an uncrashed run, in its own process and folder. */
async function uncrashed(scenario: Scenario, workflowId: string): Promise<WorkflowResult> {
  const dataDir = await scratchDir();
  const counterDir = await scratchDir('troupe-counters-');
  // The paused scenario is the chain, paused and resumed: same result.
  const plain = scenario === 'pause' ? 'chain' : scenario;
  const worker = new Worker(fixture.file, [dataDir, counterDir, plain, 'start', workflowId]);
  const { result } = await worker.waitFor('result');
  await worker.finished();
  return result as WorkflowResult;
}

interface CrashRun {
  /** What the killed process had made durable (read from its store). */
  durable: { completed: Set<string>; compensated: Set<string> };
  /** Runs of each task, by the killed process and then by the resuming one. */
  counters: Record<string, CountedRun[]>;
  killed: Worker;
  resumed: Worker;
  result: WorkflowResult;
}

async function crashAndResume(options: {
  scenario: Scenario;
  workflowId: string;
  env: Record<string, string>;
  killAt: [signal: string, taskId?: string];
  /** Runs between the resume process's start and its result. */
  whileResuming?: (worker: Worker, counterDir: string) => Promise<void>;
}): Promise<CrashRun> {
  const { scenario, workflowId } = options;
  const expected = uncrashed(scenario, workflowId);
  const dataDir = await scratchDir();
  const counterDir = await scratchDir('troupe-counters-');
  const args = [dataDir, counterDir, scenario];

  const killed = new Worker(fixture.file, [...args, 'start', workflowId], options.env);
  await killed.waitFor(...options.killAt);
  await killed.kill();
  const durable = durableProgress(await readStoredRun(dataDir, workflowId));

  const resumed = new Worker(fixture.file, [...args, 'resume', workflowId]);
  await options.whileResuming?.(resumed, counterDir);
  const result = (await resumed.waitFor('result')).result as WorkflowResult;
  await resumed.finished();
  const counters = await readCounters(counterDir);

  const run: CrashRun = { durable, counters, killed, resumed, result };
  checkNoDurableWorkRepeated(run);
  expect(comparable(result)).toEqual(comparable(await expected));
  return run;
}

/** The invariants every crash test checks (see the header). */
function checkNoDurableWorkRepeated({ durable, counters, killed, resumed, result }: CrashRun) {
  const by = (name: string, worker: Worker) =>
    (counters[name] ?? []).filter((run) => run.pid === worker.pid);
  for (const taskId of durable.completed) {
    expect(by(taskId, resumed), `journaled task ${taskId} ran again`).toEqual([]);
  }
  for (const taskId of durable.compensated) {
    expect(by(`undo-${taskId}`, resumed), `journaled undo-${taskId} ran again`).toEqual([]);
  }
  for (const [taskId, task] of Object.entries(result.tasks)) {
    if (task.status !== 'completed' || durable.completed.has(taskId)) continue;
    const again = by(taskId, resumed);
    expect(again, `task ${taskId} runs after the resume`).toHaveLength(1);
    const interrupted = by(taskId, killed).at(-1);
    // At-least-once: the interrupted attempt is re-run as itself.
    if (interrupted) expect(again[0]).toEqual({ ...interrupted, pid: resumed.pid });
  }
  for (const taskId of result.compensation?.compensated ?? []) {
    if (durable.compensated.has(taskId)) continue;
    expect(by(`undo-${taskId}`, resumed), `undo-${taskId} after the resume`).toHaveLength(1);
  }
}

const runCounts = (counters: Record<string, CountedRun[]>) =>
  Object.fromEntries(Object.entries(counters).map(([name, runs]) => [name, runs.length]));

const sorted = (set: Set<string>) => [...set].sort();

describe('crash and resume in a new process (SIGKILL)', () => {
  it('(a) in the middle of a task: the task in flight runs again, journaled ones do not', async () => {
    const { durable, counters, result } = await crashAndResume({
      scenario: 'chain',
      workflowId: 'wf-crash-a',
      env: { BLOCK: 'c' },
      killAt: ['blocked', 'c'],
    });
    expect(sorted(durable.completed)).toEqual(['a', 'b']);
    expect(runCounts(counters)).toEqual({ a: 1, b: 1, c: 2, d: 1, e: 1 });
    expect(counters.c!.map((r) => `${r.attempt} ${r.key}`)).toEqual([
      '1 wf-crash-a:c',
      '1 wf-crash-a:c',
    ]);
    expect(result.status).toBe('completed');
  });

  it('(b) right after a task completed, before its completion reached the journal: that task runs again', async () => {
    const { durable, counters } = await crashAndResume({
      scenario: 'chain',
      workflowId: 'wf-crash-b',
      env: { FREEZE: 'completed:b' },
      killAt: ['completed', 'b'],
    });
    expect(sorted(durable.completed)).toEqual(['a']);
    expect(runCounts(counters)).toEqual({ a: 1, b: 2, c: 1, d: 1, e: 1 });
  });

  it('(b) right after a task completion was journaled: it never runs again', async () => {
    const { durable, counters } = await crashAndResume({
      scenario: 'chain',
      workflowId: 'wf-crash-b2',
      env: { FREEZE: 'journaled:b' },
      killAt: ['journaled', 'b'],
    });
    expect(sorted(durable.completed)).toEqual(['a', 'b']);
    // c had started (dispatched with b's completion) and is re-run.
    expect(runCounts(counters)).toEqual({ a: 1, b: 1, c: 2, d: 1, e: 1 });
  });

  it('(c) while compensating: the rollback resumes, journaled compensation steps are not redone', async () => {
    const { durable, counters, result } = await crashAndResume({
      scenario: 'saga',
      workflowId: 'wf-crash-c',
      env: { BLOCK: 'undo-b' },
      killAt: ['blocked', 'undo-b'],
    });
    expect(sorted(durable.completed)).toEqual(['a', 'b', 'c']);
    expect(sorted(durable.compensated)).toEqual(['c']);
    expect(runCounts(counters)).toEqual({
      a: 1,
      b: 1,
      c: 1,
      boom: 1,
      'undo-a': 1,
      'undo-b': 2,
      'undo-c': 1,
    });
    expect(counters['undo-b']!.map((r) => `${r.attempt} ${r.key}`)).toEqual([
      '1 wf-crash-c:b:compensate',
      '1 wf-crash-c:b:compensate',
    ]);
    expect(result.status).toBe('compensated');
    expect(result.compensation?.compensated).toEqual(['c', 'b', 'a']);
  });

  it('(d) while paused: the resumed run stays paused, starting nothing, until resumed', async () => {
    let countsWhilePaused: Record<string, number> = {};
    let state: Signal | undefined;
    const { durable, counters, resumed } = await crashAndResume({
      scenario: 'pause',
      workflowId: 'wf-crash-d',
      env: { BLOCK: 'c' },
      killAt: ['paused'],
      whileResuming: async (worker, counterDir) => {
        state = await worker.waitFor('state');
        countsWhilePaused = runCounts(await readCounters(counterDir));
        worker.writeLine('resume');
      },
    });
    expect(state?.status).toBe('paused');
    expect(sorted(durable.completed)).toEqual(['a', 'b']);
    // Nothing ran in the new process before the resume: c ran once, in the killed one.
    expect(countsWhilePaused).toEqual({ a: 1, b: 1, c: 1 });
    expect(runCounts(counters)).toEqual({ a: 1, b: 1, c: 2, d: 1, e: 1 });
    expect(resumed.signals.findIndex((s) => s.signal === 'state')).toBeLessThan(
      resumed.signals.findIndex((s) => s.signal === 'started'),
    );
  });

  it('(f) killed again while resumed, before any checkpoint: the second resume replays the first one and repeats nothing journaled', async () => {
    const workflowId = 'wf-crash-f';
    const expected = uncrashed('saga', workflowId);
    const dataDir = await scratchDir();
    const counterDir = await scratchDir('troupe-counters-');
    const args = [dataDir, counterDir, 'saga'];
    const killed = new Worker(fixture.file, [...args, 'start', workflowId], { BLOCK: 'undo-b' });
    await killed.waitFor('blocked', 'undo-b');
    await killed.kill();
    // Resumed: undo-b runs again and is journaled, undo-a blocks; killed again.
    const first = new Worker(fixture.file, [...args, 'resume', workflowId], { BLOCK: 'undo-a' });
    await first.waitFor('blocked', 'undo-a');
    await first.kill();
    const stored = await readStoredRun(dataDir, workflowId);
    // The first resume took no checkpoint (its tail was short): its restore is a journal entry.
    expect(stored.snapshots.map((s) => s.checkpoint.reason)).not.toContain('restore');
    expect(stored.journal.map(({ entry }) => entry.event.type)).toContain('workflow.restore');
    const durable = durableProgress(stored);
    expect(sorted(durable.compensated)).toEqual(['b', 'c']);

    const second = new Worker(fixture.file, [...args, 'resume', workflowId]);
    const result = (await second.waitFor('result')).result as WorkflowResult;
    await second.finished();
    const counters = await readCounters(counterDir);
    for (const taskId of durable.compensated) {
      expect(counters[`undo-${taskId}`]!.filter((run) => run.pid === second.pid)).toEqual([]);
    }
    // Each compensation step cut short by a kill ran again as the same attempt.
    expect(counters['undo-b']!.map((r) => `${r.attempt} ${r.key}`)).toEqual([
      '1 wf-crash-f:b:compensate',
      '1 wf-crash-f:b:compensate',
    ]);
    expect(counters['undo-a']!.map((r) => `${r.attempt} ${r.key}`)).toEqual([
      '1 wf-crash-f:a:compensate',
      '1 wf-crash-f:a:compensate',
    ]);
    expect(runCounts(counters)).toMatchObject({ a: 1, b: 1, c: 1, boom: 1, 'undo-c': 1 });
    expect(result.status).toBe('compensated');
    expect(comparable(result)).toEqual(comparable(await expected));
  });

  it('(e) during a burst of parallel completions: the half journaled before the kill is not re-run', async () => {
    const { durable, counters, result } = await crashAndResume({
      scenario: 'burst',
      workflowId: 'wf-crash-e',
      env: { FREEZE: 'completed:p14' },
      killAt: ['completed', 'p14'],
    });
    const waveA = Array.from({ length: 10 }, (_, i) => `p${i}`);
    const waveB = Array.from({ length: 10 }, (_, i) => `p${i + 10}`);
    expect(sorted(durable.completed)).toEqual(['seed', ...waveA].sort());
    const counts = runCounts(counters);
    for (const id of ['seed', ...waveA]) expect(counts[id], id).toBe(1);
    // Wave B had all started; p10..p14 had even completed in memory, unjournaled.
    for (const id of waveB) expect(counts[id], id).toBe(2);
    expect(counts.join).toBe(1);
    expect(result.tasks.join?.output).toMatchObject({
      inputs: [...waveA, ...waveB].sort(),
    });
  });
});
