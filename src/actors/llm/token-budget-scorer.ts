import { TroupeError } from '../../errors.js';
import type { EvaluationScorer } from '../evaluator/scorers.js';
import { usageOf } from './token-usage.js';

/** Options of `tokenBudgetScorer`. */
export interface TokenBudgetScorerOptions {
  /** Tokens (prompt + completion, all tasks) a run may spend for full marks. */
  budget: number;
  /** Weight beside the evaluator's built-in components. @default 0.1 */
  weight?: number;
  /** Name in the score breakdown. @default 'token-budget' */
  name?: string;
}

/**
 * Brings token usage into the evaluator: a score component that is 1 while
 * a run's tokens (summed by `usageOf`) stay within `budget` and falls as
 * budget / used beyond it. Runs without LLM tasks get no value, so the
 * component does not count for them.
 *
 * @example new WorkflowEvaluator({ scorers: [tokenBudgetScorer({ budget: 50_000 })] })
 * @throws TroupeError `CONFIG_ERROR` unless `budget` is a positive number.
 */
export function tokenBudgetScorer(options: TokenBudgetScorerOptions): EvaluationScorer {
  const { budget } = options;
  if (!(Number.isFinite(budget) && budget > 0)) {
    throw new TroupeError(
      'CONFIG_ERROR',
      `tokenBudgetScorer: budget must be a positive number of tokens, not ${String(budget)}.`,
    );
  }
  return {
    name: options.name ?? 'token-budget',
    weight: options.weight ?? 0.1,
    score(result) {
      const usage = usageOf(result);
      if (Object.keys(usage.byTask).length === 0) return null;
      return usage.totalTokens <= budget ? 1 : budget / usage.totalTokens;
    },
  };
}
