/**
 * Custom score components. A scorer turns a run into a value in 0..1 that is
 * weighed into the score beside the built-in components; it may be async, so
 * a judge that calls a model (or any service) fits the same seam.
 */
import { type ArgumentSite, invalidArgument } from '../../schemas/parse-argument.js';
import type { WorkflowDefinition } from '../../schemas/workflow-definition.js';
import type { WorkflowResult } from '../../schemas/workflow-result.js';
import type {
  AgentStats,
  PerformanceMetrics,
  ScoreComponent,
  TaskEvaluation,
} from './evaluation-schema.js';
import { BUILTIN_COMPONENTS } from './grading.js';

/** What a scorer can look at besides the raw result. */
export interface ScorerContext {
  /** The definition, when the caller passed one to `evaluateWorkflow`. */
  definition: WorkflowDefinition | undefined;
  tasks: readonly TaskEvaluation[];
  performance: Readonly<PerformanceMetrics>;
  agents: readonly AgentStats[];
  errorRate: number;
}

/** A custom score component: `score(result, ctx)` returns 0..1 or `null` to abstain; weighed into the evaluation's score. */
export interface EvaluationScorer {
  /** Shown in `quality.scoreBreakdown`; unique, and not one of the built-in names. */
  name: string;
  /** Relative weight beside the built-in weights (see `ScoreWeights`). */
  weight: number;
  /**
   * A value in 0..1, or null when the scorer has nothing to say about this
   * run (its weight is then left out). Throwing, or returning anything else,
   * does not fail the evaluation: the component is recorded with its error,
   * left out of the score, and a note says so.
   */
  score(result: WorkflowResult, context: ScorerContext): Promise<number | null> | number | null;
}

/**
 * Names must be unique and not built-in (shapes and weights are checked by
 * the options schema).
 * @throws TroupeError `INVALID_INPUT` naming the scorer.
 */
export function validateScorers(scorers: readonly EvaluationScorer[], site: ArgumentSite): void {
  const seen = new Set<string>(BUILTIN_COMPONENTS);
  scorers.forEach((scorer, index) => {
    if (seen.has(scorer.name)) {
      throw invalidArgument(site, [
        `options.scorers[${index}].name: ${JSON.stringify(scorer.name)} is already used by another scorer or a built-in component (${BUILTIN_COMPONENTS.join(', ')}); give each scorer its own name`,
      ]);
    }
    seen.add(scorer.name);
  });
}

/** Runs every scorer concurrently; the breakdown keeps the configured order. */
export async function runScorers(
  scorers: readonly EvaluationScorer[],
  result: WorkflowResult,
  context: ScorerContext,
): Promise<ScoreComponent[]> {
  return Promise.all(
    scorers.map(async (scorer): Promise<ScoreComponent> => {
      const base = { name: scorer.name, kind: 'custom' as const, weight: scorer.weight };
      try {
        const value = await scorer.score(result, context);
        if (value === null) return { ...base, value: null };
        if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
          return {
            ...base,
            value: null,
            error: `returned ${String(value)}, expected 0..1 or null`,
          };
        }
        return { ...base, value };
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        return { ...base, value: null, error: `threw: ${message}` };
      }
    }),
  );
}
