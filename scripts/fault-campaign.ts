/**
 * Fault campaign: many workflows over a LevelDB store that fails writes
 * (ENOSPC, EIO, EROFS; failed outright, or written with the acknowledgment
 * lost), each round reopened without faults and checked against counters
 * kept outside the runtime:
 *
 * - every acknowledged completion (a `flushed()` that resolved after a task
 *   completed, a run result that resolved) survives the reopen;
 * - no run whose write failed outright is stored as done;
 * - no task whose completion was acknowledged runs again on resume;
 * - every run resumes to an end (no STORE_CORRUPT: the faults keep the
 *   Store contract, so the journal must have no hole).
 *
 * `npx tsx scripts/fault-campaign.ts [rounds] [workflowsPerRound] [seed]`
 * prints the counts as JSON; a small campaign runs in `npm test`
 * (test/durability/fault-campaign.test.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  createRuntime,
  defineAgent,
  LevelStore,
  type Runtime,
  type Store,
  type WorkflowResult,
} from '../src/index.js';
import {
  FaultyStore,
  type StoreFault,
  type StoreFaultCode,
  type StoreFaultMode,
} from '../src/testing/index.js';

export interface CampaignOptions {
  /** @default 20 */
  rounds?: number;
  /** @default 8 */
  workflowsPerRound?: number;
  /** Seed of the fault schedule and workflow shapes. @default 1 */
  seed?: number;
}

export interface CampaignReport {
  rounds: number;
  runs: number;
  injectedFaults: number;
  /** Task completions whose `flushed()` resolved. */
  acknowledgedCompletions: number;
  /** Runs whose result resolved. */
  acknowledgedRuns: number;
  /** Runs whose result rejected with STORE_WRITE_FAILED. */
  rejectedRuns: number;
  /** Runs finished after the reopen. */
  resumedRuns: number;
  /** Must be 0: acknowledged completions or results missing after the reopen. */
  acknowledgedWritesLost: number;
  /** Must be 0: runs whose write failed outright but were stored as done. */
  unacknowledgedReportedDone: number;
  /** Must be 0: tasks whose completion was acknowledged and that ran again. */
  journaledTasksRerun: number;
  /** Must be 0: runs that could not be resumed after the reopen. */
  unrecoverableRuns: number;
}

/** A small deterministic PRNG (mulberry32). */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const CODES: readonly StoreFaultCode[] = ['ENOSPC', 'EIO', 'EROFS'];
const MODES: readonly StoreFaultMode[] = ['reject', 'applied'];

/** Chains and diamonds of 2-6 tasks. */
function shape(rand: () => number, name: string) {
  const size = 2 + Math.floor(rand() * 5);
  const diamond = rand() < 0.5 && size >= 4;
  return {
    name,
    tasks: Array.from({ length: size }, (_, i) => ({
      id: `t${i}`,
      agent: 'worker',
      dependsOn:
        i === 0
          ? []
          : diamond && i < size - 1
            ? ['t0']
            : diamond
              ? Array.from({ length: size - 2 }, (_, j) => `t${j + 1}`)
              : [`t${i - 1}`],
    })),
  };
}

export async function runFaultCampaign(options: CampaignOptions = {}): Promise<CampaignReport> {
  const rounds = options.rounds ?? 20;
  const perRound = options.workflowsPerRound ?? 8;
  const rand = random(options.seed ?? 1);
  const report: CampaignReport = {
    rounds,
    runs: 0,
    injectedFaults: 0,
    acknowledgedCompletions: 0,
    acknowledgedRuns: 0,
    rejectedRuns: 0,
    resumedRuns: 0,
    acknowledgedWritesLost: 0,
    unacknowledgedReportedDone: 0,
    journaledTasksRerun: 0,
    unrecoverableRuns: 0,
  };
  // Kept here, outside every runtime: `workflowId:taskId` -> executions.
  const executions = new Map<string, number>();
  const worker = defineAgent({
    role: 'worker',
    concurrency: 4,
    run: async (_task, ctx) => {
      executions.set(ctx.idempotencyKey, (executions.get(ctx.idempotencyKey) ?? 0) + 1);
      // Spread completions over several group-commit batches.
      await new Promise((resolve) => setImmediate(resolve));
      return { key: ctx.idempotencyKey };
    },
  });
  const open = (store: Store): Promise<Runtime> =>
    createRuntime({ store, agents: [worker], onError: () => undefined });

  for (let round = 0; round < rounds; round++) {
    const dir = await mkdtemp(join(tmpdir(), 'troupe-campaign-'));
    try {
      const faulty = new FaultyStore(await LevelStore.open(dir));
      const fault: StoreFault = {
        after: Math.floor(rand() * 20),
        count: rand() < 0.2 ? Number.POSITIVE_INFINITY : 1 + Math.floor(rand() * 4),
        code: CODES[Math.floor(rand() * CODES.length)]!,
        mode: MODES[Math.floor(rand() * MODES.length)]!,
      };
      faulty.inject(fault);
      const rt = await open(faulty);
      const ackedTasks = new Set<string>();
      const ackedRuns = new Map<string, WorkflowResult>();
      const rejected = new Set<string>();
      rt.engine.on('task.completed', ({ workflowId, taskId }) => {
        rt.engine.flushed().then(
          () => ackedTasks.add(`${workflowId}:${taskId}`),
          () => undefined,
        );
      });
      const settled: Promise<unknown>[] = [];
      for (let i = 0; i < perRound; i++) {
        const workflowId = `wf-${round}-${i}`;
        report.runs++;
        const started = rt.engine
          .start(shape(rand, `campaign-${i}`), { workflowId })
          .then((handle) => handle.result);
        settled.push(
          started.then(
            (result) => ackedRuns.set(workflowId, result),
            () => rejected.add(workflowId),
          ),
        );
      }
      await Promise.all(settled);
      await rt.engine.flushed().catch(() => undefined);
      await rt.close();
      report.injectedFaults += faulty.faults;
      report.acknowledgedCompletions += ackedTasks.size;
      report.acknowledgedRuns += ackedRuns.size;
      report.rejectedRuns += rejected.size;

      const next = await open(await LevelStore.open(dir));
      try {
        const before = new Map(executions);
        const stored = new Map((await next.engine.list()).map((r) => [r.workflowId, r]));
        for (const [workflowId, result] of ackedRuns) {
          if (stored.get(workflowId)?.result?.status !== result.status)
            report.acknowledgedWritesLost++;
        }
        if (fault.mode === 'reject') {
          for (const workflowId of rejected) {
            if (stored.get(workflowId)?.result) report.unacknowledgedReportedDone++;
          }
        }
        const finals = new Map<string, WorkflowResult>();
        for (const record of await next.engine.interrupted()) {
          try {
            const result = await next.engine.resumeFromCheckpoint(record.workflowId);
            if (result) finals.set(record.workflowId, result);
            report.resumedRuns++;
          } catch {
            report.unrecoverableRuns++;
          }
        }
        for (const key of ackedTasks) {
          const [workflowId, taskId] = key.split(':') as [string, string];
          if ((executions.get(key) ?? 0) !== (before.get(key) ?? 0)) report.journaledTasksRerun++;
          const result = finals.get(workflowId) ?? stored.get(workflowId)?.result;
          if (result?.tasks[taskId]?.status !== 'completed') report.acknowledgedWritesLost++;
        }
      } finally {
        await next.close();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  return report;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const [rounds, perRound, seed] = process.argv.slice(2).map(Number);
  const report = await runFaultCampaign({
    ...(rounds ? { rounds } : {}),
    ...(perRound ? { workflowsPerRound: perRound } : {}),
    ...(seed ? { seed } : {}),
  });
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  const broken =
    report.acknowledgedWritesLost +
    report.unacknowledgedReportedDone +
    report.journaledTasksRerun +
    report.unrecoverableRuns;
  process.exitCode = broken === 0 ? 0 : 1;
}
