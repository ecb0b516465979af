/**
 * Answering a wait from the command line (`troupe signal`, `approve`,
 * `reject`). LevelDB lets one process open a data folder, so this answers runs
 * whose process has exited: the answer is checked against the wait's stored
 * JSON Schema and appended to the run's journal, and the run applies it when
 * it is resumed (`troupe resume <id>`, or the application's `autoResume`).
 * The CLI does not resume the run itself: it does not have the application's
 * agents. On PostgreSQL (`--database-url`) the answer reaches the run where
 * it is live: it is queued for the process that owns the run, which applies it.
 */
import type { CommandContext } from './command.js';
import { EXIT } from './exit-codes.js';
import { openRuntime } from './store-access.js';

export async function answerWait(
  ctx: CommandContext,
  runId: string,
  name: string,
  payload: unknown,
): Promise<number> {
  const rt = await openRuntime(
    ctx,
    "answer through that process instead (engine.signal, or its inspector's answer form)",
  );
  try {
    await rt.engine.signal(runId, name, payload);
  } finally {
    await rt.close();
  }
  if (ctx.json) {
    ctx.io.out.write(`${JSON.stringify({ runId, name, answer: payload, recorded: true })}\n`);
  } else {
    ctx.io.out.write(
      ctx.databaseUrl === undefined
        ? `Answered "${name}" of run ${runId}. The run continues when it is resumed: troupe resume ${runId}, or your application.\n`
        : `Answered "${name}" of run ${runId}. The process that owns the run applies it (or the next one to take the run over).\n`,
    );
  }
  return EXIT.ok;
}

/** Lists the runs that wait and what each asks (`troupe list --waiting`). */
export async function listWaiting(ctx: CommandContext): Promise<number> {
  const { table } = await import('./format.js');
  const rt = await openRuntime(ctx, "see what it waits for in that process's inspector");
  const runs = await rt.engine.waiting().finally(() => rt.close());
  if (ctx.json) {
    ctx.io.out.write(`${JSON.stringify(runs, null, 2)}\n`);
    return EXIT.ok;
  }
  if (runs.length === 0) {
    ctx.io.out.write('No run is waiting.\n');
    return EXIT.ok;
  }
  const rows = runs.flatMap((run) =>
    run.waits.map((wait) => [
      run.workflowId,
      wait.name,
      wait.kind,
      wait.prompt ?? (wait.kind === 'sleep' ? `until ${time(wait.deadline)}` : '-'),
      wait.kind === 'sleep' ? '-' : time(wait.deadline),
    ]),
  );
  ctx.io.out.write(`${table(['run', 'wait', 'kind', 'asks', 'deadline'], rows)}\n`);
  ctx.io.out.write(
    "\nAnswer with: troupe approve|reject <run> <wait>, or troupe signal <run> <wait> --json '<payload>'\n",
  );
  return EXIT.ok;
}

function time(ms: number | undefined): string {
  return ms === undefined ? '-' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}
