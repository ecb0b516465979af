import { z } from 'zod';
import {
  parseEvaluatedDefinition,
  parseEvaluatedResult,
} from '../../actors/evaluator/evaluation-input.js';
import {
  EVALUATION_FORMAT_VERSION,
  type WorkflowEvaluation,
  workflowEvaluationSchema,
} from '../../actors/evaluator/evaluation-schema.js';
import { builtinComponents, combineScore, gradeFor } from '../../actors/evaluator/grading.js';
import { EvaluationHistory } from '../../actors/evaluator/history.js';
import { computeMetrics } from '../../actors/evaluator/metrics.js';
import {
  DEFAULT_BASELINE_COUNT,
  type DetectRegressionOptions,
  detectRegressionOptionsSchema,
  type EvaluateOptions,
  evaluateOptionsSchema,
  type HistoryOptions,
  historyOptionsSchema,
  type ResolvedEvaluatorOptions,
  resolveEvaluatorOptions,
  type WorkflowEvaluatorOptions,
} from '../../actors/evaluator/options.js';
import { workAdvice } from '../../actors/evaluator/produced-work.js';
import { recommend } from '../../actors/evaluator/recommendations.js';
import { compareWithBaseline, type RegressionReport } from '../../actors/evaluator/regression.js';
import { runScorers, type ScorerContext } from '../../actors/evaluator/scorers.js';
import { parseArgument } from '../../schemas/parse-argument.js';
import type { WorkflowResult } from '../../schemas/workflow-result.js';

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

  /**
   * @throws TroupeError `INVALID_INPUT` for anything but an options object
   * (`null` included), an unknown key, or a bad weight, threshold, scorer or
   * regression rule, naming the field and the fix.
   */
  constructor(options: WorkflowEvaluatorOptions = {}) {
    this.#options = resolveEvaluatorOptions(options);
    this.#history = new EvaluationHistory(this.#options.store);
  }

  /**
   * Evaluates one finished run and stores the evaluation (replacing an
   * earlier evaluation of the same `workflowId`).
   * @throws TroupeError `INVALID_INPUT` if `result` is not a valid
   * WorkflowResult, `options` has an unknown key, or `options.definition` is
   * not one `engine.execute()` would accept, naming the field and the fix.
   */
  async evaluateWorkflow(
    result: WorkflowResult,
    options: EvaluateOptions = {},
  ): Promise<WorkflowEvaluation> {
    const run = parseEvaluatedResult(result);
    const given = parseArgument(evaluateOptionsSchema, options, {
      method: 'WorkflowEvaluator.evaluateWorkflow()',
      argument: 'options',
      fix: 'pass { definition?, outputSchemas? } or nothing',
    });
    const definition =
      given.definition === undefined ? undefined : parseEvaluatedDefinition(given.definition);
    const outputSchemas = given.outputSchemas;
    const metrics = computeMetrics({
      result: run,
      definition,
      outputSchemas,
      timingResolutionMs: this.#options.timingResolutionMs,
    });
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
      recommendations: [...recommend(metrics), ...(metrics.work ? workAdvice(metrics.work) : [])],
      ...(metrics.work ? { work: metrics.work } : {}),
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
   * @throws TroupeError `INVALID_INPUT` unless `evaluation` is an evaluation
   * and `baselineCount` a positive integer.
   */
  async detectRegression(
    evaluation: WorkflowEvaluation,
    options: DetectRegressionOptions = {},
  ): Promise<RegressionReport> {
    const method = 'WorkflowEvaluator.detectRegression()';
    const current = parseArgument(workflowEvaluationSchema, evaluation, {
      method,
      argument: 'evaluation',
      fix: 'pass the evaluation that evaluateWorkflow() returned (or one read from history())',
    });
    const given = parseArgument(detectRegressionOptionsSchema, options, {
      method,
      argument: 'options',
      fix: 'pass { baselineCount } with a positive integer, or nothing for 5',
    });
    const baselineCount = given.baselineCount ?? DEFAULT_BASELINE_COUNT;
    // One extra: an unstored evaluation of a run that is also in the history
    // must not become its own baseline.
    const candidates = await this.#history.before(
      current.workflowName,
      current.sequence,
      baselineCount + 1,
    );
    const baseline = candidates
      .filter((entry) => entry.workflowId !== current.workflowId)
      .slice(-baselineCount);
    return compareWithBaseline(current, baseline, baselineCount, this.#options.regression);
  }

  /**
   * The newest `limit` evaluations of a workflow name, oldest first.
   * @throws TroupeError `INVALID_INPUT` for a name that is not a string or a bad `limit`.
   */
  async history(workflowName: string, options: HistoryOptions = {}): Promise<WorkflowEvaluation[]> {
    const method = 'WorkflowEvaluator.history()';
    const name = parseArgument(z.string(), workflowName, {
      method,
      argument: 'workflowName',
      fix: "pass the workflow definition's name",
    });
    const given = parseArgument(historyOptionsSchema, options, {
      method,
      argument: 'options',
      fix: 'pass { limit } with a non-negative integer, or nothing for 50',
    });
    return this.#history.recent(name, given.limit ?? DEFAULT_HISTORY_LIMIT);
  }
}
