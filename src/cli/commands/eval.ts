/**
 * `troupe eval <runId> [--json]`: evaluates a finished run from the store,
 * stores the evaluation in its workflow's history, checks it for a regression
 * against the runs before it, and prints a report with a trend chart.
 */
import type { WorkflowEvaluation } from '../../actors/evaluator/evaluation-schema.js';
import type { RegressionReport } from '../../actors/evaluator/regression.js';
import { formatEvaluationReport } from '../../actors/evaluator/report.js';
import { TroupeError } from '../../errors.js';
import type { Clock } from '../../runtime/clock.js';
import { WorkflowEvaluator } from '../../runtime/evaluator/workflow-evaluator.js';
import type { RunRecord } from '../../schemas/run-record.js';
import type { Store } from '../../store/store.js';

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
    const record = await deps.store.get<RunRecord>('workflows', args.runId);
    if (!record) {
      throw new TroupeError(
        'WORKFLOW_NOT_FOUND',
        `troupe eval: no run "${args.runId}" in the store. List the stored runs with \`troupe list\`.`,
        { workflowId: args.runId },
      );
    }
    if (!record.result || record.status === 'running' || record.status === 'paused') {
      throw new TroupeError(
        'WORKFLOW_NOT_FINISHED',
        `troupe eval: run "${args.runId}" has not finished (status ${record.status}); evaluate it once it ends (\`troupe resume ${args.runId}\` continues a paused or interrupted run).`,
        { workflowId: args.runId, status: record.status },
      );
    }
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
    return EVAL_EXIT.ok;
  } catch (error) {
    if (!(error instanceof TroupeError)) throw error;
    err.write(`${error.message}\n`);
    return EVAL_EXIT.failed;
  }
}

function jsonOutput(
  evaluation: WorkflowEvaluation,
  regression: RegressionReport,
): WorkflowEvaluation & { regression: RegressionReport } {
  return { ...evaluation, regression };
}
