/**
 * The communicator's state. Everything is plain JSON (records, arrays,
 * numbers: no Map, no Date), so the machine's snapshot survives a JSON round
 * trip, and every deadline (lock lease, lock wait, request timeout) is data:
 * XState does not persist delayed events, so timers are re-armed from these
 * deadlines after a restore or a load from the store.
 *
 * Collections are mutated in place by the machine's actions; a copy per event
 * would make each event O(size). Readers outside the machine must copy what
 * they keep.
 */
import type { AgentMessage } from '../../schemas/agent-message.js';
import type { JsonValue } from '../../schemas/json-value.js';

/** Limits of the in-memory state; the store keeps everything. */
export interface CommunicatorSettings {
  /** Messages kept in memory per scope (a workflow, or no workflow). @default 1000 */
  messageHistoryLimit: number;
  /** Changes kept per shared-context key. @default 20 */
  contextHistoryLimit: number;
  /**
   * For a store several processes write (PostgreSQL): number messages from
   * their timestamps (`timestamp * 1000`, or the last number + 1 if that is
   * not above it), so the histories of processes recording in one scope
   * interleave in time order. Their keys also carry the writing process's id
   * (see CommunicatorWriter), so equal numbers never collide. false: 1, 2, 3...
   * @default false
   */
  clockSequence: boolean;
}

export const DEFAULT_COMMUNICATOR_SETTINGS: Readonly<CommunicatorSettings> = {
  messageHistoryLimit: 1000,
  contextHistoryLimit: 20,
  clockSequence: false,
};

/** A workflow's shared context as callers see it. */
export interface SharedContext {
  /** 0 before the first update; +1 per update. */
  version: number;
  data: Record<string, JsonValue>;
  /** Role of the last writer, null before the first update. */
  updatedBy: string | null;
  /** Epoch ms of the last update, null before the first update. */
  updatedAt: number | null;
}

/** One change of one shared-context key. */
export interface ContextChange {
  /** The context version this change produced. */
  version: number;
  value: JsonValue;
  updatedBy: string;
  at: number;
}

/** Someone waiting for a lock; not persisted (the caller lives in one process). */
export interface LockWaiter {
  op: number;
  owner: string;
  ttlMs: number;
  since: number;
  /** When the wait gives up, epoch ms; null: waits as long as it takes. */
  deadline: number | null;
}

export interface LockState {
  owner: string;
  acquiredAt: number;
  /** Lease deadline, epoch ms: the lock is taken from its owner then. */
  expiresAt: number;
  /** Waiters in arrival order: the first is served first. */
  waiters: LockWaiter[];
}

/** A held lock as callers see it. */
export interface LockLease {
  workflowId: string;
  key: string;
  owner: string;
  acquiredAt: number;
  expiresAt: number;
  /**
   * On PostgreSQL only: grows by one with each grant of this lock, so a
   * resource can refuse writes carrying an older token than the last it saw
   * (a holder whose lease ran out while it was paused).
   */
  fencingToken?: number;
}

/** Everything the communicator keeps per workflow besides its messages. */
export interface WorkflowSlot {
  shared: SharedContext;
  /** Per key, oldest first, at most `contextHistoryLimit` entries. */
  history: Record<string, ContextChange[]>;
  locks: Record<string, LockState>;
}

/** A message as recorded: its sequence number in its scope and who got it. */
export interface StoredMessage {
  seq: number;
  message: AgentMessage;
  /** Roles it was delivered to (empty for a response consumed by a waiting request). */
  recipients: string[];
}

/** Recent messages of one scope (a workflow id, or `_` for none). */
export interface Mailbox {
  /** Sequence number of the last message recorded in this scope. */
  seq: number;
  /** Oldest first; between `limit` and `2 * limit` entries, trimmed in chunks. */
  recent: StoredMessage[];
}

export interface PendingRequest {
  op: number;
  requestId: string;
  correlationId: string;
  from: string;
  to: string;
  timeoutMs: number | null;
  /** Epoch ms; null: no timeout. */
  deadline: number | null;
}

/** Counters for the inspector and the benchmark. */
export interface CommunicatorStats {
  messages: number;
  deliveries: number;
  updates: number;
  conflicts: number;
  lockGrants: number;
  lockExpiries: number;
}

export interface CommunicatorContext {
  settings: CommunicatorSettings;
  /** Loaded workflows by id. */
  workflows: Record<string, WorkflowSlot>;
  /** Loaded message scopes by workflow id, `_` for messages of no workflow. */
  mailboxes: Record<string, Mailbox>;
  /** Requests waiting for their response, by correlation id. */
  requests: Record<string, PendingRequest>;
  stats: CommunicatorStats;
}

/** A held lock as stored: its waiters are not, their callers die with the process. */
export interface StoredLock {
  owner: string;
  acquiredAt: number;
  expiresAt: number;
}

/** What is stored per workflow in `contexts/<workflowId>`. */
export interface CommunicatorRecord {
  shared: SharedContext;
  history: Record<string, ContextChange[]>;
  locks: Record<string, StoredLock>;
}
