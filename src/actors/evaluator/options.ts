/**
 * Options of the WorkflowEvaluator and of its calls, with their defaults
 * applied once, in {@link resolveEvaluatorOptions}.
 */
import { TroupeError } from '../../errors.js';
import type { Clock } from '../../runtime/clock.js';
import { systemClock } from '../../runtime/clock.js';
import type { WorkflowDefinition } from '../../schemas/workflow-definition.js';
import { MemoryStore } from '../../store/memory/memory-store.js';
import type { Store } from '../../store/store.js';
import {
  type GradeThresholds,
  resolveThresholds,
  resolveWeights,
  type ScoreWeights,
} from './grading.js';
import type { OutputSchemas } from './metrics.js';
import {
  DEFAULT_REGRESSION_RULE,
  REGRESSION_METRICS,
  type RegressionRule,
  type RegressionRuleOptions,
} from './regression.js';
import { type EvaluationScorer, validateScorers } from './scorers.js';

/** Baseline size of `detectRegression` when none is given. */
export const DEFAULT_BASELINE_COUNT = 5;

/** Options of `new WorkflowEvaluator(options)`. */
export interface WorkflowEvaluatorOptions {
  /**
   * Where evaluations are kept (collection `evaluations`, per workflow name).
   * The evaluator never closes it.
   * @default a private in-memory store: history lasts as long as the evaluator
   */
  store?: Store;
  /**
   * Weights of the built-in score components; only ratios matter.
   * @default { success: 0.4, reliability: 0.3, schedule: 0.15, outputs: 0.15 }
   */
  weights?: Partial<ScoreWeights>;
  /**
   * Lowest score of each grade.
   * @default { excellent: 95, good: 80, fair: 60 }
   */
  thresholds?: Partial<GradeThresholds>;
  /**
   * Extra score components (sync or async), weighed beside the built-in ones.
   * @default []
   */
  scorers?: readonly EvaluationScorer[];
  /**
   * Overrides of the regression rule (see regression.ts).
   * @default k = 2, relativeSpreadFloor = 0.02, per-metric rules of DEFAULT_REGRESSION_RULE
   */
  regression?: RegressionRuleOptions;
  /**
   * Source of `evaluatedAt`.
   * @default systemClock
   */
  clock?: Pick<Clock, 'now'>;
}

export interface ResolvedEvaluatorOptions {
  store: Store;
  weights: ScoreWeights;
  thresholds: GradeThresholds;
  scorers: readonly EvaluationScorer[];
  regression: RegressionRule;
  clock: Pick<Clock, 'now'>;
}

/** Options of one `evaluateWorkflow` call. */
export interface EvaluateOptions {
  /**
   * The run's definition: gives exact dependencies (critical path, waits) and
   * the timeouts. Without it dependencies are inferred from timing, and a note
   * in the evaluation says so.
   * @default undefined
   */
  definition?: WorkflowDefinition;
  /**
   * Schemas the outputs of completed tasks must match, by task id; each
   * task's evaluation then reports `outputValid`.
   * @default {}
   */
  outputSchemas?: OutputSchemas;
}

/** Options of one `detectRegression` call. */
export interface DetectRegressionOptions {
  /**
   * How many earlier evaluations form the baseline; fewer stored means
   * `insufficientHistory`.
   * @default 5
   */
  baselineCount?: number;
}

/** Options of one `history` call. */
export interface HistoryOptions {
  /**
   * Most evaluations returned (the newest ones), oldest first.
   * @default 50
   */
  limit?: number;
}

/** Every default, in one place; every check, once. @throws TroupeError `CONFIG_ERROR`. */
export function resolveEvaluatorOptions(
  options: WorkflowEvaluatorOptions = {},
): ResolvedEvaluatorOptions {
  const scorers = [...(options.scorers ?? [])];
  validateScorers(scorers);
  return {
    store: options.store ?? new MemoryStore(),
    weights: resolveWeights(options.weights),
    thresholds: resolveThresholds(options.thresholds),
    scorers,
    regression: resolveRegressionRule(options.regression),
    clock: options.clock ?? systemClock,
  };
}

function resolveRegressionRule(options: RegressionRuleOptions = {}): RegressionRule {
  const rule: RegressionRule = {
    k: options.k ?? DEFAULT_REGRESSION_RULE.k,
    relativeSpreadFloor: options.relativeSpreadFloor ?? DEFAULT_REGRESSION_RULE.relativeSpreadFloor,
    metrics: { ...DEFAULT_REGRESSION_RULE.metrics },
  };
  const issues: string[] = [];
  const checkNumber = (path: string, value: number) => {
    if (!Number.isFinite(value) || value < 0) issues.push(`${path}: must be a finite number >= 0`);
  };
  checkNumber('regression.k', rule.k);
  checkNumber('regression.relativeSpreadFloor', rule.relativeSpreadFloor);
  for (const name of Object.keys(options.metrics ?? {})) {
    if (!(REGRESSION_METRICS as readonly string[]).includes(name)) {
      issues.push(
        `regression.metrics.${name}: unknown metric (known: ${REGRESSION_METRICS.join(', ')})`,
      );
    }
  }
  for (const metric of REGRESSION_METRICS) {
    const merged = { ...DEFAULT_REGRESSION_RULE.metrics[metric], ...options.metrics?.[metric] };
    rule.metrics[metric] = merged;
    const at = `regression.metrics.${metric}`;
    checkNumber(`${at}.relativeThreshold`, merged.relativeThreshold);
    checkNumber(`${at}.minSpread`, merged.minSpread);
    if (merged.worse !== 'higher' && merged.worse !== 'lower') {
      issues.push(`${at}.worse: must be 'higher' or 'lower'`);
    }
  }
  if (issues.length > 0) {
    throw new TroupeError(
      'CONFIG_ERROR',
      `WorkflowEvaluator: invalid regression options: ${issues.join('; ')}.`,
      { issues },
    );
  }
  return rule;
}
