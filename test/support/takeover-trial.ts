/**
 * One takeover trial with real processes, shared by the test suite
 * (test/ownership/takeover.test.ts) and the campaign
 * (scripts/takeover-campaign.ts): processes A and B each start runs on one
 * database; A is SIGKILLed after a pseudo-random number of journaled
 * completions; B takes A's runs over and finishes everything. Per-task
 * counters are files written by the task handlers, outside both processes.
 *
 * Checked: every run completed with the result an uncrashed run gives; no
 * task whose completion A had journaled ran again; no task ran more than
 * once in B; A's tasks in flight at the kill ran again with the same key.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RunRecord } from '../../src/schemas/run-record.js';
import type { WorkflowResult } from '../../src/schemas/workflow-result.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { Worker } from '../durability/processes.js';

export interface TrialOptions {
  /** A fresh database. */
  url: string;
  /** The bundled test/fixtures/pg-owner.ts. */
  fixture: string;
  seed: number;
  runsPerProcess?: number;
  tasks?: number;
  leaseMs?: number;
}

export interface TrialReport {
  seed: number;
  /** Completions A had journaled when it was killed. */
  journaledBeforeKill: number;
  /** Tasks that ran twice: in flight in A at the kill, again in B. */
  rerunInFlight: number;
  /** Milliseconds from the kill until B had finished every run. */
  finishMs: number;
  /** What went wrong; empty when the trial passed. */
  violations: string[];
}

/** Who started a run: whether it was killed, and what it printed (`lost` for a refused start). */
export interface Starter {
  killed: boolean;
  signals: readonly { signal: string; workflowId?: unknown }[];
}

/**
 * The results of the trial's runs that completed, by id. Every other run is a
 * violation, except one legitimately absent from the store: never stored and
 * none of its tasks ran (the runtime runs nothing of a run it has not
 * stored), because its starter was killed mid-start, or stalled past the new
 * run's lease and had the start refused (it printed `lost` for it).
 */
export async function completedResults(
  url: string,
  workflowIds: readonly string[],
  ran: (file: string) => boolean,
  starterOf: (workflowId: string) => Starter,
  violations: string[],
): Promise<Map<string, WorkflowResult>> {
  const results = new Map<string, WorkflowResult>();
  const store = await PostgresStore.open({ connectionString: url });
  try {
    for (const workflowId of workflowIds) {
      const record = await store.get<RunRecord>('workflows', workflowId);
      const starter = starterOf(workflowId);
      const neverStarted =
        !record &&
        !ran(`${workflowId}.t0`) &&
        (starter.killed ||
          starter.signals.some((s) => s.signal === 'lost' && s.workflowId === workflowId));
      if (neverStarted) continue;
      const result = record?.result;
      if (result?.status === 'completed') results.set(workflowId, result);
      else {
        violations.push(
          `${workflowId}: ${record ? `ended ${result?.status ?? 'without a result'}` : 'never stored, yet it ran or its start was not refused'}`,
        );
      }
    }
  } finally {
    await store.close();
  }
  return results;
}

export async function runTakeoverTrial(options: TrialOptions): Promise<TrialReport> {
  const { url, fixture, seed } = options;
  const runsPerProcess = options.runsPerProcess ?? 3;
  const tasks = options.tasks ?? 6;
  const counterDir = await mkdtemp(join(tmpdir(), 'troupe-takeover-'));
  const ids = (name: string) =>
    Array.from({ length: runsPerProcess }, (_, i) => `${name}-${seed}-${i}`);
  // B waits for its own runs at least, and for every stored run of A.
  const total = String(runsPerProcess);
  const env = {
    SEED: String(seed),
    TASKS: String(tasks),
    LEASE_MS: String(options.leaseMs ?? 1_500),
    HEARTBEAT_MS: '300',
    SWEEP_MS: '300',
  };
  const violations: string[] = [];
  try {
    const a = new Worker(
      fixture,
      [url, counterDir, 'A', String(2 * runsPerProcess), ...ids('a')],
      env,
    );
    // B may finish its own runs before A has stored all of its: it is done only after the kill.
    const aKilled = `${counterDir}.a-killed`;
    const b = new Worker(fixture, [url, counterDir, 'B', total, ...ids('b')], {
      ...env,
      SEED: String(seed + 7),
      DONE_AFTER: aKilled,
    });
    // Kill A after 1 .. (all but one of its completions) journaled completions.
    const killAfter = 1 + (seed % (runsPerProcess * tasks - 1));
    await new Promise<void>((resolve, reject) => {
      const check = setInterval(() => {
        if (a.signals.filter((s) => s.signal === 'journaled').length >= killAfter) {
          clearInterval(check);
          resolve();
        }
        if (a.child.exitCode !== null) {
          clearInterval(check);
          reject(new Error(`A exited before ${killAfter} completions`));
        }
      }, 5);
    });
    await a.kill();
    const killedAt = Date.now();
    await writeFile(aKilled, '');
    // A hang is a failure too: B is killed, and waitFor rejects with its stderr.
    const deadline = setTimeout(() => b.child.kill('SIGKILL'), 60_000);
    await b.waitFor('done').finally(() => clearTimeout(deadline));
    const finishMs = Date.now() - killedAt;
    await b.finished();
    // Lines A printed before it died: every completion it reported durable.
    const journaled = new Set(
      a.signals
        .filter((s) => s.signal === 'journaled')
        .map((s) => `${String(s.workflowId)}.${s.taskId}`),
    );

    const runs = new Map<string, string[]>();
    for (const file of await readdir(counterDir)) {
      const lines = (await readFile(join(counterDir, file), 'utf8')).trim().split('\n');
      runs.set(file, lines);
    }
    let rerunInFlight = 0;
    for (const [file, lines] of runs) {
      const [wf, taskId] = file.split('.') as [string, string];
      const keys = new Set(lines.map((line) => line.split(' ')[1]));
      if (keys.size !== 1 || !keys.has(`${wf}:${taskId}`)) {
        violations.push(`${file}: idempotency keys ${[...keys].join(', ')}`);
      }
      const byB = lines.filter((line) => line.startsWith('B ')).length;
      if (journaled.has(file) && lines.length > 1) {
        violations.push(`${file}: completion journaled by A, yet ran again: ${lines.join(' | ')}`);
      }
      if (byB > 1) violations.push(`${file}: ran ${byB} times in B`);
      if (lines.length > 2) violations.push(`${file}: ran ${lines.length} times`);
      if (lines.length === 2) rerunInFlight++;
    }

    const results = await completedResults(
      url,
      [...ids('a'), ...ids('b')],
      (file) => runs.has(file),
      (workflowId) =>
        workflowId.startsWith('a-')
          ? { killed: true, signals: a.signals }
          : { killed: false, signals: b.signals },
      violations,
    );
    for (const [workflowId, result] of results) {
      for (let i = 0; i < tasks; i++) {
        const taskId = `t${i}`;
        const expected = {
          task: taskId,
          key: `${workflowId}:${taskId}`,
          inputs: i === 0 ? [] : [`t${i - 1}`],
        };
        const output = result.tasks[taskId]?.output;
        if (JSON.stringify(output) !== JSON.stringify(expected)) {
          violations.push(`${workflowId}.${taskId}: output ${JSON.stringify(output)}`);
        }
        if (!runs.has(`${workflowId}.${taskId}`)) {
          violations.push(`${workflowId}.${taskId}: completed but never ran`);
        }
      }
    }
    return { seed, journaledBeforeKill: journaled.size, rerunInFlight, finishMs, violations };
  } finally {
    await rm(counterDir, { recursive: true, force: true });
    await rm(`${counterDir}.a-killed`, { force: true });
  }
}
