import { createHash } from 'node:crypto';
import type { ChatCompletion } from 'openai/resources/chat/completions';

/**
 * Identifies one model call of an LLM agent in two ways: where it was made
 * (the n-th call, `turn`, of one attempt of the task `workflowId:taskId`) and
 * what it asked (`request`, a hash of the model, the messages, the tools and
 * the sampling settings). Caches key by `request` unless told otherwise, so
 * the same question is answered once, whichever run asks it.
 */
export interface LlmCallKey {
  idempotencyKey: string;
  attempt: number;
  turn: number;
  /** sha256 (hex) of the request's content: see {@link requestHash}. */
  request: string;
}

/**
 * How a cache finds answers: `content` by what was asked (a re-run, even as a
 * new run, pays nothing for the steps it repeats), `call` by task, attempt and
 * turn (only the same run's re-run is served).
 */
export type LlmCacheKeying = 'content' | 'call';

/**
 * The hash of what a model call asks: everything that shapes the answer
 * (model, messages, tools, sampling settings, response format), nothing about
 * where it was asked. Object keys are sorted so equal requests hash equally.
 */
export function requestHash(params: Record<string, unknown>): string {
  return createHash('sha256').update(stableJson(params)).digest('hex');
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${stableJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/**
 * Remembers model answers so that running the same turn again (a resumed
 * in-flight task) does not call the model again. An agent asks `get` before
 * each call and `put`s the answer before it acts on it (runs tools), so an
 * answer is never acted on without being recorded first.
 *
 * Tool calls of a cached turn run again: tools must tolerate that (the
 * built-in ones do; writing the same file twice is harmless).
 */
export interface LlmResponseCache {
  /** The stored answer for this call, if any. */
  get(key: LlmCallKey): Promise<ChatCompletion | undefined>;
  /** Stores the answer for this call. */
  put(key: LlmCallKey, response: ChatCompletion): Promise<void>;
}

/**
 * The key's string: `req/<request hash>` by content, or
 * `<idempotencyKey>/<attempt>/<turn>` by call (numbers zero-padded so keys
 * sort by attempt, then turn).
 */
export function callKeyString(key: LlmCallKey, keying: LlmCacheKeying = 'content'): string {
  if (keying === 'content') return `req/${key.request}`;
  return `${key.idempotencyKey}/${pad(key.attempt)}/${pad(key.turn)}`;
}

function pad(n: number): string {
  return String(n).padStart(6, '0');
}

/** A cache in memory: answers last as long as the process (tests, one-off scripts). */
export class MemoryLlmResponseCache implements LlmResponseCache {
  private readonly entries = new Map<string, string>();

  /** @param options.keyBy How answers are found. @default 'content' */
  constructor(private readonly options: { keyBy?: LlmCacheKeying } = {}) {}

  /** The stored answer for this call, if any. */
  async get(key: LlmCallKey): Promise<ChatCompletion | undefined> {
    const stored = this.entries.get(callKeyString(key, this.options.keyBy));
    // Stored as JSON so a caller mutating an answer cannot change the cache.
    return stored === undefined ? undefined : (JSON.parse(stored) as ChatCompletion);
  }

  /** Stores the answer for this call. */
  async put(key: LlmCallKey, response: ChatCompletion): Promise<void> {
    this.entries.set(callKeyString(key, this.options.keyBy), JSON.stringify(response));
  }

  get size(): number {
    return this.entries.size;
  }
}
