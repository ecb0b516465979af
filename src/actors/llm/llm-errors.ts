import { TroupeError } from '../../errors.js';
import type { LlmClient } from './llm-client.js';
import { openAiIfLoaded } from './openai-module.js';

/** Who made the request, for messages that say where to look. */
export interface LlmCallSite {
  /** For example `agent "backend", task "api"` or `planner`. */
  who: string;
  model: string;
}

/**
 * The reason to rethrow when the caller's signal was aborted: the workflow's
 * own error (TASK_ABORTED on cancel, TASK_TIMEOUT on a task timeout), so the
 * executor classifies the failure exactly as for any other agent.
 */
export function abortReason(signal: AbortSignal, site: LlmCallSite): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  return new TroupeError('TASK_ABORTED', `LLM request of ${site.who} was aborted.`, {
    model: site.model,
  });
}

/**
 * Turns whatever the `openai` client threw into a TroupeError that names the
 * caller, the server and the model; the original error is kept as `cause`.
 */
export function toLlmError(
  error: unknown,
  client: LlmClient,
  site: LlmCallSite,
  signal?: AbortSignal,
): Error {
  if (signal?.aborted) return abortReason(signal, site);
  if (error instanceof TroupeError) return error;
  const where = `${site.who} (model "${site.model}" at ${client.baseURL})`;
  const context = { model: site.model, baseURL: client.baseURL };
  const sdk = openAiIfLoaded();
  if (sdk && error instanceof sdk.APIConnectionTimeoutError) {
    return new TroupeError(
      'TASK_TIMEOUT',
      `LLM request of ${where} timed out after ${client.timeoutMs} ms (${client.maxRetries} retries). Raise llm.timeoutMs or check the server.`,
      context,
      { cause: error },
    );
  }
  if (sdk && error instanceof sdk.APIUserAbortError) {
    return new TroupeError('TASK_ABORTED', `LLM request of ${where} was aborted.`, context, {
      cause: error,
    });
  }
  if (sdk && error instanceof sdk.APIError) {
    const status = error.status === undefined ? 'no status' : `HTTP ${error.status}`;
    const retried =
      error.status === 429 || (error.status ?? 0) >= 500
        ? ` after ${client.maxRetries} retries`
        : '';
    return new TroupeError(
      'TASK_FAILED',
      `LLM request of ${where} failed${retried}: ${status}: ${error.message}`,
      { ...context, status: error.status },
      { cause: error },
    );
  }
  const message = error instanceof Error ? error.message : String(error);
  if (error instanceof SyntaxError) {
    return new TroupeError(
      'TASK_FAILED',
      `LLM request of ${where} failed: the server answered with malformed JSON (${message}).`,
      context,
      { cause: error },
    );
  }
  return new TroupeError('TASK_FAILED', `LLM request of ${where} failed: ${message}`, context, {
    cause: error,
  });
}
