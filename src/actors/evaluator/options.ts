/**
 * Options of the WorkflowEvaluator and of its calls, with their defaults
 * applied once, in {@link resolveEvaluatorOptions}.
 */
import { z } from 'zod';
import type { Clock } from '../../runtime/clock.js';
import { systemClock } from '../../runtime/clock.js';
import { keyedTable } from '../../schemas/keyed-table.js';
import { type ArgumentSite, parseArgument } from '../../schemas/parse-argument.js';
import type {
  WorkflowDefinition,
  WorkflowDefinitionInput,
} from '../../schemas/workflow-definition.js';
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
  TIMING_METRICS,
} from './regression.js';
import { type EvaluationScorer, validateScorers } from './scorers.js';

/** Baseline size of `detectRegression` when none is given. */
export const DEFAULT_BASELINE_COUNT = 5;

/** Smallest time difference the evaluator treats as meaningful (see docs/evaluator.md). */
export const DEFAULT_TIMING_RESOLUTION_MS = 100;

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
   * @default { success: 0.4, reliability: 0.3, schedule: 0.15, outputs: 0.15, work: 0.3 }
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
  /**
   * Smallest time difference that counts. Task times are whole milliseconds
   * from the runtime's clock, and dispatching a task costs the runtime a few
   * of them, so on runs of near-instant tasks the timing numbers are noise.
   * The schedule component forgives this much lost time per dependency
   * level, the parallelism metrics are null when the tasks were busy for
   * less than this, timing advice needs durations of at least this, and the
   * timing metrics of the regression rule use it as their spread floor.
   * @default 100
   */
  timingResolutionMs?: number;
}

export interface ResolvedEvaluatorOptions {
  store: Store;
  weights: ScoreWeights;
  thresholds: GradeThresholds;
  scorers: readonly EvaluationScorer[];
  regression: RegressionRule;
  clock: Pick<Clock, 'now'>;
  timingResolutionMs: number;
}

/** Options of one `evaluateWorkflow` call. */
export interface EvaluateOptions {
  /**
   * The run's definition: gives exact dependencies (critical path, waits) and
   * the timeouts. Without it dependencies are inferred from timing, and a note
   * in the evaluation says so. Anything `engine.execute()` accepts: the
   * definition literal (defaults left out, conditions and all) or the parsed
   * form the engine stores.
   * @default undefined
   */
  definition?: WorkflowDefinitionInput | WorkflowDefinition;
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

const number = z.number().min(0, 'must be >= 0');
const weight = number;

const scorerSchema = z.object({
  name: z.string().min(1, 'must not be empty'),
  weight,
  score: z.custom<EvaluationScorer['score']>(
    (value) => typeof value === 'function',
    'must be a function (result, context) => number | null',
  ),
});

const metricRuleSchema = z
  .strictObject({
    worse: z.enum(['higher', 'lower']),
    relativeThreshold: number,
    minSpread: number,
  })
  .partial();

const regressionSchema = z
  .strictObject({
    k: number,
    relativeSpreadFloor: number,
    metrics: z
      .strictObject(
        Object.fromEntries(
          REGRESSION_METRICS.map((metric) => [metric, metricRuleSchema]),
        ) as Record<(typeof REGRESSION_METRICS)[number], typeof metricRuleSchema>,
      )
      .partial(),
  })
  .partial();

/** The constructor's options; strict, so a misspelt key is an error. */
export const evaluatorOptionsSchema = z
  .strictObject({
    store: z.custom<Store>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as Store).batch === 'function' &&
        typeof (value as Store).range === 'function',
      'must be a troupe Store (LevelStore, MemoryStore, rt.store)',
    ),
    weights: z
      .strictObject({
        success: weight,
        reliability: weight,
        schedule: weight,
        outputs: weight,
        work: weight,
      })
      .partial(),
    thresholds: z
      .strictObject({
        excellent: number.max(100, 'must be <= 100'),
        good: number.max(100, 'must be <= 100'),
        fair: number.max(100, 'must be <= 100'),
      })
      .partial(),
    scorers: z.array(scorerSchema).readonly(),
    regression: regressionSchema,
    clock: z.custom<Pick<Clock, 'now'>>(
      (value) =>
        typeof value === 'object' && value !== null && typeof (value as Clock).now === 'function',
      'must have a now() method returning epoch ms',
    ),
    timingResolutionMs: number,
  })
  .partial();

/** The options of `evaluateWorkflow`; the definition is checked by validateDefinition, like execute() does. */
export const evaluateOptionsSchema = z
  .strictObject({
    definition: z.unknown(),
    outputSchemas: keyedTable(
      z.custom<z.ZodType>(
        (value) =>
          typeof value === 'object' &&
          value !== null &&
          typeof (value as z.ZodType).safeParse === 'function',
        'must be a zod schema',
      ),
      'zod schemas keyed by task id',
    ),
  })
  .partial();

export const detectRegressionOptionsSchema = z
  .strictObject({ baselineCount: z.number().int().min(1, 'must be a positive integer') })
  .partial();

export const historyOptionsSchema = z
  .strictObject({ limit: z.number().int().min(0, 'must be a non-negative integer') })
  .partial();

const CONSTRUCTOR: ArgumentSite = {
  method: 'new WorkflowEvaluator()',
  argument: 'options',
  fix: 'pass an object with some of store, weights, thresholds, scorers, regression, clock, timingResolutionMs (or nothing)',
};

/**
 * Every default, in one place; every check, once.
 * @throws TroupeError `INVALID_INPUT` naming the option and the fix.
 */
export function resolveEvaluatorOptions(options: unknown = {}): ResolvedEvaluatorOptions {
  const given = parseArgument(evaluatorOptionsSchema, options, CONSTRUCTOR);
  const scorers = [...(given.scorers ?? [])] as EvaluationScorer[];
  validateScorers(scorers, CONSTRUCTOR);
  const timingResolutionMs = given.timingResolutionMs ?? DEFAULT_TIMING_RESOLUTION_MS;
  return {
    store: given.store ?? new MemoryStore(),
    weights: resolveWeights(given.weights),
    thresholds: resolveThresholds(given.thresholds ?? {}, CONSTRUCTOR),
    scorers,
    regression: resolveRegressionRule(given.regression, timingResolutionMs),
    clock: given.clock ?? systemClock,
    timingResolutionMs,
  };
}

/**
 * The defaults with the overrides merged in, field by field. The timing
 * metrics' spread floor is the timing resolution unless set.
 */
function resolveRegressionRule(
  options: RegressionRuleOptions = {},
  timingResolutionMs: number,
): RegressionRule {
  const metrics = {} as RegressionRule['metrics'];
  for (const metric of REGRESSION_METRICS) {
    const floor = TIMING_METRICS.has(metric) ? { minSpread: timingResolutionMs } : {};
    metrics[metric] = {
      ...DEFAULT_REGRESSION_RULE.metrics[metric],
      ...floor,
      ...options.metrics?.[metric],
    };
  }
  return {
    k: options.k ?? DEFAULT_REGRESSION_RULE.k,
    relativeSpreadFloor: options.relativeSpreadFloor ?? DEFAULT_REGRESSION_RULE.relativeSpreadFloor,
    metrics,
  };
}
