/** `troupe show <runId>`: one stored run, task by task. */
import type { Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { table } from '../format.js';
import { failedAttemptsTable, summaryTable } from '../progress-view.js';
import { shownStatus, storedRun, withStore } from '../store-access.js';

export const show: Command = {
  name: 'show',
  summary: 'show one stored run',
  args: '<runId>',
  positionals: { min: 1, max: 1 },
  options: {},
  description:
    'One stored run, task by task, with the attempts that failed and were retried and why the run stopped (see `troupe list` for the ids).',
  examples: [],
  async run({ positionals }, ctx) {
    const runId = positionals[0]!;
    const record = await withStore(
      ctx,
      (store) => storedRun(store, runId, ctx),
      "stop it to read the run here, or see it in that process's inspector",
    );
    if (ctx.json) {
      ctx.io.out.write(`${JSON.stringify(record, null, 2)}\n`);
      return EXIT.ok;
    }
    ctx.io.out.write(
      `${record.definition.name} — ${shownStatus(record)} — run ${record.workflowId}\n\n`,
    );
    if (record.result) {
      ctx.io.out.write(`${summaryTable(record.result)}\n`);
      const failed = failedAttemptsTable(record.result);
      if (failed) ctx.io.out.write(`\nFailed attempts, retried:\n${failed}\n`);
      if (record.result.stopReason) ctx.io.out.write(`\nStopped: ${record.result.stopReason}\n`);
    } else {
      ctx.io.out.write(
        `${table(
          ['task', 'agent', 'after'],
          record.definition.tasks.map((t) => [t.id, t.agent, t.dependsOn.join(', ') || '-']),
        )}\n`,
      );
    }
    return EXIT.ok;
  },
};
