/**
 * `troupe resume <runId>` / `troupe resume --all`: continue interrupted runs
 * (a crash, Ctrl+C) and paused ones, with the agents they were started with.
 */
import { TroupeError } from '../../errors.js';
import type { RunRecord } from '../../schemas/run-record.js';
import { type CliIo, runWithProgress } from '../cli-io.js';
import {
  booleanOption,
  type Command,
  type CommandContext,
  stringOption,
  UsageError,
} from '../command.js';
import { EXIT } from '../exit-codes.js';
import {
  announceInspector,
  expandInspectFlag,
  INSPECT_OPTION,
  parseInspectPort,
} from '../inspect-option.js';
import { openRuntime, storedRun, withStore } from '../store-access.js';
import type { StoreLocation } from '../store-location.js';

const WHEN_LOCKED = 'its runs are live there; stop it (Ctrl+C interrupts its run) and resume here';

export const resume: Command = {
  name: 'resume',
  summary: 'continue an interrupted or paused run (--all: every interrupted one)',
  args: '<runId>',
  positionals: { min: 0, max: 1 },
  options: {
    all: {
      type: 'boolean',
      description: 'resume every interrupted run, one after another (paused runs stay paused)',
    },
    agents: {
      type: 'string',
      value: '<module>',
      description: 'module exporting the agents, for a run started from code',
    },
    inspect: INSPECT_OPTION,
  },
  description:
    'Continues a run from its last checkpoint and journal: completed tasks are not run again,\ntasks that were in flight run again. A paused run is resumed. Runs started by `troupe demo`\nor `troupe run` get the same agents again; for a run started from code pass --agents.',
  examples: ['troupe resume --all'],
  preprocess: expandInspectFlag,
  async run({ values, positionals }, ctx) {
    const all = booleanOption(values, 'all');
    if (all === (positionals[0] !== undefined)) {
      throw new UsageError('needs a run id or --all (not both)');
    }
    const options = {
      agents: stringOption(values, 'agents'),
      inspect: parseInspectPort(stringOption(values, 'inspect')),
    };
    if (!all) return resumeOrForward(await readRun(ctx, positionals[0]!), options, ctx);
    const records = await interruptedRuns(ctx);
    if (records.length === 0 && !ctx.json) ctx.io.out.write('No interrupted runs to resume.\n');
    let code: number = EXIT.ok;
    for (const record of records) {
      if (record.status === 'paused') {
        note(
          ctx.io,
          ctx.json,
          `Run ${record.workflowId} is paused; \`troupe resume ${record.workflowId}\` resumes it.`,
        );
        continue;
      }
      const exit = await resumeOrForward(record, options, ctx);
      if (exit === EXIT.interrupted || exit === EXIT.terminated) return exit;
      if (exit !== EXIT.ok) code = exit;
    }
    return code;
  },
};

async function readRun(location: StoreLocation, runId: string): Promise<RunRecord> {
  const record = await withStore(
    location,
    (store) => storedRun(store, runId, location),
    WHEN_LOCKED,
  );
  if (record.result) {
    throw new TroupeError(
      'WORKFLOW_FINISHED',
      `Run ${runId} has already ended (${record.status}); there is nothing to resume. \`troupe show ${runId}\` shows it.`,
      { workflowId: runId, status: record.status },
    );
  }
  return record;
}

/** Stored runs that have not ended (nothing is live: this process holds the folder). */
async function interruptedRuns(location: StoreLocation): Promise<RunRecord[]> {
  return withStore(
    location,
    async (store) => {
      const records: RunRecord[] = [];
      for await (const [, record] of store.range<RunRecord>('workflows')) {
        if (!record.result) records.push(record);
      }
      return records.sort((a, b) => a.createdAt - b.createdAt);
    },
    WHEN_LOCKED,
  );
}

/**
 * Resumes the run here; on PostgreSQL a run live in another process is left
 * to it, and if it is paused the resume is sent to that process.
 */
async function resumeOrForward(
  record: RunRecord,
  options: { agents: string | undefined; inspect: number | undefined },
  ctx: CommandContext,
): Promise<number> {
  try {
    return await resumeRun(record, options, ctx);
  } catch (error) {
    if (!(error instanceof TroupeError) || error.code !== 'RUN_OWNED_ELSEWHERE') throw error;
    const { workflowId } = record;
    const owner = error.context.owner
      ? `process ${String(error.context.owner)}`
      : 'another process';
    if (record.status === 'paused') {
      const control = await openRuntime(ctx, WHEN_LOCKED);
      await control.engine.resume(workflowId).finally(() => control.close());
      note(ctx.io, ctx.json, `Run ${workflowId} is live in ${owner}: the resume was sent to it.`);
    } else {
      note(ctx.io, ctx.json, `Run ${workflowId} is live in ${owner}; it goes on there.`);
    }
    return EXIT.ok;
  }
}

async function resumeRun(
  record: RunRecord,
  options: { agents: string | undefined; inspect: number | undefined },
  ctx: CommandContext,
): Promise<number> {
  const { closeRuntime, resumeLaunch, runtimeFor } = await import('../launch.js');
  const { workflowId } = record;
  const launch = resumeLaunch(record.definition, workflowId, options.agents);
  const rt = await runtimeFor(launch, { location: ctx, inspect: options.inspect });
  try {
    announceInspector(rt, ctx.io);
    if (!ctx.json)
      ctx.io.out.write(`troupe resume: run ${workflowId} (${record.definition.name})\n\n`);
    const outcome = await runWithProgress(
      rt,
      record.definition,
      async () => {
        const handle = await rt.engine.recover(workflowId);
        if (!handle)
          throw new TroupeError('WORKFLOW_NOT_FOUND', `Run ${workflowId} is no longer stored.`, {
            workflowId,
          });
        if ((await rt.engine.getState(workflowId))?.status === 'paused') {
          await rt.engine.resume(workflowId);
        }
        return handle;
      },
      ctx.io,
      ctx,
    );
    if ('interrupted' in outcome) return outcome.exitCode;
    if (ctx.json) ctx.io.out.write(`${JSON.stringify(outcome.result, null, 2)}\n`);
    return outcome.result.success ? EXIT.ok : EXIT.failed;
  } finally {
    await closeRuntime(rt);
  }
}

function note(io: CliIo, json: boolean, text: string): void {
  (json ? io.err : io.out).write(`${text}\n`);
}
