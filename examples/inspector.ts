/**
 * The live inspector: a runtime with the inspector on (controls enabled),
 * three agents that take their time and report progress, and a release
 * workflow started every few seconds, one task of which fails once and is
 * retried. Open the printed address, watch the DAG fill in, pause and resume
 * a run, open a finished run from "Stored runs".
 *
 * By itself it runs one release and exits; with `--watch` it starts another
 * every 8 seconds until Ctrl-C.
 *
 *   npx tsx examples/inspector.ts --watch              (port 7420)
 *   INSPECTOR_PORT=0 npx tsx examples/inspector.ts     (any free port)
 */
import { createRuntime, defineAgent } from '../src/index.js';

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });

/** An agent whose tasks take `ms` in `steps` steps, reporting progress after each. */
function worker(role: string, ms: number) {
  return defineAgent({
    role,
    concurrency: 2,
    run: async (task, ctx) => {
      const steps = 5;
      for (let i = 1; i <= steps; i++) {
        await sleep(ms / steps, ctx.signal);
        ctx.progress(i / steps, `step ${i} of ${steps}`);
      }
      if (task.id === 'test' && ctx.attempt === 1) throw new Error('flaky test suite, try again');
      ctx.updateShared({ [`${task.id}By`]: role });
      return { by: role, task: task.id, summary: `${task.description} — done` };
    },
  });
}

const rt = await createRuntime({
  dataDir: false,
  inspector: { port: Number(process.env.INSPECTOR_PORT ?? 7420), controls: true },
  agents: [worker('planner', 1_500), worker('builder', 3_000), worker('reviewer', 2_000)],
});
process.stdout.write(`Inspector: ${rt.inspector?.url}\n`);

let n = 0;
const release = () =>
  rt.engine.start(
    {
      name: 'release',
      tasks: [
        { id: 'plan', agent: 'planner', description: 'Plan the release' },
        { id: 'build', agent: 'builder', description: 'Build the packages', dependsOn: ['plan'] },
        {
          id: 'docs',
          agent: 'builder',
          description: 'Write the <release notes>',
          dependsOn: ['plan'],
        },
        {
          id: 'test',
          agent: 'reviewer',
          description: 'Run the test suite',
          dependsOn: ['build'],
          retry: { maxAttempts: 2, initialDelayMs: 500 },
        },
        {
          id: 'review',
          agent: 'reviewer',
          description: 'Review everything',
          dependsOn: ['test', 'docs'],
        },
      ],
    },
    { workflowId: `release-${++n}`, context: { version: `1.${n}.0` } },
  );

const first = await release();
if (process.argv.includes('--watch')) {
  const timer = setInterval(() => void release(), 8_000);
  process.stdout.write('Ctrl-C to stop.\n');
  process.once('SIGINT', () => {
    clearInterval(timer);
    void rt.close();
  });
} else {
  const result = await first.result;
  process.stdout.write(`${result.workflowId}: ${result.status}\n`);
  await rt.close();
}
