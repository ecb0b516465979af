import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import { dict } from '../../schemas/dict.js';
import { formatZodIssues } from '../../schemas/validate.js';
import { checkPrices, costOf, type PriceTable, priceOf } from './llm-prices.js';
import type { TokenUsage } from './token-usage.js';

/** Options of {@link LlmBudget}. */
export interface LlmBudgetOptions {
  /** Most tokens (prompt + completion) the model calls of one run may use. @default no limit */
  maxTokens?: number;
  /** Most money the model calls of one run may cost, in the currency of `prices`; each model used needs a price. @default no limit */
  maxCost?: number;
  /** Price per million tokens by model name, for `maxCost` (and the agents' cost figures). @default {} */
  prices?: PriceTable;
  /**
   * The longest answer a call may produce, in tokens: sent as `max_tokens`
   * and counted as the call's worst case before it is made.
   * @default 4096
   */
  maxOutputTokens?: number;
}

const budgetOptionsSchema = z
  .strictObject({
    maxTokens: z.number().int().positive().optional(),
    maxCost: z.number().positive().optional(),
    prices: z.unknown().optional(),
    maxOutputTokens: z.number().int().positive().default(4096),
  })
  .refine((o) => o.maxTokens !== undefined || o.maxCost !== undefined, {
    message: 'give maxTokens, maxCost or both',
  });

/** What one run has spent and holds for calls in flight. */
interface Ledger {
  tokens: number;
  cost: number;
  reservedTokens: number;
  reservedCost: number;
}

/** A call's worst case, held from before the request until its usage is known. */
export interface BudgetReservation {
  /** The `max_tokens` to send. */
  readonly maxOutputTokens: number;
  /** Replaces the worst case by what the call used (`undefined`: the call failed, nothing was used that is known). */
  settle(usage: TokenUsage | undefined): void;
}

/**
 * A spending limit per run, shared by the LLM agents given it
 * (`defineLlmAgent({ budget })`). Before each model call the agent reserves
 * the call's worst case: the prompt (estimated at 4 characters a token) plus
 * `maxOutputTokens`, which is also sent as `max_tokens`. If what the run has
 * spent, plus what calls in flight hold, plus this worst case would pass
 * `maxTokens` or `maxCost`, the call is not made: the task fails with
 * `BUDGET_EXCEEDED` (not retried), which fails the run. So a run stops
 * before it exceeds its budget, not after, as far as the prompt estimate
 * holds.
 *
 * The ledger is in memory: a run resumed in a new process starts from what
 * that process spends (tasks completed before the restart are not counted).
 * Answers served by a response cache cost nothing.
 *
 * @throws TroupeError `INVALID_INPUT` for bad options.
 */
export class LlmBudget {
  readonly maxTokens: number | undefined;
  readonly maxCost: number | undefined;
  readonly prices: PriceTable;
  readonly maxOutputTokens: number;
  private readonly ledgers = dict<Ledger>();

  constructor(options: LlmBudgetOptions) {
    const parsed = budgetOptionsSchema.safeParse(options);
    if (!parsed.success) {
      const issues = formatZodIssues(parsed.error);
      throw new TroupeError('INVALID_INPUT', `new LlmBudget(options): ${issues.join('; ')}`, {
        issues,
      });
    }
    this.maxTokens = parsed.data.maxTokens;
    this.maxCost = parsed.data.maxCost;
    this.maxOutputTokens = parsed.data.maxOutputTokens;
    this.prices = checkPrices(parsed.data.prices ?? {}, 'new LlmBudget({ prices })');
  }

  /** Tokens and money the run has spent in this process (calls in flight not included). */
  spent(workflowId: string): { tokens: number; cost: number } {
    const ledger = this.ledgers[workflowId];
    return { tokens: ledger?.tokens ?? 0, cost: ledger?.cost ?? 0 };
  }

  /**
   * Holds a call's worst case.
   * @throws TroupeError `BUDGET_EXCEEDED` when it does not fit, `CONFIG_ERROR` for `maxCost` with a model that has no price.
   */
  reserve(workflowId: string, model: string, promptTokens: number, who: string): BudgetReservation {
    if (this.maxCost !== undefined && !priceOf(this.prices, model)) {
      throw new TroupeError(
        'CONFIG_ERROR',
        `${who}: the budget has maxCost but no price for model "${model}". Add it: prices: { '${model}': { inputPerMillion, outputPerMillion } }.`,
        { model },
      );
    }
    this.ledgers[workflowId] ??= { tokens: 0, cost: 0, reservedTokens: 0, reservedCost: 0 };
    const ledger = this.ledgers[workflowId];
    const worst = { promptTokens: promptTokens, completionTokens: this.maxOutputTokens };
    const worstTokens = promptTokens + this.maxOutputTokens;
    const worstCost = costOf(worst, model, this.prices) ?? 0;
    const tokensAfter = ledger.tokens + ledger.reservedTokens + worstTokens;
    const costAfter = ledger.cost + ledger.reservedCost + worstCost;
    if (this.maxTokens !== undefined && tokensAfter > this.maxTokens) {
      throw this.exceeded(
        who,
        workflowId,
        `${ledger.tokens} tokens spent${ledger.reservedTokens > 0 ? `, ${ledger.reservedTokens} held by calls in flight` : ''}, and the next call may use ${worstTokens} (about ${promptTokens} prompt + ${this.maxOutputTokens} max_tokens): that could pass maxTokens = ${this.maxTokens}`,
        'raise maxTokens, or lower maxOutputTokens',
      );
    }
    if (this.maxCost !== undefined && costAfter > this.maxCost) {
      throw this.exceeded(
        who,
        workflowId,
        `${ledger.cost.toFixed(6)} spent, and the next call may cost ${worstCost.toFixed(6)}: that could pass maxCost = ${this.maxCost}`,
        'raise maxCost, or use a cheaper model',
      );
    }
    ledger.reservedTokens += worstTokens;
    ledger.reservedCost += worstCost;
    let settled = false;
    return {
      maxOutputTokens: this.maxOutputTokens,
      settle: (usage) => {
        if (settled) return;
        settled = true;
        ledger.reservedTokens -= worstTokens;
        ledger.reservedCost -= worstCost;
        if (!usage) return;
        ledger.tokens += usage.totalTokens;
        ledger.cost += costOf(usage, model, this.prices) ?? 0;
      },
    };
  }

  private exceeded(who: string, workflowId: string, what: string, fix: string): TroupeError {
    const spent = this.spent(workflowId);
    return new TroupeError(
      'BUDGET_EXCEEDED',
      `${who}: the run's LLM budget would be exceeded: ${what}. The call was not made; ${fix}.`,
      {
        workflowId,
        spentTokens: spent.tokens,
        spentCost: spent.cost,
        ...(this.maxTokens === undefined ? {} : { maxTokens: this.maxTokens }),
        ...(this.maxCost === undefined ? {} : { maxCost: this.maxCost }),
      },
    );
  }
}
