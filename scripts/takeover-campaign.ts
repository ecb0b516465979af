/**
 * The takeover campaign: many randomised trials of "two processes on one
 * PostgreSQL database, SIGKILL one mid-run, the other takes over and
 * finishes" (see test/support/takeover-trial.ts for what each checks).
 * Starts its own private cluster unless TROUPE_TEST_DATABASE_URL is set.
 *
 *   npx tsx scripts/takeover-campaign.ts [trials=50] [firstSeed=1]
 */

import { createDatabase, startPostgresCluster } from '../src/testing/index.js';
import { bundleFixture } from '../test/durability/processes.js';
import { runTakeoverTrial } from '../test/support/takeover-trial.js';

const trials = Number(process.argv[2] ?? 50);
const firstSeed = Number(process.argv[3] ?? 1);
const cluster = process.env.TROUPE_TEST_DATABASE_URL ? undefined : await startPostgresCluster();
const server = process.env.TROUPE_TEST_DATABASE_URL ?? cluster!.connectionString;
const fixture = await bundleFixture('pg-owner');
let failed = 0;
let reruns = 0;
let journaled = 0;
const finish: number[] = [];
try {
  for (let seed = firstSeed; seed < firstSeed + trials; seed++) {
    const url = await createDatabase(server, 'campaign');
    // Varied shapes: 2-4 runs per process, 3-8 tasks per run.
    const report = await runTakeoverTrial({
      url,
      fixture: fixture.file,
      seed,
      runsPerProcess: 2 + (seed % 3),
      tasks: 3 + (seed % 6),
    });
    reruns += report.rerunInFlight;
    journaled += report.journaledBeforeKill;
    finish.push(report.finishMs);
    if (report.violations.length > 0) failed++;
    console.log(
      `trial ${seed}: ${report.violations.length === 0 ? 'ok' : 'FAILED'}, ${report.journaledBeforeKill} completions journaled before the kill, ${report.rerunInFlight} in-flight tasks re-run, finished ${report.finishMs} ms after the kill${report.violations.map((v) => `\n  ${v}`).join('')}`,
    );
  }
} finally {
  await fixture.remove();
  await cluster?.stop();
}
finish.sort((a, b) => a - b);
console.log(
  `\n${trials} trials, ${trials - failed} passed, ${failed} failed; ${journaled} journaled completions before kills, none re-run if passed; ${reruns} in-flight tasks re-run with the same key; finish after kill: median ${finish[Math.floor(finish.length / 2)]} ms, max ${finish.at(-1)} ms (lease 1.5 s, sweep 0.3 s)`,
);
process.exit(failed === 0 ? 0 : 1);
