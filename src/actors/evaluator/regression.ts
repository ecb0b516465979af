/**
 * Regression detection: is this run clearly worse than the runs before it?
 *
 * The rule, per metric, against the baseline (the N evaluations of the same
 * workflow name stored before the current one):
 *
 * - `mean` and `stddev` (sample standard deviation, n - 1) of the baseline;
 * - `spread = max(stddev, minSpread, relativeSpreadFloor × |mean|)`. The floor
 *   keeps a zero-variance baseline (ten identical runs) from turning every tiny
 *   change into an alarm;
 * - `worsening` = how far the current value moved in the bad direction
 *   (`current - mean` when higher is worse, `mean - current` when lower is);
 * - the metric **regresses** when both hold:
 *   1. relative test: `worsening / |mean| > relativeThreshold` (when the mean
 *      is 0 there is no relative change, and any worsening passes this test);
 *   2. spread test: `worsening > k × spread`.
 *
 * The relative test ignores changes too small to matter; the spread test
 * ignores changes the baseline's own noise explains. With fewer baseline runs
 * than asked for there is no verdict: the report says `insufficientHistory`.
 */
import type { WorkflowEvaluation } from './evaluation-schema.js';

/** The metrics compared, each read from an evaluation by {@link metricValue}. */
export type RegressionMetric =
  | 'totalTimeMs'
  | 'p95TaskTimeMs'
  | 'successRate'
  | 'errorRate'
  | 'score';

export interface MetricRule {
  /** Which direction is bad. */
  worse: 'higher' | 'lower';
  /** Smallest relative worsening vs the baseline mean that can count (0.2 = 20%). */
  relativeThreshold: number;
  /** Floor on the spread, in the metric's own unit. */
  minSpread: number;
}

export interface RegressionRule {
  /** How many spreads beyond the mean a value must lie. @default 2 */
  k: number;
  /** Floor on the spread as a share of |mean|. @default 0.02 */
  relativeSpreadFloor: number;
  /** One rule per metric; see {@link DEFAULT_REGRESSION_RULE}. */
  metrics: Record<RegressionMetric, MetricRule>;
}

/** Overrides for {@link RegressionRule}; per-metric overrides merge field by field. */
export interface RegressionRuleOptions {
  k?: number;
  relativeSpreadFloor?: number;
  metrics?: Partial<Record<RegressionMetric, Partial<MetricRule>>>;
}

/**
 * The defaults. Durations regress at +20% (spread floor 1 ms), the success
 * rate at -5% (floor 0.01), the error rate at +50% relative or any rise from
 * 0 (floor 0.01), the score at -5% (floor 1 point); always beyond 2 spreads.
 */
export const DEFAULT_REGRESSION_RULE: Readonly<RegressionRule> = Object.freeze({
  k: 2,
  relativeSpreadFloor: 0.02,
  metrics: Object.freeze<Record<RegressionMetric, MetricRule>>({
    totalTimeMs: { worse: 'higher', relativeThreshold: 0.2, minSpread: 1 },
    p95TaskTimeMs: { worse: 'higher', relativeThreshold: 0.2, minSpread: 1 },
    successRate: { worse: 'lower', relativeThreshold: 0.05, minSpread: 0.01 },
    errorRate: { worse: 'higher', relativeThreshold: 0.5, minSpread: 0.01 },
    score: { worse: 'lower', relativeThreshold: 0.05, minSpread: 1 },
  }),
});

export const REGRESSION_METRICS = Object.keys(
  DEFAULT_REGRESSION_RULE.metrics,
) as readonly RegressionMetric[];

/**
 * Metrics measured in milliseconds: unless `minSpread` is set, their spread
 * floor is the evaluator's `timingResolutionMs`, so identical runs of
 * near-instant tasks (a few ms apart by clock ticks and dispatch) never
 * regress against each other.
 */
export const TIMING_METRICS: ReadonlySet<RegressionMetric> = new Set([
  'totalTimeMs',
  'p95TaskTimeMs',
]);

/** One metric compared with its baseline. */
export interface MetricComparison {
  metric: RegressionMetric;
  baselineMean: number;
  baselineStdDev: number;
  /** The spread actually used: stddev or its floor, whichever is larger. */
  spread: number;
  current: number;
  /** `(current - mean) / |mean|`, signed; null when the mean is 0. */
  relativeChange: number | null;
  regressed: boolean;
  /** The rule applied, with this run's numbers, in words. */
  rule: string;
}

/** What `detectRegression` returns: whether the run is worse than its baseline of earlier runs of the same workflow, and in what. */
export interface RegressionReport {
  regressionDetected: boolean;
  /** True when fewer baseline runs than `baselineCount` exist: no verdict either way. */
  insufficientHistory: boolean;
  workflowName: string;
  baselineCount: number;
  /** How many baseline evaluations were found (at most `baselineCount`). */
  baselineSize: number;
  /** The workflow ids of the baseline runs, oldest first. */
  baselineWorkflowIds: string[];
  /** The metrics that regressed. */
  details: MetricComparison[];
  /** Every metric compared, regressed or not. */
  comparisons: MetricComparison[];
  /** One line for people. */
  summary: string;
}

/** The value of `metric` in an evaluation; null when the run has none (no timed task). */
export function metricValue(
  evaluation: WorkflowEvaluation,
  metric: RegressionMetric,
): number | null {
  switch (metric) {
    case 'totalTimeMs':
      return evaluation.performance.totalTimeMs;
    case 'p95TaskTimeMs':
      return evaluation.performance.p95TaskTimeMs;
    case 'successRate':
      return evaluation.performance.successRate;
    case 'errorRate':
      return evaluation.quality.errorRate;
    case 'score':
      return evaluation.score;
  }
}

/** Applies the rule to every metric. `baseline` is oldest first, at most `baselineCount` long. */
export function compareWithBaseline(
  current: WorkflowEvaluation,
  baseline: readonly WorkflowEvaluation[],
  baselineCount: number,
  rule: RegressionRule,
): RegressionReport {
  const report = {
    workflowName: current.workflowName,
    baselineCount,
    baselineSize: baseline.length,
    baselineWorkflowIds: baseline.map((evaluation) => evaluation.workflowId),
  };
  if (baseline.length < baselineCount) {
    return {
      ...report,
      regressionDetected: false,
      insufficientHistory: true,
      details: [],
      comparisons: [],
      summary: `Insufficient history: ${baseline.length} earlier evaluation(s) of "${current.workflowName}" stored, ${baselineCount} needed for a baseline. No verdict yet, which is not the same as no regression.`,
    };
  }
  const comparisons: MetricComparison[] = [];
  for (const metric of REGRESSION_METRICS) {
    const value = metricValue(current, metric);
    const values = baseline
      .map((evaluation) => metricValue(evaluation, metric))
      .filter((v): v is number => v !== null);
    if (value === null || values.length === 0) continue;
    comparisons.push(compareMetric(metric, value, values, rule));
  }
  const details = comparisons.filter((comparison) => comparison.regressed);
  return {
    ...report,
    regressionDetected: details.length > 0,
    insufficientHistory: false,
    details,
    comparisons,
    summary:
      details.length > 0
        ? `Regression in ${details.map((d) => d.metric).join(', ')} vs the last ${baseline.length} run(s) of "${current.workflowName}".`
        : `No regression vs the last ${baseline.length} run(s) of "${current.workflowName}".`,
  };
}

/** The rule for one metric; exported for tests and for the docs' worked example. */
export function compareMetric(
  metric: RegressionMetric,
  current: number,
  baseline: readonly number[],
  rule: RegressionRule,
): MetricComparison {
  const { worse, relativeThreshold, minSpread } = rule.metrics[metric];
  const mean = baseline.reduce((total, value) => total + value, 0) / baseline.length;
  const stdDev = sampleStdDev(baseline, mean);
  const spread = Math.max(stdDev, minSpread, rule.relativeSpreadFloor * Math.abs(mean));
  const worsening = worse === 'higher' ? current - mean : mean - current;
  const relativeChange = mean === 0 ? null : (current - mean) / Math.abs(mean);
  const relativeWorsening = mean === 0 ? null : worsening / Math.abs(mean);
  const passesRelative =
    relativeWorsening === null ? worsening > 0 : relativeWorsening > relativeThreshold;
  const limit = rule.k * spread;
  const passesSpread = worsening > limit;
  const regressed = passesRelative && passesSpread;
  const relativeText =
    relativeWorsening === null
      ? 'mean is 0, so any worsening passes the relative test'
      : `worse by ${pct(relativeWorsening)} (limit ${pct(relativeThreshold)})`;
  const rule_ = `${regressed ? 'regressed' : 'within limits'}: ${worse} is worse; ${relativeText}; ${round(worsening)} beyond the mean (limit ${rule.k} × spread ${round(spread)} = ${round(limit)})`;
  return {
    metric,
    baselineMean: mean,
    baselineStdDev: stdDev,
    spread,
    current,
    relativeChange,
    regressed,
    rule: rule_,
  };
}

function sampleStdDev(values: readonly number[], mean: number): number {
  if (values.length < 2) return 0;
  const squares = values.reduce((total, value) => total + (value - mean) ** 2, 0);
  return Math.sqrt(squares / (values.length - 1));
}

function pct(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

function round(value: number): string {
  return String(Math.round(value * 1000) / 1000);
}
