import { randomUUID } from 'node:crypto';
import type { MessageType } from '../../schemas/agent-message.js';
import { checkDuration } from './communicator-input.js';

/** Defaults of the communicator's calls; limits of its memory live in `CommunicatorSettings`. */
export interface CommunicatorOptions {
  /** How long `request()` waits for the response. @default 30_000 */
  requestTimeoutMs?: number;
  /** Lease of a lock: after it the lock is taken from its holder. @default 30_000 */
  lockTtlMs?: number;
  /** How long `acquireLock()` waits for a held lock; `Infinity` waits as long as it takes. @default 30_000 */
  lockTimeoutMs?: number;
  /** Makes message ids. @default `msg-` + a random UUID */
  createId?: () => string;
}

export interface ResolvedCommunicatorOptions {
  requestTimeoutMs: number;
  lockTtlMs: number;
  lockTimeoutMs: number;
  createId: () => string;
}

export function resolveCommunicatorOptions(
  options: CommunicatorOptions = {},
): ResolvedCommunicatorOptions {
  return {
    requestTimeoutMs: checkDuration('requestTimeoutMs', options.requestTimeoutMs ?? 30_000, true),
    lockTtlMs: checkDuration('lockTtlMs', options.lockTtlMs ?? 30_000, false),
    lockTimeoutMs: checkDuration('lockTimeoutMs', options.lockTimeoutMs ?? 30_000, true),
    createId: options.createId ?? (() => `msg-${randomUUID()}`),
  };
}

/** Options of `broadcast()`. */
export interface BroadcastOptions {
  /** Role group(s) to reach: `g` reaches role `g` and roles `g:<anything>`. @default every agent but the sender */
  role?: string | readonly string[];
}

/** Options of `updateSharedContext()`. */
export interface UpdateOptions {
  /** Fail with `VERSION_CONFLICT` unless the context is at this version. @default no check */
  expectedVersion?: number;
}

/** Options of `acquireLock()` and `withLock()`. */
export interface LockOptions {
  /** Lease: the lock is taken from its holder this long after it was granted. @default `lockTtlMs` (30_000) */
  ttlMs?: number;
  /** How long to wait for a held lock; 0 fails at once, `Infinity` waits as long as it takes. @default `lockTimeoutMs` (30_000) */
  timeout?: number;
}

/** Filters of `getMessageHistory()`. */
export interface HistoryOptions {
  workflowId?: string;
  /** Messages sent by, addressed to or delivered to this role. @default any */
  agent?: string;
  /** @default any */
  type?: MessageType;
  /** The newest this many, returned oldest first. @default 100 */
  limit?: number;
}
