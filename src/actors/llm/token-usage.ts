import type { ChatCompletion } from 'openai/resources/chat/completions';
import { z } from 'zod';
import type { WorkflowResult } from '../../schemas/workflow-result.js';

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
});
/** Tokens used by one task (or summed over a run): prompt, completion, total, requests made, answers served from a cache. */
export type TokenUsage = z.infer<typeof tokenUsageSchema>;

/** Usage of a whole run: the sum, and each task that reported usage. */
export interface WorkflowUsage extends TokenUsage {
  byTask: Record<string, TokenUsage>;
}

export function emptyUsage(): TokenUsage {
  return { promptTokens: 0, completionTokens: 0, totalTokens: 0, requests: 0, cached: 0 };
}

export function addUsage(a: TokenUsage, b: TokenUsage): TokenUsage {
  return {
    promptTokens: a.promptTokens + b.promptTokens,
    completionTokens: a.completionTokens + b.completionTokens,
    totalTokens: a.totalTokens + b.totalTokens,
    requests: a.requests + b.requests,
    cached: a.cached + b.cached,
  };
}

/** The usage a completion reports; a server that reports none counts as zero tokens. */
export function usageOfCompletion(completion: ChatCompletion, cached: boolean): TokenUsage {
  const usage = completion.usage;
  const prompt = usage?.prompt_tokens ?? 0;
  const completionTokens = usage?.completion_tokens ?? 0;
  return {
    promptTokens: prompt,
    completionTokens,
    totalTokens: usage?.total_tokens ?? prompt + completionTokens,
    requests: cached ? 0 : 1,
    cached: cached ? 1 : 0,
  };
}

/**
 * Sums the token usage of a run: every task whose output carries a
 * `usage` of the {@link TokenUsage} shape (LLM agents' outputs do), so it
 * works on live results and on results read back from the store.
 */
export function usageOf(result: Pick<WorkflowResult, 'tasks'>): WorkflowUsage {
  let total = emptyUsage();
  const byTask: Record<string, TokenUsage> = {};
  for (const [taskId, task] of Object.entries(result.tasks)) {
    const usage = reportedUsage(task.output);
    if (!usage) continue;
    byTask[taskId] = usage;
    total = addUsage(total, usage);
  }
  return { ...total, byTask };
}

/** The `usage` field of an output or a plan's metadata, if it has the right shape. */
export function reportedUsage(value: unknown): TokenUsage | undefined {
  if (value === null || typeof value !== 'object') return undefined;
  const parsed = tokenUsageSchema.safeParse((value as { usage?: unknown }).usage);
  return parsed.success ? parsed.data : undefined;
}
