/**
 * Recovery: replay of a 10,000-task journal with and without a shared-context
 * key per task, and a 10,000-task run resumed after SIGKILL, from process
 * start to its result, split into module load, store open, checkpoint load,
 * replay, restore and dispatch.
 *
 * The processes run this file bundled (see `bundleBench`), so module load is
 * what loading the built package costs, not the TypeScript compiler of tsx.
 *
 *   npx tsx --conditions=development bench/recovery.ts
 */
import { spawn } from 'node:child_process';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRuntime, defineAgent } from '../src/index.js';
import { createWorkflowMachine } from '../src/machines/workflow/workflow.machine.js';
import {
  loadCheckpoint,
  readRunRecord,
  replayJournal,
} from '../src/runtime/durability/recovery.js';
import { bundleBench, chain, median, printTable, reportRatio } from './harness.js';

const TASKS = 10_000;
const WORKFLOW_ID = 'recovery-bench';

/**
 * Runs a `TASKS`-task chain whose last task never ends, prints `ready` once
 * everything before it is written, and waits to be killed.
 */
async function writeRun(dir: string, sharedKeys: boolean, checkpoints: boolean): Promise<void> {
  const rt = await createRuntime({ dataDir: dir });
  let lastStarted!: () => void;
  const started = new Promise<void>((resolve) => {
    lastStarted = resolve;
  });
  rt.registerAgent(
    defineAgent({
      role: 'noop',
      run: async (task, ctx) => {
        if (task.id === `t${TASKS - 1}`) {
          lastStarted();
          await new Promise(() => undefined);
        }
        if (sharedKeys) ctx.updateShared({ [`key-${task.id}`]: task.id });
        return { ok: true };
      },
    }),
  );
  await rt.engine.start(
    { name: 'recovery-bench', tasks: chain(TASKS) },
    // Without checkpoints the whole journal is replayed.
    { workflowId: WORKFLOW_ID, ...(checkpoints ? {} : { checkpointInterval: TASKS * 10 }) },
  );
  await started;
  await rt.engine.flushed();
  process.stdout.write('ready\n');
}

const since = (from: number) => performance.now() - from;

/** Resumes the run; prints the phases in ms as JSON. `split`: time checkpoint load and replay on their own first. */
async function resumeRun(dir: string, split: boolean): Promise<void> {
  // Measured from process start: node's own start and every static import.
  const moduleLoad = performance.now();
  let at = performance.now();
  const rt = await createRuntime({ dataDir: dir });
  rt.registerAgent(defineAgent({ role: 'noop', run: async () => ({ ok: true }) }));
  const storeOpen = since(at);
  const phases: Record<string, number> = { moduleLoad, storeOpen };
  if (split) {
    const logic = createWorkflowMachine({ guards: new Map(), roles: () => new Set(['noop']) });
    const record = (await readRunRecord(rt.store, WORKFLOW_ID))!;
    at = performance.now();
    const loaded = await loadCheckpoint(rt.store, logic, record);
    phases.checkpointLoad = since(at);
    at = performance.now();
    const replayed = await replayJournal(rt.store, logic, WORKFLOW_ID, loaded);
    phases.replay = since(at);
    phases.replayedEntries = replayed.seq - loaded.seq;
  }
  at = performance.now();
  const handle = await rt.engine.recover(WORKFLOW_ID);
  phases.recover = since(at);
  at = performance.now();
  const result = await handle!.result;
  phases.dispatchAndFinish = since(at);
  if (!result.success) throw new Error(`resumed run failed: ${result.error?.message}`);
  phases.total = performance.now();
  // CPU time of the whole process (LevelDB's threads included) up to the
  // result: on a loaded machine the wall time is mostly waiting for a core.
  const cpu = process.cpuUsage();
  phases.cpu = (cpu.user + cpu.system) / 1000;
  await rt.close();
  process.stdout.write(`${JSON.stringify(phases)}\n`);
}

function runChild(args: string[], opts: { untilReady?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (opts.untilReady && out.includes('ready')) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (code === 0 || (opts.untilReady && signal === 'SIGKILL')) resolve(out.trim());
      else reject(new Error(`${args.join(' ')} exited with ${code ?? signal}`));
    });
  });
}

async function main(): Promise<void> {
  const self = fileURLToPath(import.meta.url);
  // Run through tsx (not bundled yet), the children run the bundle.
  const bundled = self.endsWith('.mjs') ? self : await bundleBench(self);
  const written = async (sharedKeys: boolean, checkpoints: boolean) => {
    const dir = await mkdtemp(path.join(tmpdir(), 'troupe-recovery-'));
    await runChild([bundled, 'write', dir, String(sharedKeys), String(checkpoints)], {
      untilReady: true,
    });
    return dir;
  };
  const resume = async (dir: string, split: boolean) => {
    // A copy per resume: resuming finishes the run.
    const copy = await mkdtemp(path.join(tmpdir(), 'troupe-recovery-'));
    await cp(dir, copy, { recursive: true });
    const out = await runChild([bundled, 'resume', copy, String(split)]);
    await rm(copy, { recursive: true, force: true });
    return JSON.parse(out.split('\n').at(-1)!) as Record<string, number>;
  };

  // Replay of the whole journal, with and without a shared key per task, alternating.
  const plainDir = await written(false, false);
  const keyedDir = await written(true, false);
  const plain: number[] = [];
  const keyed: number[] = [];
  let entries = 0;
  for (let i = 0; i < 3; i++) {
    const plainPhases = await resume(plainDir, true);
    entries = plainPhases.replayedEntries!;
    plain.push(plainPhases.replay!);
    keyed.push((await resume(keyedDir, true)).replay!);
  }
  const plainMs = median(plain);
  const keyedMs = median(keyed);
  reportRatio('recovery.replay-keyed-over-plain', keyedMs / plainMs);
  printTable(
    `Replay of a ${TASKS.toLocaleString('en')}-task journal (${entries.toLocaleString('en')} entries) without checkpoints (median of 3)`,
    ['journal', 'replay ms', 'µs per entry'],
    [
      ['no shared-context keys', plainMs.toFixed(0), ((plainMs * 1000) / entries).toFixed(1)],
      [
        'one shared-context key per task',
        keyedMs.toFixed(0),
        ((keyedMs * 1000) / entries).toFixed(1),
      ],
      ['ratio (goal at most 2x)', `${(keyedMs / plainMs).toFixed(2)}x`, ''],
    ],
  );

  // SIGKILL with 9,999 tasks done, then a fresh process resumes the run.
  const killedDir = await written(false, true);
  const split = await resume(killedDir, true);
  const totals: number[] = [];
  const cpus: number[] = [];
  for (let i = 0; i < 3; i++) {
    const phases = await resume(killedDir, false);
    totals.push(phases.total!);
    cpus.push(phases.cpu!);
  }
  await Promise.all(
    [plainDir, keyedDir, killedDir].map((dir) => rm(dir, { recursive: true, force: true })),
  );
  const ms = (value: number | undefined) => `${(value ?? 0).toFixed(0)} ms`;
  printTable(
    `Resume after SIGKILL: ${TASKS.toLocaleString('en')}-task chain, ${TASKS - 1} done, automatic checkpoints`,
    ['phase', 'time'],
    [
      ['module load (node start + imports of the bundled package)', ms(split.moduleLoad)],
      ['store open (createRuntime, LevelDB)', ms(split.storeOpen)],
      ['checkpoint load (read + parse newest)', ms(split.checkpointLoad)],
      [`replay (${split.replayedEntries} journal entries after it)`, ms(split.replay)],
      ['engine.recover (checkpoint load + replay again, restore, checks)', ms(split.recover)],
      ['dispatch of the last task to the result', ms(split.dispatchAndFinish)],
      ['process start to result, one recovery (median of 3; goal under 1 s)', ms(median(totals))],
      ['... CPU time of that process, all threads (median of 3)', ms(median(cpus))],
      ['load average (1 min) at the end', loadavg()[0]!.toFixed(1)],
    ],
  );
}

const [role, dir, a, b] = process.argv.slice(2);
if (role === 'write') await writeRun(dir!, a === 'true', b === 'true');
else if (role === 'resume') await resumeRun(dir!, a === 'true');
else await main();
