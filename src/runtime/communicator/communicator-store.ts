/**
 * The communicator's persistence: what its machine records goes to the store
 * in batches, and comes back per scope (lazily, the first time a workflow is
 * touched) when a runtime opens the same data folder.
 *
 * | collection | key                          | value                                  |
 * |------------|------------------------------|----------------------------------------|
 * | `contexts` | `<workflowId>`               | {@link CommunicatorRecord}: shared context, per-key history, held locks |
 * | `messages` | `<workflowId or "_">/<seq>[/<writer>]` | {@link StoredMessage} (`writer`: the process, on a store several share) |
 */
import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import type { CommunicatorRecord, StoredMessage } from '../../machines/communicator/index.js';
import type { AgentMessage, MessageType } from '../../schemas/agent-message.js';
import { parseStoredMessage } from '../../schemas/agent-message.js';
import { dictFrom } from '../../schemas/dict.js';
import { formatJsonIssue, inspectJson, type JsonValue } from '../../schemas/json-value.js';
import { formatZodIssues } from '../../schemas/validate.js';
import { messageKey, NO_WORKFLOW, prefixRange, workflowKey } from '../../store/keys.js';
import type { Store, StoreOp } from '../../store/store.js';

/**
 * Group commit: everything recorded during one turn of the event loop goes
 * to the store as one atomic batch, one batch at a time so they land in
 * order. A workflow's record is serialised when its batch is handed to the
 * store (both backends encode synchronously inside `batch()`), so a burst of
 * updates to one workflow costs one write of its latest state.
 *
 * A failed batch is never acknowledged: `flushed()` rejects with its error
 * then and ever after (the store refuses later writes too, see `FailStopStore`).
 */
export class CommunicatorWriter {
  #messages: StoreOp[] = [];
  /** Scopes with messages not yet handed to the store. */
  #messageScopes = new Set<string>();
  /** Workflows whose record must be written again. */
  #dirty = new Set<string>();
  #waiting: Waiter[] = [];
  #writing: Promise<void> | null = null;
  #scheduled = false;
  #failure: unknown;

  constructor(
    private readonly store: Store,
    /** The current record of a loaded workflow, built when its batch is written. */
    private readonly readRecord: (workflowId: string) => CommunicatorRecord | undefined,
    private readonly onError: (error: unknown) => void,
    /** This process's id in message keys, on a store several processes write (see `messageKey`). */
    private readonly writerId?: string,
  ) {}

  messages(stored: readonly StoredMessage[]): void {
    for (const entry of stored) {
      const { workflowId } = entry.message;
      this.#messages.push({
        type: 'put',
        collection: 'messages',
        key: messageKey(workflowId, entry.seq, this.writerId),
        value: entry,
      });
      this.#messageScopes.add(workflowId ?? NO_WORKFLOW);
    }
    this.#schedule();
  }

  changed(workflowId: string): void {
    this.#dirty.add(workflowId);
    this.#schedule();
  }

  /** True while something of `scope` waits to be handed to the store. */
  hasPending(scope: string): boolean {
    return this.#messageScopes.has(scope) || this.#dirty.has(scope);
  }

  /** Resolves once everything recorded before the call is written; rejects if a batch failed. */
  flushed(): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.#messages.length === 0 && this.#dirty.size === 0) {
      return this.#writing ?? Promise.resolve();
    }
    return new Promise((resolve, reject) => this.#waiting.push({ resolve, reject }));
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: let the whole turn's operations pile up first.
    setImmediate(() => this.#drain());
  }

  #drain(): void {
    this.#scheduled = false;
    if (this.#writing) return; // the batch in flight schedules the next one
    const ops = this.#messages;
    for (const workflowId of this.#dirty) {
      const value = this.readRecord(workflowId);
      if (value)
        ops.push({ type: 'put', collection: 'contexts', key: workflowKey(workflowId), value });
    }
    const waiting = this.#waiting;
    this.#messages = [];
    this.#messageScopes.clear();
    this.#dirty.clear();
    this.#waiting = [];
    let written: Promise<void>;
    try {
      if (this.#failure !== undefined) throw this.#failure;
      written = ops.length > 0 ? this.store.batch(ops) : Promise.resolve();
    } catch (error) {
      written = Promise.reject(error);
    }
    const settled = written.then(
      () => this.#settle(waiting, undefined),
      (error: unknown) => {
        if (this.#failure === undefined) {
          this.#failure = error;
          this.onError(error);
        }
        this.#settle(waiting, error);
      },
    );
    // Waiters arriving while this batch is in flight wait for it; they see its outcome through #failure.
    this.#writing = settled.then(() => {
      if (this.#failure !== undefined) throw this.#failure;
    });
    this.#writing.catch(() => undefined);
  }

  #settle(waiting: Waiter[], error: unknown): void {
    this.#writing = null;
    for (const waiter of waiting) {
      if (error === undefined) waiter.resolve();
      else waiter.reject(error);
    }
    if (this.#messages.length > 0 || this.#dirty.size > 0) this.#schedule();
  }
}

interface Waiter {
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A scope as read from the store. */
export interface ScopeLoad {
  record: CommunicatorRecord | null;
  /** The latest messages, oldest first. */
  messages: StoredMessage[];
  /** Sequence number of the scope's last stored message (0: none). */
  lastSeq: number;
}

/**
 * Reads a scope: its workflow record, and its last `limit` messages (which
 * also give the sequence number to continue from).
 * @throws TroupeError `STORE_CORRUPT` naming the record that cannot be read.
 */
export async function loadScope(store: Store, scope: string, limit: number): Promise<ScopeLoad> {
  const raw = scope === NO_WORKFLOW ? undefined : await store.get('contexts', workflowKey(scope));
  const record = raw === undefined ? null : parseRecord(raw, scope);
  const messages: StoredMessage[] = [];
  for await (const [key, value] of store.range('messages', {
    ...prefixRange(scope),
    reverse: true,
    limit,
  })) {
    messages.push(parseStoredEntry(value, key));
  }
  messages.reverse();
  return { record, messages, lastSeq: messages.at(-1)?.seq ?? 0 };
}

/** Filters of {@link readHistory}. */
export interface HistoryQuery {
  workflowId?: string;
  /** Messages from or delivered to this role. */
  agent?: string;
  type?: MessageType;
  limit: number;
}

/**
 * The newest `limit` stored messages that match, oldest first. With a
 * workflow id it reads that workflow's messages newest first and stops at
 * `limit`; without, it scans every stored message.
 */
export async function readHistory(store: Store, query: HistoryQuery): Promise<AgentMessage[]> {
  const matches = (stored: StoredMessage) =>
    (query.type === undefined || stored.message.type === query.type) &&
    (query.agent === undefined ||
      stored.message.from === query.agent ||
      stored.message.to === query.agent ||
      stored.recipients.includes(query.agent));
  if (query.limit === 0) return [];
  if (query.workflowId !== undefined) {
    const found: AgentMessage[] = [];
    const range = { ...prefixRange(query.workflowId), reverse: true };
    for await (const [key, value] of store.range('messages', range)) {
      const stored = parseStoredEntry(value, key);
      if (matches(stored)) found.push(stored.message);
      if (found.length >= query.limit) break;
    }
    return found.reverse();
  }
  let found: AgentMessage[] = [];
  const byTime = (a: AgentMessage, b: AgentMessage) => a.timestamp - b.timestamp;
  for await (const [key, value] of store.range('messages')) {
    const stored = parseStoredEntry(value, key);
    if (!matches(stored)) continue;
    found.push(stored.message);
    // Keep memory bounded: trim to the newest `limit` once twice as many piled up.
    if (found.length >= 2 * query.limit) found = found.sort(byTime).slice(-query.limit);
  }
  return found.sort(byTime).slice(-query.limit);
}

const changeSchema = z.object({
  version: z.number().int().nonnegative(),
  value: z.unknown(),
  updatedBy: z.string(),
  at: z.number(),
});

const recordSchema = z.object({
  shared: z.object({
    version: z.number().int().nonnegative(),
    data: z.record(z.string(), z.unknown()),
    updatedBy: z.string().nullable(),
    updatedAt: z.number().nullable(),
  }),
  history: z.record(z.string(), z.array(changeSchema)),
  locks: z.record(
    z.string(),
    z.object({ owner: z.string().min(1), acquiredAt: z.number(), expiresAt: z.number() }),
  ),
});

const storedEntrySchema = z.object({
  seq: z.number().int().positive(),
  message: z.unknown(),
  recipients: z.array(z.string()),
});

/**
 * A stored communicator record, validated, its values frozen.
 * @throws TroupeError `STORE_CORRUPT` naming the workflow.
 */
export function parseRecord(value: unknown, workflowId: string): CommunicatorRecord {
  const parsed = recordSchema.safeParse(value);
  const issues = parsed.success ? [] : formatZodIssues(parsed.error, 'record');
  if (parsed.success) {
    // From the raw record: zod's records drop a `__proto__` key, which is a
    // shared-context key like any other.
    const raw = value as CommunicatorRecord;
    const frozen = (item: unknown, path: string): JsonValue => {
      const inspection = inspectJson(item, path, { freeze: true });
      if (inspection.ok) return inspection.value;
      issues.push(formatJsonIssue(inspection.issue));
      return null;
    };
    const record: CommunicatorRecord = {
      shared: {
        ...parsed.data.shared,
        data: dictFrom(raw.shared.data, (item, key) => frozen(item, `record.shared.data.${key}`)),
      },
      history: dictFrom(raw.history, (list, key) =>
        list.map((change, i) => ({
          ...change,
          value: frozen(change.value, `record.history.${key}[${i}]`),
        })),
      ),
      locks: dictFrom(raw.locks, ({ owner, acquiredAt, expiresAt }) => ({
        owner,
        acquiredAt,
        expiresAt,
      })),
    };
    if (issues.length === 0) return record;
  }
  throw new TroupeError(
    'STORE_CORRUPT',
    `Cannot read the communicator record of workflow "${workflowId}" (store collection 'contexts'): ${issues.join('; ')}. Other workflows are unaffected; delete this record or restore it from a backup.`,
    { collection: 'contexts', key: workflowId, workflowId, issues },
  );
}

function parseStoredEntry(value: unknown, key: string): StoredMessage {
  const parsed = storedEntrySchema.safeParse(value);
  if (!parsed.success) {
    const issues = formatZodIssues(parsed.error, 'entry');
    throw new TroupeError(
      'STORE_CORRUPT',
      `Cannot read message ${JSON.stringify(key)} in store collection 'messages': ${issues.join('; ')}. Other records are unaffected; delete this record or restore it from a backup.`,
      { collection: 'messages', key, issues },
    );
  }
  const { seq, recipients } = parsed.data;
  return { seq, recipients, message: parseStoredMessage(parsed.data.message, key) };
}
