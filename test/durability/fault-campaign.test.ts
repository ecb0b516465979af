/**
 * A small fault campaign (scripts/fault-campaign.ts runs a large one):
 * workflows over a LevelDB store failing writes, reopened and checked
 * against counters kept outside the runtime.
 */
import { expect, it } from 'vitest';
import { runFaultCampaign } from '../../scripts/fault-campaign.js';

it('fault campaign: no acknowledged write lost, nothing unacknowledged reported done, no journaled task re-run', async () => {
  const report = await runFaultCampaign({ rounds: 5, workflowsPerRound: 5, seed: 11 });
  expect(report.injectedFaults).toBeGreaterThan(0);
  expect(report.acknowledgedCompletions).toBeGreaterThan(0);
  expect(report.rejectedRuns).toBeGreaterThan(0);
  expect(report).toMatchObject({
    acknowledgedWritesLost: 0,
    unacknowledgedReportedDone: 0,
    journaledTasksRerun: 0,
    unrecoverableRuns: 0,
  });
}, 60_000);
