import type OpenAI from 'openai';
import { TroupeError } from '../../errors.js';
import { loadOpenAi } from './openai-module.js';

/**
 * How to reach an OpenAI-compatible server (OpenAI, Ollama, vLLM, LM Studio,
 * llama.cpp's server). Every field left out is read from the environment.
 */
export interface LlmOptions {
  /**
   * Base URL of the API, including `/v1`, e.g. `http://127.0.0.1:11434/v1` for Ollama.
   * @default process.env.OPENAI_BASE_URL, else OpenAI's API
   */
  baseURL?: string;
  /**
   * API key. Local servers ignore it, so with a `baseURL` and no key a placeholder is sent.
   * @default process.env.OPENAI_API_KEY
   */
  apiKey?: string;
  /**
   * Chat model of the planner and of agents that name none.
   * @default process.env.TROUPE_MODEL, else `gpt-4o-mini` for OpenAI's API (required for other servers)
   */
  model?: string;
  /**
   * Model of the `generate_embeddings` tool.
   * @default process.env.TROUPE_EMBEDDING_MODEL, else `text-embedding-3-small`
   */
  embeddingModel?: string;
  /**
   * Retries of one request on 408, 409, 429, 5xx and connection errors, done by
   * the `openai` client (it honours `retry-after` and `retry-after-ms`).
   * @default 2
   */
  maxRetries?: number;
  /**
   * Limit on one request attempt until the response starts, and on the silence
   * between two chunks of a streamed response.
   * @default 600000 (the openai client's own default)
   */
  timeoutMs?: number;
}

/** A configured client: the settings that troupe reads, and the `openai` client made from them. */
export interface LlmClient {
  /**
   * The `openai` client, made on first call: the `openai` package is loaded
   * only then, so programs that never call a model do not pay for it.
   */
  openai(): Promise<OpenAI>;
  readonly model: string;
  readonly embeddingModel: string;
  /** Where requests go; shown in errors. */
  readonly baseURL: string;
  readonly timeoutMs: number;
  readonly maxRetries: number;
}

/** The environment variables read by {@link createLlmClient}. */
export type LlmEnv = Readonly<Record<string, string | undefined>>;

const OPENAI_URL = 'https://api.openai.com/v1';
const DEFAULT_OPENAI_MODEL = 'gpt-4o-mini';
const DEFAULT_EMBEDDING_MODEL = 'text-embedding-3-small';
const DEFAULT_TIMEOUT_MS = 600_000;
const DEFAULT_MAX_RETRIES = 2;
/** Local servers want some bearer token but never check it. */
const PLACEHOLDER_KEY = 'not-needed';

/**
 * Builds a client from options, falling back to `OPENAI_BASE_URL`,
 * `OPENAI_API_KEY`, `TROUPE_MODEL` and `TROUPE_EMBEDDING_MODEL`.
 *
 * @throws TroupeError `CONFIG_ERROR` when OpenAI's API is used without a key,
 * another server without a model, or a limit is not a non-negative integer.
 */
export function createLlmClient(options: LlmOptions = {}, env: LlmEnv = process.env): LlmClient {
  const explicitURL = nonEmpty(options.baseURL) ?? nonEmpty(env.OPENAI_BASE_URL);
  const baseURL = (explicitURL ?? OPENAI_URL).replace(/\/+$/, '');
  const isOpenAi = explicitURL === undefined || baseURL === OPENAI_URL;
  const apiKey = nonEmpty(options.apiKey) ?? nonEmpty(env.OPENAI_API_KEY);
  if (!apiKey && isOpenAi) {
    throw new TroupeError(
      'CONFIG_ERROR',
      "LLM: no API key for OpenAI's API. Set OPENAI_API_KEY (or llm.apiKey), or point OPENAI_BASE_URL (llm.baseURL) at a local server such as Ollama.",
      { issues: ['apiKey: missing'] },
    );
  }
  const model =
    nonEmpty(options.model) ??
    nonEmpty(env.TROUPE_MODEL) ??
    (isOpenAi ? DEFAULT_OPENAI_MODEL : undefined);
  if (!model) {
    throw new TroupeError(
      'CONFIG_ERROR',
      `LLM: no model for ${baseURL}. Set TROUPE_MODEL (or llm.model, or --model) to a model that server serves, e.g. "llama3.1".`,
      { issues: ['model: missing'] },
    );
  }
  const timeoutMs = count('timeoutMs', options.timeoutMs, DEFAULT_TIMEOUT_MS, 1);
  const maxRetries = count('maxRetries', options.maxRetries, DEFAULT_MAX_RETRIES, 0);
  let client: Promise<OpenAI> | undefined;
  return {
    openai: () => {
      client ??= loadOpenAi().then(
        (sdk) =>
          new sdk.OpenAI({
            baseURL,
            apiKey: apiKey ?? PLACEHOLDER_KEY,
            timeout: timeoutMs,
            maxRetries,
          }),
      );
      return client;
    },
    model,
    embeddingModel:
      nonEmpty(options.embeddingModel) ??
      nonEmpty(env.TROUPE_EMBEDDING_MODEL) ??
      DEFAULT_EMBEDDING_MODEL,
    baseURL,
    timeoutMs,
    maxRetries,
  };
}

/** Accepts a ready client or options; options are turned into a client once, here. */
export function toLlmClient(llm: LlmOptions | LlmClient | undefined, env?: LlmEnv): LlmClient {
  if (llm && 'openai' in llm && typeof llm.openai === 'function') return llm;
  return createLlmClient(llm as LlmOptions | undefined, env);
}

/**
 * Whether the environment (or command-line flags) ask for an LLM. An API key
 * alone does not: a key exported for other tools should not make `troupe run`
 * start spending tokens.
 */
export function llmRequested(
  flags: { model?: string | undefined; baseURL?: string | undefined },
  env: LlmEnv = process.env,
): boolean {
  return Boolean(
    nonEmpty(flags.model) ??
      nonEmpty(flags.baseURL) ??
      nonEmpty(env.TROUPE_MODEL) ??
      nonEmpty(env.OPENAI_BASE_URL),
  );
}

function nonEmpty(value: string | undefined): string | undefined {
  const trimmed = value?.trim();
  return trimmed ? trimmed : undefined;
}

function count(name: string, value: number | undefined, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TroupeError(
      'CONFIG_ERROR',
      `LLM: ${name} is ${String(value)}; it must be an integer >= ${min}.`,
      { issues: [`${name}: must be an integer >= ${min}`] },
    );
  }
  return value;
}
