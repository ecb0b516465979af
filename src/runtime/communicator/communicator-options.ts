import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { MessageType } from '../../schemas/agent-message.js';
import { functionSchema, parseArgument } from '../../schemas/arguments.js';
import { leaseSchema, waitSchema } from './communicator-input.js';

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

export const communicatorOptionsSchema = z.strictObject({
  requestTimeoutMs: waitSchema.optional(),
  lockTtlMs: leaseSchema.optional(),
  lockTimeoutMs: waitSchema.optional(),
  createId: functionSchema<() => string>().optional(),
});

export function resolveCommunicatorOptions(
  options: CommunicatorOptions = {},
): ResolvedCommunicatorOptions {
  const valid = parseArgument('communicator', 'options', communicatorOptionsSchema, options);
  return {
    requestTimeoutMs: valid.requestTimeoutMs ?? 30_000,
    lockTtlMs: valid.lockTtlMs ?? 30_000,
    lockTimeoutMs: valid.lockTimeoutMs ?? 30_000,
    createId: valid.createId ?? (() => `msg-${randomUUID()}`),
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
