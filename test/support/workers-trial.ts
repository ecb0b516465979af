/**
 * One remote-agents trial with real processes, shared by the test suite
 * (test/workers/processes.test.ts) and the campaign
 * (scripts/workers-campaign.ts): owners A and B start runs whose tasks only
 * workers serve; workers W1 and W2 run them. After a pseudo-random number of
 * A's journaled completions, a pseudo-random choice of A, W1 and W2 is
 * SIGKILLed (when both workers die, W3 was started beforehand). The survivors
 * finish everything. Per-task counters are files the workers append to,
 * outside every process.
 *
 * Checked: every run completed, each task's output once in the result,
 * equal to what an uncrashed run gives, and from the last worker that ran
 * it; no task whose completion was journaled ran again; a task ran more than
 * once only because the worker running it was killed (never because an owner
 * died: the next owner gets the finished attempt's row); every run of a task
 * had the same idempotency key.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker as Process } from '../durability/processes.js';
import { completedResults } from './takeover-trial.js';

export interface WorkersTrialOptions {
  /** A fresh database. */
  url: string;
  /** The bundled test/fixtures/pg-owner.ts. */
  ownerFixture: string;
  /** The bundled test/fixtures/pg-worker.ts. */
  workerFixture: string;
  seed: number;
  runsPerProcess?: number;
  tasks?: number;
  leaseMs?: number;
}

export interface WorkersTrialReport {
  seed: number;
  /** The processes SIGKILLed. */
  killed: string[];
  /** Completions A had journaled when the kill came. */
  journaledBeforeKill: number;
  /** Task completions in the results. */
  completedTasks: number;
  /** Tasks that ran again because the worker running them was killed. */
  rerunAfterWorkerKill: number;
  /** Milliseconds from the kill until every run had ended. */
  finishMs: number;
  /** What went wrong; empty when the trial passed. */
  violations: string[];
}

export async function runWorkersTrial(options: WorkersTrialOptions): Promise<WorkersTrialReport> {
  const { url, seed } = options;
  const runsPerProcess = options.runsPerProcess ?? 3;
  const tasks = options.tasks ?? 6;
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state / 2 ** 31;
  };
  const counterDir = await mkdtemp(join(tmpdir(), 'troupe-workers-'));
  const ids = (name: string) =>
    Array.from({ length: runsPerProcess }, (_, i) => `${name}-${seed}-${i}`);
  const timing = {
    LEASE_MS: String(options.leaseMs ?? 1_500),
    HEARTBEAT_MS: '300',
    SWEEP_MS: '300',
    POLL_MS: '300',
    TASK_MS: '60',
  };
  const startWorker = async (name: string) => {
    const worker = new Process(options.workerFixture, [url, counterDir, name], {
      ...timing,
      SEED: String(seed * 31 + name.charCodeAt(1)),
      CONCURRENCY: '4',
      ROLE_LIMIT: '6',
    });
    await worker.waitFor('ready');
    return worker;
  };
  const violations: string[] = [];
  const processes: Process[] = [];
  try {
    const workers = new Map([
      ['W1', await startWorker('W1')],
      ['W2', await startWorker('W2')],
    ]);
    processes.push(...workers.values());
    const ownerEnv = { ...timing, REMOTE_ROLE: 'remote', SEED: String(seed), TASKS: String(tasks) };
    const a = new Process(
      options.ownerFixture,
      [url, counterDir, 'A', String(2 * runsPerProcess), ...ids('a')],
      ownerEnv,
    );
    // B may finish its own runs before A has stored all of its: it is done only after the kills.
    const killed = `${counterDir}.killed`;
    const b = new Process(
      options.ownerFixture,
      [url, counterDir, 'B', String(runsPerProcess), ...ids('b')],
      { ...ownerEnv, DONE_AFTER: killed },
    );
    processes.push(a, b);
    // Who dies: A or not, and none, one or both workers (at least one process).
    const killOwner = random() < 0.5;
    let killWorkers = Math.floor(random() * 3);
    if (!killOwner && killWorkers === 0) killWorkers = 1;
    const victims = [
      ...(killOwner ? ['A'] : []),
      ...(killWorkers === 2
        ? ['W1', 'W2']
        : killWorkers === 1
          ? [random() < 0.5 ? 'W1' : 'W2']
          : []),
    ];
    const killAfter = 1 + Math.floor(random() * (runsPerProcess * tasks - 1));
    // The survivor of a trial that kills both workers, started before the kill point.
    if (killWorkers === 2) {
      const w3 = await startWorker('W3');
      workers.set('W3', w3);
      processes.push(w3);
    }
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
    // Completions A had journaled when the kill came: none may run again.
    const journaled = new Set(
      a.signals
        .filter((s) => s.signal === 'journaled')
        .map((s) => `${String(s.workflowId)}.${s.taskId}`),
    );
    await Promise.all(victims.map((name) => (name === 'A' ? a : workers.get(name)!).kill()));
    const killedAt = Date.now();
    await writeFile(killed, '');
    // A hang is a failure too: the owners are killed, and waitFor rejects with their stderr.
    const deadline = setTimeout(() => {
      for (const owner of [a, b]) owner.child.kill('SIGKILL');
    }, 60_000);
    try {
      await b.waitFor('done');
      if (!killOwner) await a.waitFor('done');
    } finally {
      clearTimeout(deadline);
    }
    const finishMs = Date.now() - killedAt;
    await b.finished();
    if (!killOwner) await a.finished();

    const runs = new Map<string, string[]>();
    for (const file of await readdir(counterDir)) {
      runs.set(file, (await readFile(join(counterDir, file), 'utf8')).trim().split('\n'));
    }
    let rerunAfterWorkerKill = 0;
    for (const [file, lines] of runs) {
      const [wf, taskId] = file.split('.') as [string, string];
      const keys = new Set(lines.map((line) => line.split(' ')[1]));
      if (keys.size !== 1 || !keys.has(`${wf}:${taskId}`)) {
        violations.push(`${file}: idempotency keys ${[...keys].join(', ')}`);
      }
      if (lines.length === 1) continue;
      if (journaled.has(file)) {
        violations.push(`${file}: completion journaled, yet ran again: ${lines.join(' | ')}`);
      }
      const earlier = lines.slice(0, -1).map((line) => line.split(' ')[0]!);
      if (earlier.every((worker) => victims.includes(worker))) rerunAfterWorkerKill++;
      else violations.push(`${file}: ran again though its worker lived: ${lines.join(' | ')}`);
    }

    let completedTasks = 0;
    const results = await completedResults(
      url,
      [...ids('a'), ...ids('b')],
      (file) => runs.has(file),
      (workflowId) =>
        workflowId.startsWith('a-')
          ? { killed: killOwner, signals: a.signals }
          : { killed: false, signals: b.signals },
      violations,
    );
    for (const [workflowId, result] of results) {
      for (let i = 0; i < tasks; i++) {
        const taskId = `t${i}`;
        const lines = runs.get(`${workflowId}.${taskId}`);
        if (!lines) {
          violations.push(`${workflowId}.${taskId}: completed but never ran`);
          continue;
        }
        const expected = {
          task: taskId,
          key: `${workflowId}:${taskId}`,
          inputs: i === 0 ? [] : [`t${i - 1}`],
          worker: lines.at(-1)!.split(' ')[0],
        };
        const output = result.tasks[taskId]?.output;
        if (JSON.stringify(output) !== JSON.stringify(expected)) {
          violations.push(
            `${workflowId}.${taskId}: output ${JSON.stringify(output)}, runs ${lines.join(' | ')}`,
          );
        } else completedTasks++;
      }
    }
    return {
      seed,
      killed: victims,
      journaledBeforeKill: killAfter,
      completedTasks,
      rerunAfterWorkerKill,
      finishMs,
      violations,
    };
  } finally {
    for (const process of processes) process.child.kill('SIGKILL');
    await rm(counterDir, { recursive: true, force: true });
    await rm(`${counterDir}.killed`, { force: true });
  }
}
