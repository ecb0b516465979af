/**
 * What the communicator machine accepts, emits and sends to agents. All plain
 * JSON. Operations from the facade carry an `op` number; the machine settles
 * each exactly once in an `ops.settled` event (sent, done or failed), so no
 * call is left hanging and no failure is silent. Failures are data (a `reason` and the facts); the
 * facade turns them into `TroupeError`s with readable messages.
 */
import type { AgentMessage } from '../../schemas/agent-message.js';
import type { JsonValue } from '../../schemas/json-value.js';
import type { CommunicatorRecord, LockLease, StoredMessage } from './types.js';

export type CommunicatorEvent =
  /** A scope read from the store: its record (workflows only) and its latest messages. */
  | {
      type: 'scope.load';
      scope: string;
      record: CommunicatorRecord | null;
      messages: StoredMessage[];
      lastSeq: number;
      now: number;
    }
  /** Frees the memory of a finished workflow; kept if it still has locks or requests. */
  | { type: 'scope.unload'; scope: string }
  /**
   * Direct messages (responses included), in order. The facade gathers the
   * messages sent during one microtask into one event: XState's cost is per
   * event, so a burst costs one transition instead of one each.
   */
  | { type: 'messages.send'; batch: { op: number; message: AgentMessage }[]; now: number }
  /** `groups`: role groups to reach (`g` matches role `g` and roles `g:*`); null: every agent. */
  | {
      type: 'message.broadcast';
      op: number;
      message: AgentMessage;
      groups: string[] | null;
      now: number;
    }
  | {
      type: 'request.send';
      op: number;
      message: AgentMessage;
      timeoutMs: number | null;
      now: number;
    }
  | { type: 'handoff.send'; op: number; message: AgentMessage; now: number }
  /**
   * A message another process sent (on PostgreSQL), for the agents of
   * `roles` here: it is recorded and delivered as if sent here.
   */
  | { type: 'message.receive'; op: number; message: AgentMessage; roles: string[]; now: number }
  | {
      type: 'context.update';
      op: number;
      workflowId: string;
      role: string;
      updates: Record<string, JsonValue>;
      expectedVersion: number | null;
      now: number;
    }
  | {
      type: 'lock.acquire';
      op: number;
      workflowId: string;
      key: string;
      owner: string;
      ttlMs: number;
      /** null: wait as long as it takes. */
      timeoutMs: number | null;
      now: number;
    }
  | {
      type: 'lock.release';
      op: number;
      workflowId: string;
      key: string;
      owner: string;
      now: number;
    }
  /** After restoring a persisted snapshot: re-arms timers from their deadlines. */
  | { type: 'communicator.recover'; now: number }
  | CommunicatorTimerEvent;

/** Raised by the machine itself, delayed until a deadline kept in context. */
export type CommunicatorTimerEvent =
  | { type: 'request.expire'; correlationId: string; now: number }
  | { type: 'lock.expire'; workflowId: string; key: string; expiresAt: number }
  | { type: 'lock.giveUp'; op: number; workflowId: string; key: string; now: number };

export type OpResult =
  | { kind: 'message'; message: AgentMessage; recipients: string[] }
  | { kind: 'response'; response: AgentMessage }
  | { kind: 'context'; workflowId: string; version: number }
  | { kind: 'lock'; lease: LockLease }
  | { kind: 'released' };

export type Failure =
  | { reason: 'unknown_recipient'; to: string; known: string[] }
  | { reason: 'no_recipients'; groups: string[] | null; from: string; known: string[] }
  | { reason: 'duplicate_request'; correlationId: string }
  | { reason: 'request_timeout'; requestId: string; to: string; timeoutMs: number }
  | { reason: 'request_failed'; requestId: string; to: string; response: AgentMessage }
  | { reason: 'version_conflict'; workflowId: string; expected: number; actual: number }
  | {
      reason: 'lock_not_held';
      workflowId: string;
      key: string;
      owner: string;
      holder: string | null;
    }
  | {
      reason: 'lock_already_held';
      workflowId: string;
      key: string;
      owner: string;
      expiresAt: number;
    }
  | {
      reason: 'lock_timeout';
      workflowId: string;
      key: string;
      owner: string;
      holder: string | null;
      waitedMs: number;
    };

/** At most one of each per transition, however many operations it handled. */
export type CommunicatorEmitted =
  /** Messages to store, each under its scope (workflow id or `_`) and sequence number. */
  | { type: 'messages.recorded'; stored: StoredMessage[] }
  /** Workflows whose shared context or lock table changed: their records must be stored again. */
  | { type: 'workflows.changed'; workflowIds: string[] }
  /** The outcome of every operation the transition settled. */
  | {
      type: 'ops.settled';
      /** Direct messages delivered: a bare op number, the cheapest answer for the hottest path. */
      sent: number[];
      done: { op: number; result: OpResult }[];
      failed: { op: number; failure: Failure }[];
    }
  /** A holder kept a lock past its lease; the lock moved on (or became free). */
  | { type: 'lock.expired'; workflowId: string; key: string; owner: string; expiresAt: number }
  | { type: 'scope.unloaded'; scope: string };

/** What an agent actor receives: the messages for it of one communicator transition, in order. */
export interface MessageDelivery {
  type: 'message.deliver';
  messages: AgentMessage[];
}

/** System id of the communicator actor. */
export const COMMUNICATOR_SYSTEM_ID = 'communicator';
