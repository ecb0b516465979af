/**
 * The workers campaign: many randomised trials of "two owners and two
 * workers on one PostgreSQL database, SIGKILL a random choice of the owner A
 * and the workers mid-run, the survivors finish" (see
 * test/support/workers-trial.ts for what each checks). Starts its own
 * private cluster unless TROUPE_TEST_DATABASE_URL is set.
 *
 *   npx tsx scripts/workers-campaign.ts [trials=50] [firstSeed=1]
 */

import { createDatabase, startPostgresCluster } from '../src/testing/index.js';
import { bundleFixture } from '../test/durability/processes.js';
import { runWorkersTrial } from '../test/support/workers-trial.js';

const trials = Number(process.argv[2] ?? 50);
const firstSeed = Number(process.argv[3] ?? 1);
const cluster = process.env.TROUPE_TEST_DATABASE_URL ? undefined : await startPostgresCluster();
const server = process.env.TROUPE_TEST_DATABASE_URL ?? cluster!.connectionString;
const owner = await bundleFixture('pg-owner');
const worker = await bundleFixture('pg-worker');
let failed = 0;
let completed = 0;
let reruns = 0;
let journaled = 0;
const kills = new Map<string, number>();
const finish: number[] = [];
try {
  for (let seed = firstSeed; seed < firstSeed + trials; seed++) {
    const url = await createDatabase(server, 'workers');
    // Varied shapes: 2-4 runs per owner, 3-8 tasks per run.
    const report = await runWorkersTrial({
      url,
      ownerFixture: owner.file,
      workerFixture: worker.file,
      seed,
      runsPerProcess: 2 + (seed % 3),
      tasks: 3 + (seed % 6),
    });
    completed += report.completedTasks;
    reruns += report.rerunAfterWorkerKill;
    journaled += report.journaledBeforeKill;
    const killed = report.killed.join('+');
    kills.set(killed, (kills.get(killed) ?? 0) + 1);
    finish.push(report.finishMs);
    if (report.violations.length > 0) failed++;
    console.log(
      `trial ${seed}: ${report.violations.length === 0 ? 'ok' : 'FAILED'}, killed ${killed} after ${report.journaledBeforeKill} journaled completions of A, ${report.completedTasks} tasks completed once, ${report.rerunAfterWorkerKill} re-run after their worker died, finished ${report.finishMs} ms after the kill${report.violations.map((v) => `\n  ${v}`).join('')}`,
    );
  }
} finally {
  await owner.remove();
  await worker.remove();
  await cluster?.stop();
}
finish.sort((a, b) => a - b);
console.log(
  `\n${trials} trials, ${trials - failed} passed, ${failed} failed; kills: ${[...kills].map(([who, n]) => `${who} ${n}`).join(', ')}; ${completed} task completions, each once in its run's result; ${journaled} journaled completions before kills, none re-run if passed; ${reruns} tasks re-run with the same key because their worker was killed; finish after kill: median ${finish[Math.floor(finish.length / 2)]} ms, max ${finish.at(-1)} ms (claim and run leases 1.5 s, polls 0.3 s)`,
);
process.exit(failed === 0 ? 0 : 1);
