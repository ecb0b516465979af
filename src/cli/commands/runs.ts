import { TroupeError } from '../../errors.js';
import type { RunRecord } from '../../schemas/run-record.js';
import { workflowKey } from '../../store/keys.js';
import type { Store } from '../../store/store.js';
import type { CliIo } from '../cli-io.js';
import { formatDuration, table } from '../format.js';
import { summaryTable } from '../progress-view.js';

/** `troupe list`: the runs stored in the data folder, newest first. */
export async function listCommand(
  args: { json: boolean },
  store: Store,
  io: CliIo,
): Promise<number> {
  const records: RunRecord[] = [];
  for await (const [, record] of store.range<RunRecord>('workflows')) records.push(record);
  records.sort((a, b) => b.createdAt - a.createdAt);
  if (args.json) {
    io.out.write(
      `${JSON.stringify(
        records.map(({ result: _result, definition: _d, ...summary }) => summary),
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  if (records.length === 0) {
    io.out.write('No runs stored yet. Try: troupe demo\n');
    return 0;
  }
  const rows = records.map((r) => [
    r.workflowId,
    r.definition.name,
    r.status,
    String(r.definition.tasks.length),
    r.result ? formatDuration(r.result.totalExecutionTime) : '-',
    new Date(r.createdAt).toISOString().replace('T', ' ').slice(0, 19),
  ]);
  io.out.write(`${table(['run', 'workflow', 'status', 'tasks', 'time', 'started'], rows)}\n`);
  return 0;
}

/** `troupe show <id>`: one stored run, task by task. */
export async function showCommand(
  args: { runId: string; json: boolean },
  store: Store,
  io: CliIo,
): Promise<number> {
  const record = await store.get<RunRecord>('workflows', workflowKey(args.runId));
  if (!record) {
    throw new TroupeError(
      'WORKFLOW_NOT_FOUND',
      `No run "${args.runId}" in this data folder; \`troupe list\` shows the stored runs.`,
      { workflowId: args.runId },
    );
  }
  if (args.json) {
    io.out.write(`${JSON.stringify(record, null, 2)}\n`);
    return 0;
  }
  io.out.write(`${record.definition.name} — ${record.status} — run ${record.workflowId}\n\n`);
  if (record.result) io.out.write(`${summaryTable(record.result)}\n`);
  else
    io.out.write(
      `${table(
        ['task', 'agent', 'after'],
        record.definition.tasks.map((t) => [t.id, t.agent, t.dependsOn.join(', ') || '-']),
      )}\n`,
    );
  return 0;
}
