/** `troupe list`: the runs stored in the data folder, newest first. */
import type { RunRecord } from '../../schemas/run-record.js';
import type { Store } from '../../store/store.js';
import { booleanOption, type Command } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { formatDuration, table } from '../format.js';
import { shownStatus, withDatabase, withStore } from '../store-access.js';

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
    'The runs stored in the data folder, newest first: id, workflow, status (a run neither ended\nnor paused is interrupted: `troupe resume <id>` continues it), tasks, time and start.\nWith --database-url (or TROUPE_DATABASE_URL), the runs of every process on that PostgreSQL\ndatabase, each with its owner: the process running it now (`expired` after the owner\nstopped renewing its lease, until another takes it over; `parked` after failed recoveries).',
  examples: ['troupe list', 'troupe list --json', 'troupe list --waiting'],
  async run({ values }, ctx) {
    if (booleanOption(values, 'waiting')) {
      const { listWaiting } = await import('../answer-wait.js');
      return listWaiting(ctx);
    }
    // Loaded here, not at startup: `troupe --help` loads no runtime module.
    const { readRunRecords } = await import('../../runtime/durability/run-records.js');
    const newestFirst = async (store: Store) => {
      const all = await readRunRecords(store);
      all.sort((a, b) => b.createdAt - a.createdAt);
      return all;
    };
    const { databaseUrl } = ctx;
    let owners: ((record: RunRecord) => string) | undefined;
    const records = databaseUrl
      ? await withDatabase(databaseUrl, async (store) => {
          const { ownerLabel } = await import('../../runtime/ownership/owner-label.js');
          const leases = await store.leases.all();
          const now = Date.now();
          owners = (record) =>
            ownerLabel(leases.get(record.workflowId), record.result !== undefined, now);
          return newestFirst(store);
        })
      : await withStore(
          ctx,
          newestFirst,
          "stop it to list here, or see its runs in that process's inspector",
        );
    const summary = (record: RunRecord) => ({
      ...summarise(record),
      ...(owners ? { owner: owners(record) } : {}),
    });
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
        ...(s.owner === undefined ? [] : [s.owner]),
      ];
    });
    for (const { workflowId } of corrupt) {
      rows.push([workflowId, '?', 'corrupt', '-', '-', '-', ...(owners ? ['-'] : [])]);
    }
    const headers = ['run', 'workflow', 'status', 'tasks', 'time', 'started'];
    ctx.io.out.write(`${table(owners ? [...headers, 'owner'] : headers, rows)}\n`);
    return EXIT.ok;
  },
};

/** One row of `list`, the same fields in the table and in `--json`. */
function summarise(record: RunRecord) {
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
