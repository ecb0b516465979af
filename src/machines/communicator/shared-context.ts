/**
 * Per-workflow shared contexts: a shallow merge of updates, a version bumped
 * once per update (optimistic concurrency: a writer that read version `n`
 * passes `expectedVersion: n` and loses if someone else wrote first), and a
 * bounded history of each key's values.
 *
 * Values are frozen JSON (see `json-value.ts`), so `data` is changed by
 * assigning keys and never by mutating a value: a caller holding a copy of
 * `data` sees a consistent context.
 */
import { dict, dictFrom } from '../../schemas/dict.js';
import type { JsonValue } from '../../schemas/json-value.js';
import type { CommunicatorContext, CommunicatorRecord, StoredLock, WorkflowSlot } from './types.js';

export function emptySlot(): WorkflowSlot {
  return {
    shared: { version: 0, data: dict(), updatedBy: null, updatedAt: null },
    history: dict(),
    locks: dict(),
  };
}

export function ensureSlot(context: CommunicatorContext, workflowId: string): WorkflowSlot {
  let slot = context.workflows[workflowId];
  if (!slot) {
    slot = emptySlot();
    context.workflows[workflowId] = slot;
  }
  return slot;
}

/** Merges `updates`, bumps the version and records each key's change; returns the new version. */
export function applyUpdate(
  slot: WorkflowSlot,
  role: string,
  updates: Readonly<Record<string, JsonValue>>,
  now: number,
  historyLimit: number,
): number {
  const shared = slot.shared;
  shared.version++;
  shared.updatedBy = role;
  shared.updatedAt = now;
  for (const key of Object.keys(updates)) {
    const value = updates[key]!;
    shared.data[key] = value;
    let changes = slot.history[key];
    if (!changes) {
      changes = [];
      slot.history[key] = changes;
    }
    changes.push({ version: shared.version, value, updatedBy: role, at: now });
    if (changes.length > historyLimit) changes.splice(0, changes.length - historyLimit);
  }
  return shared.version;
}

/**
 * The shared-context key a result handoff is recorded under. Roles cannot
 * contain `>`, so the key reads back unambiguously.
 */
export function handoffKey(from: string, to: string): string {
  return `handoff:${from}->${to}`;
}

/** What is stored for a workflow: everything but the lock waiters. */
export function toRecord(slot: WorkflowSlot): CommunicatorRecord {
  const locks = dictFrom(
    slot.locks,
    ({ owner, acquiredAt, expiresAt }): StoredLock => ({
      owner,
      acquiredAt,
      expiresAt,
    }),
  );
  return { shared: slot.shared, history: slot.history, locks };
}

/**
 * A slot from its stored record, or from a restored snapshot (both plain
 * JSON): tables without prototypes again; locks come back without waiters.
 */
export function fromRecord(record: CommunicatorRecord): WorkflowSlot {
  return {
    shared: { ...record.shared, data: dictFrom(record.shared.data, (value) => value) },
    history: dictFrom(record.history, (changes) => changes),
    locks: dictFrom(record.locks, (lock) => ({ ...lock, waiters: [] })),
  };
}
