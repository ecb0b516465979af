/**
 * The score and the grade. Both are pure functions of the metrics, the weights
 * and the thresholds, so a stored evaluation can always be explained from its
 * own `quality.scoreBreakdown`.
 */
import { type ArgumentSite, invalidArgument } from '../../schemas/parse-argument.js';
import type { Grade, ScoreComponent } from './evaluation-schema.js';
import type { RunMetrics } from './metrics.js';
import { workComponent } from './produced-work.js';

/**
 * Relative weights of the built-in score components. Only the ratios matter:
 * the score divides by the sum of the weights that apply to the run.
 */
export interface ScoreWeights {
  /** `performance.successRate`: tasks that completed, of those meant to run. @default 0.4 */
  success: number;
  /** `quality.firstAttemptRate`: tasks that succeeded without a retry. @default 0.3 */
  reliability: number;
  /** How close the run came to the fastest its dependencies allow: `min(1, (criticalPathMs + allowance) / totalTimeMs)`, the allowance being the timing resolution per dependency level. @default 0.15 */
  schedule: number;
  /** Share of checked outputs that matched their declared schema. @default 0.15 */
  outputs: number;
  /**
   * What tool-using (LLM) agents produced: tasks that wrote files, ran
   * commands or recorded decisions; commands that passed; decisions without
   * conflict (see produced-work.ts). Applies only to runs of such agents.
   * @default 0.3
   */
  work: number;
}

export const DEFAULT_SCORE_WEIGHTS: Readonly<ScoreWeights> = Object.freeze({
  success: 0.4,
  reliability: 0.3,
  schedule: 0.15,
  outputs: 0.15,
  work: 0.3,
});

/** Lowest score (0..100) of each grade; anything below `fair` is POOR. */
export interface GradeThresholds {
  /** @default 95 */
  excellent: number;
  /** @default 80 */
  good: number;
  /** @default 60 */
  fair: number;
}

export const DEFAULT_GRADE_THRESHOLDS: Readonly<GradeThresholds> = Object.freeze({
  excellent: 95,
  good: 80,
  fair: 60,
});

/** The names built-in components use in `scoreBreakdown`; custom scorers may not reuse them. */
export const BUILTIN_COMPONENTS: readonly (keyof ScoreWeights)[] = [
  'success',
  'reliability',
  'schedule',
  'outputs',
  'work',
];

/**
 * The built-in components, each a value in 0..1, or null when it does not
 * apply (no task settled, no timing, no output schema declared); `work` only
 * for runs whose tasks recorded tool calls.
 */
export function builtinComponents(metrics: RunMetrics, weights: ScoreWeights): ScoreComponent[] {
  const { performance } = metrics;
  const schedule = scheduleComponent(metrics);
  const values: Record<Exclude<keyof ScoreWeights, 'work'>, number | null> = {
    success: performance.successRate,
    reliability: metrics.firstAttemptRate,
    schedule: schedule.value,
    outputs: metrics.outputsChecked > 0 ? metrics.outputsValid / metrics.outputsChecked : null,
  };
  const components: ScoreComponent[] = (Object.keys(values) as (keyof typeof values)[]).map(
    (name) => ({
      name,
      kind: 'builtin',
      weight: weights[name],
      value: values[name],
      ...(name === 'schedule' && schedule.detail ? { detail: schedule.detail } : {}),
    }),
  );
  if (metrics.work) components.push(workComponent(metrics.work, weights.work));
  return components;
}

/**
 * Time the run lost beyond its critical path, forgiving the timing
 * resolution once per dependency level: each level costs the runtime a
 * dispatch, and each task time is whole clock ticks. A run of near-instant
 * tasks therefore scores 1 however its few milliseconds fell, while a run
 * that lost real time to scheduling (queueing for a slot, slow starts)
 * scores as before: the allowance is a rounding error beside seconds.
 */
function scheduleComponent(metrics: RunMetrics): { value: number | null; detail?: string } {
  const { criticalPathMs, meanTaskTimeMs, totalTimeMs } = metrics.performance;
  // No task ran: nothing was scheduled, so there is nothing to judge.
  if (meanTaskTimeMs === null) return { value: null };
  const levels = Math.max(1, metrics.dependencyLevels);
  const allowanceMs = metrics.timingResolutionMs * levels;
  // A run within one clock tick (0 ms) lost no time.
  const value = totalTimeMs > 0 ? Math.min(1, (criticalPathMs + allowanceMs) / totalTimeMs) : 1;
  return {
    value,
    detail: `min(1, (critical path ${criticalPathMs} ms + ${metrics.timingResolutionMs} ms timing resolution × ${levels} dependency level(s)) / ${totalTimeMs} ms wall time)`,
  };
}

/**
 * The score, 0..100 with one decimal:
 *
 * `score = 100 × Σ(weightᵢ × valueᵢ) / Σ(weightᵢ)`
 *
 * over the components (built-in and custom) whose value is not null. A
 * component that does not apply to a run therefore neither helps nor hurts it.
 * If no component applies at all, the score is 100 for a successful run and 0
 * otherwise.
 */
export function combineScore(components: readonly ScoreComponent[], success: boolean): number {
  // Only the ratios matter: scaling by the largest weight keeps the sums
  // finite even for weights near Number.MAX_VALUE.
  let largest = 0;
  for (const { weight, value } of components) {
    if (value !== null && weight > largest) largest = weight;
  }
  let weighted = 0;
  let total = 0;
  for (const { weight, value } of components) {
    if (value === null || weight <= 0) continue;
    weighted += (weight / largest) * value;
    total += weight / largest;
  }
  const fraction = total > 0 ? weighted / total : success ? 1 : 0;
  return Math.round(fraction * 1000) / 10;
}

/**
 * EXCELLENT from `excellent` up, GOOD from `good`, FAIR from `fair`, POOR
 * below. A run whose workflow did not succeed is graded FAIR at best, however
 * high its score: a failed run is never good news.
 */
export function gradeFor(score: number, success: boolean, thresholds: GradeThresholds): Grade {
  const grade: Grade =
    score >= thresholds.excellent
      ? 'EXCELLENT'
      : score >= thresholds.good
        ? 'GOOD'
        : score >= thresholds.fair
          ? 'FAIR'
          : 'POOR';
  return !success && (grade === 'EXCELLENT' || grade === 'GOOD') ? 'FAIR' : grade;
}

/** Defaults merged with overrides (already checked by the options schema). */
export function resolveWeights(overrides: Partial<ScoreWeights> = {}): ScoreWeights {
  return withDefaults(DEFAULT_SCORE_WEIGHTS, overrides);
}

/**
 * `defaults` with each override that is set: a key given as `undefined`
 * (which the options schema lets through) keeps its default.
 */
function withDefaults<T extends object>(defaults: T, overrides: Partial<T>): T {
  const merged = { ...defaults };
  for (const key of Object.keys(overrides) as (keyof T)[]) {
    const value = overrides[key];
    if (value !== undefined) merged[key] = value as T[keyof T];
  }
  return merged;
}

/**
 * Defaults merged with overrides; each is a number in 0..100 by then.
 * @throws TroupeError `INVALID_INPUT` unless `fair <= good <= excellent`.
 */
export function resolveThresholds(
  overrides: Partial<GradeThresholds>,
  site: ArgumentSite,
): GradeThresholds {
  const thresholds = withDefaults(DEFAULT_GRADE_THRESHOLDS, overrides);
  const { excellent, good, fair } = thresholds;
  if (!(fair <= good && good <= excellent)) {
    throw invalidArgument(site, [
      `options.thresholds: must satisfy fair <= good <= excellent (with the defaults ${JSON.stringify(DEFAULT_GRADE_THRESHOLDS)} for those left out); got fair=${fair}, good=${good}, excellent=${excellent}`,
    ]);
  }
  return thresholds;
}
