/** `troupe list`: the runs stored in the data folder, newest first. */
import type { RunRecord } from '../../schemas/run-record.js';
import { booleanOption, type Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { formatDuration, table } from '../format.js';
import { shownStatus, withStore } from '../store-access.js';

export const list: Command = {
  name: 'list',
  summary: 'list stored runs',
  args: '',
  positionals: { min: 0, max: 0 },
  options: {
    waiting: {
      type: 'boolean',
      description: 'only runs that wait: each wait, what it asks and its deadline',
    },
  },
  description:
    'The runs stored in the data folder, newest first: id, workflow, status (a run neither ended\nnor paused is interrupted: `troupe resume <id>` continues it), tasks, time and start.',
  examples: ['troupe list', 'troupe list --json', 'troupe list --waiting'],
  async run({ values }, ctx) {
    if (booleanOption(values, 'waiting')) {
      const { listWaiting } = await import('../answer-wait.js');
      return listWaiting(ctx);
    }
    const records = await withStore(
      ctx,
      async (store) => {
        // Loaded here, not at startup: `troupe --help` loads no runtime module.
        const { readRunRecords } = await import('../../runtime/durability/run-records.js');
        const all = await readRunRecords(store);
        all.sort((a, b) => b.createdAt - a.createdAt);
        return all;
      },
      "stop it to list here, or see its runs in that process's inspector",
    );
    // A damaged record is listed as `corrupt` and explained; the others are listed as usual.
    const { corrupt } = records;
    if (ctx.json) {
      const damaged = corrupt.map(({ workflowId, reason }) => ({
        workflowId,
        status: 'corrupt',
        reason,
      }));
      ctx.io.out.write(`${JSON.stringify([...records.map(summary), ...damaged], null, 2)}\n`);
      return EXIT.ok;
    }
    for (const { reason } of corrupt) {
      ctx.io.err.write(`troupe list: skipped a corrupt record: ${reason}\n`);
    }
    if (records.length === 0 && corrupt.length === 0) {
      ctx.io.out.write('No runs stored yet. Try: troupe demo\n');
      return EXIT.ok;
    }
    const rows = records.map((r) => {
      const s = summary(r);
      return [
        s.workflowId,
        s.name,
        s.status,
        String(s.tasks),
        s.timeMs === null ? '-' : formatDuration(s.timeMs),
        s.startedAt.replace('T', ' ').slice(0, 19),
      ];
    });
    for (const { workflowId } of corrupt) rows.push([workflowId, '?', 'corrupt', '-', '-', '-']);
    ctx.io.out.write(`${table(['run', 'workflow', 'status', 'tasks', 'time', 'started'], rows)}\n`);
    return EXIT.ok;
  },
};

/** One row of `list`, the same fields in the table and in `--json`. */
function summary(record: RunRecord) {
  return {
    workflowId: record.workflowId,
    name: record.definition.name,
    status: shownStatus(record),
    tasks: record.definition.tasks.length,
    /** Total run time in ms, once the run has ended. */
    timeMs: record.result ? record.result.totalExecutionTime : null,
    startedAt: new Date(record.createdAt).toISOString(),
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    ...(record.forkedFrom ? { forkedFrom: record.forkedFrom } : {}),
  };
}
