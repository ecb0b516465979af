/**
 * `troupe eval <runId> [--json]`: evaluates a finished run from the store,
 * stores the evaluation in its workflow's history, checks it for a regression
 * against the runs before it, and prints a report with a trend chart.
 */
import type { WorkflowEvaluation } from '../../actors/evaluator/evaluation-schema.js';
import type { RegressionReport } from '../../actors/evaluator/regression.js';
import { TroupeError } from '../../errors.js';
import type { Clock } from '../../runtime/clock.js';
import type { RunRecord } from '../../schemas/run-record.js';
import type { Store } from '../../store/store.js';
import { type Command, UsageError } from '../command.js';
import { EXIT } from '../exit-codes.js';
import { withStore } from '../store-access.js';

export const evaluate: Command = {
  name: 'eval',
  summary: 'evaluate a stored run, with its trend',
  args: '<runId>',
  positionals: { min: 1, max: 1 },
  options: {},
  description:
    "Evaluates a finished run: grade, metrics, recommendations, a regression check against the\nruns before it and a trend chart over the workflow's history. The evaluation is stored.",
  examples: [],
  async run({ positionals }, ctx) {
    const runId = positionals[0]!;
    if (runId.trim() === '') throw new UsageError('needs a run id (see troupe list)');
    await withStore(
      ctx,
      (store) => evaluateStoredRun({ runId, json: ctx.json }, { store, out: ctx.io.out }),
      'stop it to evaluate runs here',
    );
    return EXIT.ok;
  },
};

export interface EvalCommandArgs {
  runId: string;
  /** Print the evaluation (plus a `regression` field) as JSON instead of the report. */
  json: boolean;
}

export interface EvalCommandDeps {
  store: Store;
  out: NodeJS.WritableStream;
  /** Where errors go. @default out */
  err?: NodeJS.WritableStream;
  /** Source of `evaluatedAt`. @default systemClock */
  clock?: Pick<Clock, 'now'>;
}

/** Exit codes: 0 evaluated, 1 the run cannot be evaluated (missing, unfinished, unreadable), 2 bad usage. */
export const EVAL_EXIT = { ok: 0, failed: 1, usage: 2 } as const;

/** Runs in the regression baseline. */
const BASELINE_COUNT = 5;
/** Runs drawn in the trend chart. */
const TREND_LENGTH = 20;

/** @returns the process exit code; never throws for expected failures. */
export async function evalCommand(args: EvalCommandArgs, deps: EvalCommandDeps): Promise<number> {
  const err = deps.err ?? deps.out;
  if (typeof args.runId !== 'string' || args.runId.trim() === '') {
    err.write('troupe eval: missing run id. Usage: troupe eval <runId> [--json]\n');
    return EVAL_EXIT.usage;
  }
  try {
    await evaluateStoredRun(args, deps);
    return EVAL_EXIT.ok;
  } catch (error) {
    if (!(error instanceof TroupeError)) throw error;
    err.write(`troupe eval: ${error.message}\n`);
    return EVAL_EXIT.failed;
  }
}

/**
 * Evaluates, stores and prints the evaluation of a stored run.
 * @throws TroupeError `WORKFLOW_NOT_FOUND` or `WORKFLOW_NOT_FINISHED`.
 */
export async function evaluateStoredRun(
  args: EvalCommandArgs,
  deps: EvalCommandDeps,
): Promise<void> {
  const record = await deps.store.get<RunRecord>('workflows', args.runId);
  if (!record) {
    throw new TroupeError(
      'WORKFLOW_NOT_FOUND',
      `no run "${args.runId}" in the store. List the stored runs with \`troupe list\`.`,
      { workflowId: args.runId },
    );
  }
  if (!record.result || record.status === 'running' || record.status === 'paused') {
    throw new TroupeError(
      'WORKFLOW_NOT_FINISHED',
      `run "${args.runId}" has not finished (status ${record.status}); evaluate it once it ends (\`troupe resume ${args.runId}\` continues a paused or interrupted run).`,
      { workflowId: args.runId, status: record.status },
    );
  }
  const [{ WorkflowEvaluator }, { formatEvaluationReport }] = await Promise.all([
    import('../../runtime/evaluator/workflow-evaluator.js'),
    import('../../actors/evaluator/report.js'),
  ]);
  const evaluator = new WorkflowEvaluator({
    store: deps.store,
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  const evaluation = await evaluator.evaluateWorkflow(record.result, {
    definition: record.definition,
  });
  const regression = await evaluator.detectRegression(evaluation, {
    baselineCount: BASELINE_COUNT,
  });
  if (args.json) {
    deps.out.write(`${JSON.stringify(jsonOutput(evaluation, regression), null, 2)}\n`);
  } else {
    const trend = await evaluator.history(evaluation.workflowName, { limit: TREND_LENGTH });
    deps.out.write(formatEvaluationReport(evaluation, { regression, trend }));
  }
}

function jsonOutput(
  evaluation: WorkflowEvaluation,
  regression: RegressionReport,
): WorkflowEvaluation & { regression: RegressionReport } {
  return { ...evaluation, regression };
}
