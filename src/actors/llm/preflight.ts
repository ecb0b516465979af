import { TroupeError } from '../../errors.js';
import { requestChat } from './chat-request.js';
import type { LlmClient } from './llm-client.js';

/** Options of {@link checkLlmServer}. */
export interface LlmPreflightOptions {
  /** Models that must be served. @default the client's model */
  models?: readonly string[];
  /** Aborts the checks. */
  signal?: AbortSignal;
}

/** What the preflight found: the models the server lists, when it lists them. */
export interface LlmPreflightReport {
  baseURL: string;
  /** Ids from `GET /models`; undefined when the server has no such route. */
  listed: string[] | undefined;
}

/**
 * Checks, before any planning, that the server answers and serves the model,
 * so a wrong URL or a model that was never pulled stops the run at once with
 * the cause and the fix instead of failing every task. It asks `GET /models`;
 * a model the list does not name (or a server without the route) is tried
 * with a one-token chat request, since some servers (llama.cpp) answer for
 * any model name.
 *
 * @throws TroupeError `LLM_UNAVAILABLE` with `context.reason`: `unreachable`
 * (connection refused, unknown host), `not-found` (404: usually `/v1` missing
 * from the URL), `unauthorized` (401/403), `unknown-model`, or `failed`.
 */
export async function checkLlmServer(
  client: LlmClient,
  options: LlmPreflightOptions = {},
): Promise<LlmPreflightReport> {
  const models = options.models ?? [client.model];
  const listed = await listModels(client, options.signal);
  for (const model of models) {
    if (listed && servesModel(listed, model)) continue;
    await tryModel(client, model, listed, options.signal);
  }
  return { baseURL: client.baseURL, listed };
}

async function listModels(
  client: LlmClient,
  signal: AbortSignal | undefined,
): Promise<string[] | undefined> {
  const openai = await client.openai();
  let ids: string[];
  try {
    const page = await openai.models.list({ maxRetries: 0, ...(signal ? { signal } : {}) });
    ids = page.data.map((m) => m.id).filter((id): id is string => typeof id === 'string');
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    const status = (error as { status?: unknown }).status;
    if (status === 404) {
      if (!/\/v1$/.test(client.baseURL) && (await routeExists(`${client.baseURL}/v1/models`))) {
        throw unavailable(
          client,
          'not-found',
          `the server at ${client.baseURL} answered 404, and ${client.baseURL}/v1 answers. Add /v1 to the base URL: --base-url ${client.baseURL}/v1 (or OPENAI_BASE_URL).`,
          error,
        );
      }
      return undefined;
    }
    if (status === 401 || status === 403) {
      throw unavailable(
        client,
        'unauthorized',
        `the server at ${client.baseURL} refused the API key (HTTP ${status}). Set OPENAI_API_KEY (or llm.apiKey) to a key it accepts.`,
        error,
      );
    }
    if (typeof status === 'number') return undefined;
    throw unreachable(client, error);
  }
  return ids;
}

/** Ollama lists `llama3.1:latest` for `llama3.1`; some servers list a path for the model file. */
function servesModel(listed: readonly string[], model: string): boolean {
  const wanted = model.includes(':') ? model : `${model}:latest`;
  return listed.some((id) => id === model || id === wanted);
}

async function tryModel(
  client: LlmClient,
  model: string,
  listed: readonly string[] | undefined,
  signal: AbortSignal | undefined,
): Promise<void> {
  try {
    await requestChat({
      client,
      site: { who: 'the preflight check', model },
      signal,
      params: { model, messages: [{ role: 'user', content: 'Say OK.' }], max_tokens: 1 },
    });
  } catch (error) {
    if (signal?.aborted) throw error;
    const status = error instanceof TroupeError ? error.context.status : undefined;
    const available = listed?.length ? ` It serves: ${listed.join(', ')}.` : '';
    if (status === 404 || (status === 400 && /model/i.test((error as Error).message))) {
      throw unavailable(
        client,
        'unknown-model',
        `model "${model}" is not served by ${client.baseURL}.${available} Pull or load it (Ollama: ollama pull ${model}; vLLM: --model or --served-model-name), or pass --model with one it serves.`,
        error,
      );
    }
    if (status === 401 || status === 403) {
      throw unavailable(
        client,
        'unauthorized',
        `the server at ${client.baseURL} refused the API key (HTTP ${status}). Set OPENAI_API_KEY (or llm.apiKey).`,
        error,
      );
    }
    if (status === undefined && causeCode(error)) throw unreachable(client, error);
    throw unavailable(
      client,
      'failed',
      `a one-token request for model "${model}" failed: ${(error as Error).message}`,
      error,
    );
  }
}

function unreachable(client: LlmClient, error: unknown): TroupeError {
  const code = causeCode(error);
  const what =
    code === 'ECONNREFUSED'
      ? 'connection refused: nothing listens there'
      : code === 'ENOTFOUND' || code === 'EAI_AGAIN'
        ? 'the host name does not resolve'
        : (error as Error).message;
  return unavailable(
    client,
    'unreachable',
    `cannot reach ${client.baseURL} (${what}). Start the server (Ollama: ollama serve, port 11434; llama.cpp: llama-server --port 8080; vLLM: vllm serve <model>, port 8000) or fix --base-url / OPENAI_BASE_URL.`,
    error,
  );
}

/** The system error code (ECONNREFUSED, ...) somewhere down the cause chain. */
function causeCode(error: unknown): string | undefined {
  for (
    let e = error as { code?: unknown; cause?: unknown } | undefined, depth = 0;
    e && depth < 5;
    depth++
  ) {
    if (typeof e.code === 'string' && /^E[A-Z_]+$/.test(e.code)) return e.code;
    e = e.cause as typeof e;
  }
  return undefined;
}

/** Whether anything but a 404 answers there (no key is sent: a 401 also proves the route). */
async function routeExists(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(5000) });
    await response.body?.cancel();
    return response.status !== 404;
  } catch {
    return false;
  }
}

function unavailable(
  client: LlmClient,
  reason: 'unreachable' | 'not-found' | 'unauthorized' | 'unknown-model' | 'failed',
  detail: string,
  cause?: unknown,
): TroupeError {
  return new TroupeError(
    'LLM_UNAVAILABLE',
    `LLM server check failed: ${detail}`,
    { baseURL: client.baseURL, model: client.model, reason },
    cause === undefined ? undefined : { cause },
  );
}
