import type { ChatCompletion } from 'openai/resources/chat/completions';

/**
 * Identifies one model call of an LLM agent: the n-th call (`turn`, from 1)
 * of one attempt of one task. `idempotencyKey` is the task's
 * `workflowId:taskId`, which is the same after a crash and resume, so a
 * journal keyed by it can answer a re-run of an in-flight task.
 */
export interface LlmCallKey {
  idempotencyKey: string;
  attempt: number;
  turn: number;
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

/** `<idempotencyKey>/<attempt>/<turn>`, numbers zero-padded so keys sort by attempt, then turn. */
export function callKeyString(key: LlmCallKey): string {
  return `${key.idempotencyKey}/${pad(key.attempt)}/${pad(key.turn)}`;
}

function pad(n: number): string {
  return String(n).padStart(6, '0');
}

/** A cache in memory: answers last as long as the process (tests, one-off scripts). */
export class MemoryLlmResponseCache implements LlmResponseCache {
  private readonly entries = new Map<string, string>();

  /** The stored answer for this call, if any. */
  async get(key: LlmCallKey): Promise<ChatCompletion | undefined> {
    const stored = this.entries.get(callKeyString(key));
    // Stored as JSON so a caller mutating an answer cannot change the cache.
    return stored === undefined ? undefined : (JSON.parse(stored) as ChatCompletion);
  }

  /** Stores the answer for this call. */
  async put(key: LlmCallKey, response: ChatCompletion): Promise<void> {
    this.entries.set(callKeyString(key), JSON.stringify(response));
  }

  get size(): number {
    return this.entries.size;
  }
}
