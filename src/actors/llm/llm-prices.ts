import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import { dictFrom } from '../../schemas/dict.js';
import { formatZodIssues } from '../../schemas/validate.js';
import type { TokenUsage } from './token-usage.js';

/** What one model costs, per million tokens, in any currency (the same one across a table). */
export const modelPriceSchema = z.strictObject({
  /** Price of a million prompt tokens. */
  inputPerMillion: z.number().min(0),
  /** Price of a million completion tokens. */
  outputPerMillion: z.number().min(0),
});
export type ModelPrice = z.infer<typeof modelPriceSchema>;

/** Prices by model name (as the agent sends it, e.g. `gpt-4o-mini` or `qwen2.5-coder:7b`). */
export type PriceTable = Readonly<Record<string, ModelPrice>>;

const priceTableSchema = z.record(z.string().min(1), modelPriceSchema);

/**
 * Checks a price table and copies it without a prototype (model names are
 * user keys).
 * @throws TroupeError `INVALID_INPUT` naming each bad entry.
 */
export function checkPrices(prices: unknown, where: string): PriceTable {
  const parsed = priceTableSchema.safeParse(prices);
  if (!parsed.success) {
    const issues = formatZodIssues(parsed.error, 'prices');
    throw new TroupeError(
      'INVALID_INPUT',
      `${where}: ${issues.join('; ')}. Write prices as { 'model-name': { inputPerMillion, outputPerMillion } }.`,
      { issues },
    );
  }
  return dictFrom(parsed.data, (price) => price);
}

/** The price of a model, if the table has one (own keys only). */
export function priceOf(prices: PriceTable | undefined, model: string): ModelPrice | undefined {
  return prices && Object.hasOwn(prices, model) ? prices[model] : undefined;
}

/** What `usage` of `model` costs, or undefined when the table has no price for it. */
export function costOf(
  usage: Pick<TokenUsage, 'promptTokens' | 'completionTokens'>,
  model: string,
  prices: PriceTable | undefined,
): number | undefined {
  const price = priceOf(prices, model);
  if (!price) return undefined;
  return (
    (usage.promptTokens * price.inputPerMillion + usage.completionTokens * price.outputPerMillion) /
    1_000_000
  );
}
