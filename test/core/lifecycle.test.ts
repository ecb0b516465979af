/** Closing leaves nothing running; a live run's snapshot is plain JSON and restores. */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, SimulatedClock } from 'xstate';
import { createRuntime, type Runtime, type TaskDefinitionInput } from '../../src/index.js';
import type { WorkflowContext } from '../../src/machines/workflow/context.js';
import { createWorkflowMachine } from '../../src/machines/workflow/workflow.machine.js';
import { agent, flush, Gates } from './helpers.js';

const projectRoot = fileURLToPath(new URL('../..', import.meta.url));

let rt: Runtime | undefined;
afterEach(async () => {
  await rt?.close();
  rt = undefined;
});

interface ExitReport {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Milliseconds from "closed" on stdout to the process exit. */
  exitAfterClosedMs: number | undefined;
}

/** Runs the fixture; kills it (and so fails the test) if it lingers 5 s after printing "closed". */
function runExitFixture(dataDir: string): Promise<ExitReport> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--conditions=development', '--import', 'tsx', 'test/fixtures/runtime-exit.ts', dataDir],
      { cwd: projectRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    let closedAt: number | undefined;
    let lingering: NodeJS.Timeout | undefined;
    // Guards the whole run too, in case it never gets as far as "closed".
    const overall = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (closedAt === undefined && stdout.includes('closed')) {
        closedAt = Date.now();
        lingering = setTimeout(() => child.kill('SIGKILL'), 5_000);
      }
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(overall);
      clearTimeout(lingering);
      resolve({
        code,
        signal,
        stdout,
        stderr,
        exitAfterClosedMs: closedAt === undefined ? undefined : Date.now() - closedAt,
      });
    });
  });
}

describe('close', () => {
  it('leaves no timers or handles: a process with a LevelDB runtime exits by itself after close()', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'troupe-exit-'));
    try {
      const report = await runExitFixture(dataDir);
      expect(report.stderr).toBe('');
      expect(report.stdout.trim().split('\n')).toEqual(['rejected RUNTIME_CLOSED', 'closed']);
      expect(report.signal).toBeNull();
      expect(report.code).toBe(0);
      expect(report.exitAfterClosedMs).toBeLessThan(5_000);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it('rejects the pending result of a live run with RUNTIME_CLOSED and aborts its tasks', async () => {
    const gates = new Gates();
    let signal: AbortSignal | undefined;
    rt = await createRuntime({
      dataDir: false,
      agents: [
        agent('hold', (_task, ctx) => {
          signal = ctx.signal;
          return gates.wait('hold');
        }),
      ],
    });
    const handle = await rt.engine.start({ name: 'open', tasks: [{ id: 'x', agent: 'hold' }] });
    await gates.arrived('hold');
    await rt.close();
    await expect(handle.result).rejects.toMatchObject({ code: 'RUNTIME_CLOSED' });
    expect(signal!.aborted).toBe(true);
    await expect(rt.engine.execute({ name: 'late', tasks: [] })).rejects.toThrow();
  });
});

describe('persisted snapshot of a live run', () => {
  it('is plain JSON mid-run: stringify -> parse gives an equal snapshot that restores', async () => {
    const clock = new SimulatedClock();
    clock.set(1_000);
    const gates = new Gates();
    rt = await createRuntime({
      dataDir: false,
      clock,
      agents: [
        agent('step', async (task, ctx) => {
          if (task.id === 'a') {
            ctx.updateShared({ schema: { fields: ['title'], nested: { deep: [1, null, 'x'] } } });
            ctx.addTasks([{ id: 'added', agent: 'step', dependsOn: ['held'] }]);
          }
          if (task.id === 'flaky' && ctx.attempt === 1) throw new Error('transient');
          if (task.id === 'held') return gates.wait('held');
          return { id: task.id, at: clock.now() };
        }),
      ],
    });
    const tasks: TaskDefinitionInput[] = [
      { id: 'a', agent: 'step' },
      {
        id: 'skipped',
        agent: 'step',
        dependsOn: ['a'],
        condition: { task: 'a', path: 'output.id', equals: 'nope' },
      },
      { id: 'held', agent: 'step', dependsOn: ['a'], timeoutMs: 60_000 },
      {
        id: 'flaky',
        agent: 'step',
        dependsOn: ['a'],
        retry: { maxAttempts: 2, initialDelayMs: 10_000, jitter: 0 },
      },
      { id: 'last', agent: 'step', dependsOn: ['held', 'flaky'] },
    ];
    const handle = await rt.engine.start(
      { name: 'snapshot', tasks },
      { workflowId: 'wf-snap', context: { project: 'p' } },
    );
    await gates.arrived('held');
    await flush();

    const ref = rt.actor.system.get('workflow:wf-snap')!;
    const persisted = ref.getPersistedSnapshot() as { value: string; context: WorkflowContext };
    const text = JSON.stringify(persisted);
    const parsed = JSON.parse(text);
    expect(parsed).toEqual(persisted);
    // Every kind of task state is in there.
    expect(parsed.value).toBe('running');
    const runs = parsed.context.runs as WorkflowContext['runs'];
    expect(runs.a!.status).toBe('completed');
    expect(runs.skipped!.status).toBe('skipped');
    expect(runs.held!.status).toBe('running');
    expect(runs.flaky).toMatchObject({ status: 'retrying', retryAt: 11_000 });
    expect(runs.added!.status).toBe('pending');
    expect(runs.last).toMatchObject({ status: 'pending', waitingOn: 2 });
    expect(parsed.context.shared).toEqual({
      project: 'p',
      schema: { fields: ['title'], nested: { deep: [1, null, 'x'] } },
    });
    // The whole runtime persists too (agents, executors, orchestrator, queue,
    // this run). The queue keeps its jobs in a Map that serialises itself, so
    // compare the JSON text: a round trip must not change it.
    const rootText = JSON.stringify(rt.actor.getPersistedSnapshot());
    expect(JSON.stringify(JSON.parse(rootText))).toBe(rootText);

    // Restore the parsed snapshot into a fresh actor of the same machine.
    const machine = createWorkflowMachine({ guards: new Map(), roles: () => new Set(['step']) });
    // `input` is required by the types and ignored when restoring a snapshot.
    const input = { workflowId: 'wf-snap', definition: parsed.context.definition };
    const restored = createActor(machine, { snapshot: parsed, input });
    expect(restored.getSnapshot().value).toBe('running');
    expect(restored.getSnapshot().context).toEqual(parsed.context);
    expect(JSON.parse(JSON.stringify(restored.getPersistedSnapshot()))).toEqual(parsed);
    // It is live: a report for the held task is applied to the restored state.
    restored.start();
    restored.send({
      type: 'task.completed',
      workflowId: 'wf-snap',
      taskId: 'held',
      attempt: 1,
      at: 2_000,
      output: 'from the restored run',
    });
    const after = restored.getSnapshot().context;
    expect(after.runs.held).toMatchObject({ status: 'completed', output: 'from the restored run' });
    expect(after.runs.last!.waitingOn).toBe(1);
    restored.stop();

    // The original run is unaffected and finishes.
    gates.open('held', 'held done');
    clock.increment(10_000);
    const result = await handle.result;
    expect(result.status).toBe('completed');
    expect(Object.keys(result.tasks)).toEqual([...tasks.map((task) => task.id), 'added']);
    expect(result.tasks.flaky).toMatchObject({ status: 'completed', attempts: 2 });
  });
});
