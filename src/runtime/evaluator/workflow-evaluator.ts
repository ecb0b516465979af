import {
  EVALUATION_FORMAT_VERSION,
  type WorkflowEvaluation,
} from '../../actors/evaluator/evaluation-schema.js';
import { builtinComponents, combineScore, gradeFor } from '../../actors/evaluator/grading.js';
import { EvaluationHistory } from '../../actors/evaluator/history.js';
import { computeMetrics } from '../../actors/evaluator/metrics.js';
import {
  DEFAULT_BASELINE_COUNT,
  type DetectRegressionOptions,
  type EvaluateOptions,
  type HistoryOptions,
  type ResolvedEvaluatorOptions,
  resolveEvaluatorOptions,
  type WorkflowEvaluatorOptions,
} from '../../actors/evaluator/options.js';
import { recommend } from '../../actors/evaluator/recommendations.js';
import { compareWithBaseline, type RegressionReport } from '../../actors/evaluator/regression.js';
import { runScorers, type ScorerContext } from '../../actors/evaluator/scorers.js';
import { TroupeError } from '../../errors.js';
import { type WorkflowResult, workflowResultSchema } from '../../schemas/workflow-result.js';

export type {
  DetectRegressionOptions,
  EvaluateOptions,
  HistoryOptions,
  WorkflowEvaluatorOptions,
} from '../../actors/evaluator/options.js';

const DEFAULT_HISTORY_LIMIT = 50;

/**
 * Assesses finished workflow runs and watches them over time.
 *
 * `evaluateWorkflow` turns a {@link WorkflowResult} into a
 * {@link WorkflowEvaluation} (metrics, a 0..100 score, a grade, advice naming
 * tasks and agents) and stores it in the history of its workflow name;
 * `detectRegression` compares an evaluation with the runs stored before it.
 *
 * Invariants: the evaluator never mutates the result it is given, never
 * closes the store it was given, reads time only from its clock, and computes
 * the same numbers for the same input. A custom scorer that throws is
 * recorded in the evaluation, not rethrown.
 *
 * @example
 * ```ts
 * const evaluator = new WorkflowEvaluator({ store });
 * const evaluation = await evaluator.evaluateWorkflow(result, { definition });
 * const report = await evaluator.detectRegression(evaluation, { baselineCount: 5 });
 * if (report.regressionDetected) console.log(report.details);
 * ```
 */
export class WorkflowEvaluator {
  readonly #options: ResolvedEvaluatorOptions;
  readonly #history: EvaluationHistory;

  /** @throws TroupeError `CONFIG_ERROR` for a bad weight, threshold, scorer or regression rule. */
  constructor(options: WorkflowEvaluatorOptions = {}) {
    this.#options = resolveEvaluatorOptions(options);
    this.#history = new EvaluationHistory(this.#options.store);
  }

  /**
   * Evaluates one finished run and stores the evaluation (replacing an
   * earlier evaluation of the same `workflowId`).
   * @throws TroupeError `INVALID_INPUT` if `result` is not a valid WorkflowResult
   * or its workflow name contains characters the store cannot key.
   */
  async evaluateWorkflow(
    result: WorkflowResult,
    options: EvaluateOptions = {},
  ): Promise<WorkflowEvaluation> {
    const parsed = workflowResultSchema.safeParse(result);
    if (!parsed.success) {
      const issues = parsed.error.issues.map(
        (i) => `${i.path.join('.') || '(result)'}: ${i.message}`,
      );
      throw new TroupeError(
        'INVALID_INPUT',
        `WorkflowEvaluator.evaluateWorkflow(): the result is not a valid WorkflowResult (${issues.slice(0, 3).join('; ')}). Pass the value returned by executeWorkflow().`,
        { issues, ...workflowIdOf(result) },
      );
    }
    const run = parsed.data;
    const { definition, outputSchemas } = options;
    const metrics = computeMetrics({ result: run, definition, outputSchemas });
    const notes = [...metrics.notes];
    if (definition && definition.name !== run.name) {
      notes.push(
        `The definition given is named "${definition.name}" but the run is "${run.name}"; dependencies and timeouts come from the definition.`,
      );
    }

    const context: ScorerContext = {
      definition,
      tasks: metrics.tasks,
      performance: metrics.performance,
      agents: metrics.agents,
      errorRate: metrics.errorRate,
    };
    const components = [
      ...builtinComponents(metrics, this.#options.weights),
      ...(await runScorers(this.#options.scorers, run, context)),
    ];
    for (const component of components) {
      if (component.error) {
        notes.push(`Scorer "${component.name}" ${component.error}; it was left out of the score.`);
      }
    }
    const score = combineScore(components, run.success);

    const evaluation: WorkflowEvaluation = {
      formatVersion: EVALUATION_FORMAT_VERSION,
      workflowId: run.workflowId,
      workflowName: run.name,
      workflowStatus: run.status,
      success: run.success,
      sequence: null,
      evaluatedAt: this.#options.clock.now(),
      score,
      grade: gradeFor(score, run.success, this.#options.thresholds),
      performance: metrics.performance,
      quality: {
        errorRate: metrics.errorRate,
        firstAttemptRate: metrics.firstAttemptRate,
        outputsChecked: metrics.outputsChecked,
        outputsValid: metrics.outputsValid,
        scoreBreakdown: components,
      },
      tasks: metrics.tasks,
      agents: metrics.agents,
      recommendations: recommend(metrics),
      notes,
    };
    return this.#history.save(evaluation);
  }

  /**
   * Compares `evaluation` with the `baselineCount` evaluations of the same
   * workflow name stored before it (the newest stored ones if it was never
   * stored). With fewer than that the report says `insufficientHistory: true`
   * and gives no verdict. The rule is documented in `regression.ts` and in
   * docs/evaluator.md.
   * @throws TroupeError `INVALID_INPUT` unless `baselineCount` is a positive integer.
   */
  async detectRegression(
    evaluation: WorkflowEvaluation,
    options: DetectRegressionOptions = {},
  ): Promise<RegressionReport> {
    const baselineCount = options.baselineCount ?? DEFAULT_BASELINE_COUNT;
    if (!Number.isSafeInteger(baselineCount) || baselineCount < 1) {
      throw new TroupeError(
        'INVALID_INPUT',
        `WorkflowEvaluator.detectRegression(): baselineCount must be a positive integer; got ${String(baselineCount)}.`,
        {
          workflowId: evaluation.workflowId,
          issues: ['baselineCount: must be a positive integer'],
        },
      );
    }
    // One extra: an unstored evaluation of a run that is also in the history
    // must not become its own baseline.
    const candidates = await this.#history.before(
      evaluation.workflowName,
      evaluation.sequence,
      baselineCount + 1,
    );
    const baseline = candidates
      .filter((entry) => entry.workflowId !== evaluation.workflowId)
      .slice(-baselineCount);
    return compareWithBaseline(evaluation, baseline, baselineCount, this.#options.regression);
  }

  /** The newest `limit` evaluations of a workflow name, oldest first. */
  async history(workflowName: string, options: HistoryOptions = {}): Promise<WorkflowEvaluation[]> {
    const limit = options.limit ?? DEFAULT_HISTORY_LIMIT;
    if (!Number.isSafeInteger(limit) || limit < 0) {
      throw new TroupeError(
        'INVALID_INPUT',
        `WorkflowEvaluator.history(): limit must be a non-negative integer; got ${String(limit)}.`,
        { issues: ['limit: must be a non-negative integer'] },
      );
    }
    return this.#history.recent(workflowName, limit);
  }
}

function workflowIdOf(result: unknown): { workflowId?: string } {
  if (typeof result !== 'object' || result === null || !('workflowId' in result)) return {};
  return typeof result.workflowId === 'string' ? { workflowId: result.workflowId } : {};
}
