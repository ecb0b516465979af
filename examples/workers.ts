/**
 * An owner and two workers on one PostgreSQL database. The owner (this
 * process) runs a workflow whose `embed` tasks only the workers serve: they
 * go to the database, the worker processes claim and run them (the role's
 * limit of 2 holds across both), and their results continue the run in the
 * owner as local completions would. Worker w1 is SIGKILLed in the middle of
 * a task: its claim expires and w2 runs that task again, with the same
 * idempotency key. Starts its own private PostgreSQL cluster in a temp
 * folder (Debian's `postgresql` package), so it runs offline, and exits by
 * itself.
 *
 *   npx tsx examples/workers.ts
 *
 * With `TROUPE_DATABASE_URL` set, it uses that database instead.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { createRuntime, createWorker, defineAgent } from '../src/index.js';
import { startPostgresCluster } from '../src/testing/index.js';

if (process.argv[2] === 'worker') {
  await runWorker(process.argv[3]!, process.argv[4]!);
} else {
  await main();
}

/** A worker process: serves `embed` until SIGTERM. */
async function runWorker(url: string, name: string): Promise<void> {
  const worker = await createWorker({
    store: { postgres: { connectionString: url } },
    workerId: name,
    // One task at a time here; short leases so the example is quick (default 5 s).
    concurrency: 1,
    leaseMs: 1_500,
    heartbeatMs: 300,
    pollMs: 300,
    agents: [
      defineAgent({
        role: 'embed',
        concurrency: 2, // across all workers
        run: async (task, ctx) => {
          say({ started: task.id, on: name, key: ctx.idempotencyKey });
          ctx.progress(0.5, `embedding on ${name}`);
          await new Promise((resolve) => setTimeout(resolve, 400));
          return { chunk: task.input.chunk, vector: [task.id.length, 0.5], by: name };
        },
      }),
    ],
  });
  process.on('SIGTERM', () => void worker.close().then(() => process.exit(0)));
  say({ ready: name });
}

async function main(): Promise<void> {
  const cluster = process.env.TROUPE_DATABASE_URL ? undefined : await startPostgresCluster();
  const url = process.env.TROUPE_DATABASE_URL ?? (await cluster!.createDatabase('workers'));
  const self = fileURLToPath(import.meta.url);
  const workers = new Map<string, ChildProcess>();
  const start = (name: string) =>
    new Promise<void>((ready) => {
      // tsx resolved from here, so the example runs from any working folder.
      const child = spawn(
        process.execPath,
        ['--import', import.meta.resolve('tsx'), self, 'worker', url, name],
        { stdio: ['ignore', 'pipe', 'inherit'] },
      );
      workers.set(name, child);
      let started = 0;
      createInterface({ input: child.stdout! }).on('line', (line) => {
        console.log(`[${name}] ${line}`);
        const said = JSON.parse(line) as { ready?: string; started?: string };
        if (said.ready) ready();
        // Kill w1 in the middle of its second task.
        if (said.started && name === 'w1' && ++started === 2) {
          child.kill('SIGKILL');
          console.log(`w1 killed (SIGKILL) while running ${said.started}`);
        }
      });
    });
  try {
    await Promise.all([start('w1'), start('w2')]);
    // The owner serves `split` and `report` itself; `embed` only the workers serve.
    const rt = await createRuntime({
      store: { postgres: { connectionString: url } },
      agents: [
        defineAgent({ role: 'split', run: () => ({ chunks: 4 }) }),
        defineAgent({
          role: 'report',
          run: (_task, ctx) => Object.values(ctx.dependencies).map((d) => (d as { by: string }).by),
        }),
      ],
    });
    const embeds = ['e1', 'e2', 'e3', 'e4'];
    const result = await rt.orchestrator.executeWorkflow({
      name: 'embed-documents',
      tasks: [
        { id: 'split', agent: 'split' },
        ...embeds.map((id, i) => ({
          id,
          agent: 'embed',
          dependsOn: ['split'],
          input: { chunk: i },
        })),
        { id: 'report', agent: 'report', dependsOn: embeds },
      ],
    });
    console.log(`run ${result.status}; embeds by: ${JSON.stringify(result.tasks.report?.output)}`);
    await rt.close();
  } finally {
    for (const child of workers.values()) child.kill('SIGTERM');
    await Promise.all(
      [...workers.values()].map((child) =>
        child.exitCode !== null || child.signalCode !== null
          ? undefined
          : new Promise((resolve) => child.on('exit', resolve)),
      ),
    );
    await cluster?.stop();
  }
}

function say(line: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}
