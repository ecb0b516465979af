import type { ChatCompletion } from 'openai/resources/chat/completions';
import { TroupeError } from '../../errors.js';
import { assertId } from '../../store/keys.js';
import type { Collection, Store } from '../../store/store.js';
import {
  callKeyString,
  type LlmCacheKeying,
  type LlmCallKey,
  type LlmResponseCache,
} from './response-cache.js';

/** What one stored answer looks like. */
export interface StoredLlmResponse {
  key: LlmCallKey;
  response: ChatCompletion;
}

/** Options of `new StoreLlmResponseCache(store, options)`. */
export interface StoreLlmResponseCacheOptions {
  /**
   * Collection the answers are kept in. `journal` cannot be used: its keys are
   * `<workflowId>/<seq>` and replay reads every key under a workflow.
   * @default 'meta'
   */
  collection?: Exclude<Collection, 'journal'>;
  /**
   * Key prefix inside the collection; keys are `<prefix>/req/<request hash>`
   * (by content) or `<prefix>/<workflowId>:<taskId>/<attempt>/<turn>` (by call).
   * @default 'llm'
   */
  prefix?: string;
  /**
   * `content`: an answer serves any later call that asks the same (a re-run as
   * a new run included); `call`: only the same task, attempt and turn.
   * @default 'content'
   */
  keyBy?: LlmCacheKeying;
}

/**
 * A response cache over the runtime's store, so answers survive the process:
 * a run resumed after a crash finds the answers of its in-flight LLM tasks.
 * Each answer is written in its own batch before the agent acts on it.
 *
 * @example
 * ```ts
 * const rt = await createRuntime({ llm: {} });
 * const cache = new StoreLlmResponseCache(rt.store);
 * for (const agent of specialists({ llm: rt.options.llm!, workspace: 'ws', cache })) rt.registerAgent(agent);
 * ```
 */
export class StoreLlmResponseCache implements LlmResponseCache {
  private readonly collection: Exclude<Collection, 'journal'>;
  private readonly prefix: string;
  private readonly keyBy: LlmCacheKeying;

  constructor(
    private readonly store: Store,
    options: StoreLlmResponseCacheOptions = {},
  ) {
    this.collection = options.collection ?? 'meta';
    this.prefix = options.prefix ?? 'llm';
    this.keyBy = options.keyBy ?? 'content';
    assertId('LLM cache key prefix', this.prefix);
    if ((this.collection as Collection) === 'journal') {
      throw new TroupeError(
        'CONFIG_ERROR',
        "StoreLlmResponseCache: the 'journal' collection is reserved for workflow events; use 'meta' (the default).",
      );
    }
  }

  /** The stored answer for this call, if any. */
  async get(key: LlmCallKey): Promise<ChatCompletion | undefined> {
    const stored = await this.store.get<StoredLlmResponse>(this.collection, this.keyOf(key));
    return stored?.response;
  }

  /** Stores the answer for this call. */
  async put(key: LlmCallKey, response: ChatCompletion): Promise<void> {
    const value: StoredLlmResponse = { key: { ...key }, response };
    await this.store.batch([
      { type: 'put', collection: this.collection, key: this.keyOf(key), value },
    ]);
  }

  /**
   * Deletes every answer a workflow's tasks stored by call (`keyBy: 'call'`),
   * once the run has ended for good; answers keyed by content belong to no
   * run and stay. Ids are matched as `<workflowId>:`, so forgetting `a` also forgets
   * a workflow named `a:b`; generated ids never look like that.
   */
  async forget(workflowId: string): Promise<number> {
    assertId('workflow id', workflowId);
    // ':' ends the workflow id inside `workflowId:taskId`; ';' is the next character.
    const range = { gte: `${this.prefix}/${workflowId}:`, lt: `${this.prefix}/${workflowId};` };
    const keys: string[] = [];
    for await (const [key] of this.store.range(this.collection, range)) keys.push(key);
    if (keys.length > 0) {
      await this.store.batch(
        keys.map((key) => ({ type: 'del', collection: this.collection, key })),
      );
    }
    return keys.length;
  }

  private keyOf(key: LlmCallKey): string {
    return `${this.prefix}/${callKeyString(key, this.keyBy)}`;
  }
}
