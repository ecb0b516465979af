/**
 * Two troupe processes on one PostgreSQL database: each starts runs; one is
 * killed (SIGKILL) in the middle of its runs, and the other takes them over
 * and finishes them. Starts its own private PostgreSQL cluster in a temp
 * folder (Debian's `postgresql` package; nothing to configure), so it runs
 * offline, and exits by itself.
 *
 *   npx tsx examples/postgres.ts
 *
 * With `TROUPE_DATABASE_URL` set, it uses that database instead.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRuntime, defineAgent } from '../src/index.js';
import { startPostgresCluster } from '../src/testing/index.js';

const RUNS_PER_PROCESS = 3;

if (process.argv[2] === 'process') {
  await runProcess(process.argv[3]!, process.argv[4]!);
} else {
  await main();
}

/** One troupe process: starts its runs, then works until every run of both has ended. */
async function runProcess(url: string, name: string): Promise<void> {
  const rt = await createRuntime({
    store: { postgres: { connectionString: url } },
    // Short leases so the example is quick; the defaults take over within 6 s.
    ownership: { leaseMs: 2_000, heartbeatMs: 400, sweepMs: 400 },
    agents: [
      defineAgent({
        role: 'worker',
        run: async (task, ctx) => {
          await new Promise((resolve) => setTimeout(resolve, 150));
          return { step: task.id, by: name, key: ctx.idempotencyKey };
        },
      }),
    ],
  });
  rt.engine.on('workflow.completed', (event) => say({ completed: event.workflowId, by: name }));
  for (let i = 1; i <= RUNS_PER_PROCESS; i++) {
    await rt.engine.start(
      {
        name: 'pipeline',
        tasks: ['fetch', 'parse', 'enrich', 'store', 'report'].map((id, n, all) => ({
          id,
          agent: 'worker',
          dependsOn: n === 0 ? [] : [all[n - 1]!],
        })),
      },
      { workflowId: `${name}-run-${i}` },
    );
  }
  say({ started: name });
  // Work (and take over) until all runs of both processes have a result.
  while (true) {
    const runs = await rt.engine.list();
    if (runs.length === 2 * RUNS_PER_PROCESS && runs.every((run) => run.result)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  say({ done: name });
  await rt.close();
}

async function main(): Promise<void> {
  const cluster = process.env.TROUPE_DATABASE_URL ? undefined : await startPostgresCluster();
  const url = process.env.TROUPE_DATABASE_URL ?? (await cluster!.createDatabase('example'));
  const self = fileURLToPath(import.meta.url);
  const start = (name: string) =>
    // tsx resolved from here, so the example runs from any working folder.
    spawn(process.execPath, ['--import', import.meta.resolve('tsx'), self, 'process', url, name], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
  const lines = (
    child: ChildProcess,
    name: string,
    onLine: (line: Record<string, unknown>) => void,
  ) =>
    createInterface({ input: child.stdout! }).on('line', (line) => {
      console.log(`[${name}] ${line}`);
      onLine(JSON.parse(line) as Record<string, unknown>);
    });
  try {
    const a = start('a');
    const b = start('b');
    // Kill `a` once it completed its first run: its other runs are mid-way.
    lines(a, 'a', (line) => {
      if (line.completed) a.kill('SIGKILL');
    });
    const bDone = new Promise<void>((resolve) => lines(b, 'b', (line) => line.done && resolve()));
    const killedAt = await new Promise<number>((resolve) =>
      a.on('exit', () => resolve(Date.now())),
    );
    console.log('process a was killed (SIGKILL); b takes its runs over when their leases expire');
    await bDone;
    console.log(
      `b finished every run ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`,
    );
    await new Promise((resolve) => b.on('exit', resolve));
  } finally {
    await cluster?.stop();
  }
}

function say(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
