import type { ChatCompletion } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { dict } from '../../schemas/dict.js';
import type { WorkflowResult } from '../../schemas/workflow-result.js';
import { costOf, type PriceTable } from './llm-prices.js';

/**
 * Tokens behind one task's output (or a plan). `requests` counts model calls
 * made over the network; `cached` counts answers served by a response cache.
 * The token counts include cached answers: they are what the output cost when
 * it was produced, which is what a budget cares about.
 */
export const tokenUsageSchema = z.object({
  promptTokens: z.number().int().min(0),
  completionTokens: z.number().int().min(0),
  totalTokens: z.number().int().min(0),
  requests: z.number().int().min(0),
  cached: z.number().int().min(0),
  /** Model calls whose tokens were estimated (4 characters a token) because the server reported no usage. */
  estimated: z.number().int().min(0).default(0),
});
/** Tokens used by one task (or summed over a run): prompt, completion, total, requests made, answers served from a cache, calls estimated. */
export type TokenUsage = z.output<typeof tokenUsageSchema>;

export function emptyUsage(): TokenUsage {
  return {
    promptTokens: 0,
    completionTokens: 0,
    totalTokens: 0,
    requests: 0,
    cached: 0,
    estimated: 0,
  };
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    requests: a.requests + b.requests,
    cached: a.cached + b.cached,
    estimated: a.estimated + b.estimated,
  };
}

/** Characters a token, for estimates: the usual figure for English text and code with BPE tokenizers. */
const CHARS_PER_TOKEN = 4;

/** Tokens of a text (or a request's JSON), estimated at 4 characters a token. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
}

/**
 * The usage a completion reports (streamed answers too: the request asks for
 * `stream_options.include_usage`). A server that reports none is estimated
 * from the request's and the answer's text, and counted in `estimated`.
 */
export function usageOfCompletion(
  completion: ChatCompletion,
  cached: boolean,
  request: unknown,
): TokenUsage {
  const calls = { requests: cached ? 0 : 1, cached: cached ? 1 : 0 };
  const usage = completion.usage;
  if (usage && Number.isFinite(usage.prompt_tokens) && Number.isFinite(usage.completion_tokens)) {
    const prompt = usage.prompt_tokens;
    const completionTokens = usage.completion_tokens;
    return {
      promptTokens: prompt,
      completionTokens,
      totalTokens: usage.total_tokens ?? prompt + completionTokens,
      ...calls,
      estimated: 0,
    };
  }
  const message = completion.choices[0]?.message;
  const prompt = estimateTokens(JSON.stringify(request) ?? '');
  const completionTokens = estimateTokens(
    (message?.content ?? '') + (message?.tool_calls ? JSON.stringify(message.tool_calls) : ''),
  );
  return {
    promptTokens: prompt,
    completionTokens,
    totalTokens: prompt + completionTokens,
    ...calls,
    estimated: 1,
  };
}

/** Usage of a whole run: the sum, each task and each agent that reported usage, and the money with a price table. */
export interface WorkflowUsage extends TokenUsage {
  byTask: Record<string, TokenUsage>;
  byAgent: Record<string, TokenUsage>;
  /** With `prices`: the money of the tasks whose model has a price. */
  cost?: number;
  /** With `prices`: models used that have no price (their tokens are not in `cost`). */
  unpriced?: string[];
}

/**
 * Sums the token usage of a run: every task whose output carries a
 * `usage` of the {@link TokenUsage} shape (LLM agents' outputs do), so it
 * works on live results and on results read back from the store. With a
 * price table, each task's tokens are priced by its output's `model`.
 */
export function usageOf(
  result: Pick<WorkflowResult, 'tasks'>,
  options: { prices?: PriceTable } = {},
): WorkflowUsage {
  let total = emptyUsage();
  const byTask = dict<TokenUsage>();
  const byAgent = dict<TokenUsage>();
  let cost = 0;
  const unpriced = new Set<string>();
  for (const [taskId, task] of Object.entries(result.tasks)) {
    const usage = reportedUsage(task.output);
    if (!usage) continue;
    byTask[taskId] = usage;
    byAgent[task.agent] = addUsage(byAgent[task.agent] ?? emptyUsage(), usage);
    total = addUsage(total, usage);
    if (options.prices) {
      const model = String((task.output as { model?: unknown }).model ?? '');
      const taskCost = costOf(usage, model, options.prices);
      if (taskCost === undefined) unpriced.add(model);
      else cost += taskCost;
    }
  }
  return {
    ...total,
    byTask,
    byAgent,
    ...(options.prices ? { cost, unpriced: [...unpriced] } : {}),
  };
}

/** The `usage` field of an output or a plan's metadata, if it has the right shape. */
export function reportedUsage(value: unknown): TokenUsage | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const parsed = tokenUsageSchema.safeParse((value as { usage?: unknown }).usage);
  return parsed.success ? parsed.data : undefined;
}
