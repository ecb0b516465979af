/**
 * Shared contexts on PostgreSQL: one row per workflow, shared by every
 * process. An update reads the row, applies the same rules as the local
 * communicator (`applyUpdate`: merge, version + 1, bounded history per key)
 * and writes it back only if the version is still the one it read
 * (`UPDATE ... WHERE version = $read`). So an `expectedVersion` conflict is
 * found whichever process wrote first, and an update without one is
 * retried on a fresh read rather than lost.
 *
 * A workflow with no row yet starts from its record in the store's
 * `contexts` collection, where a communicator without the table (an older
 * troupe, or a runtime over a wrapped store) kept it.
 */
import {
  applyUpdate,
  type ContextChange,
  emptySlot,
  fromRecord,
  type SharedContext,
  toRecord,
  type WorkflowSlot,
} from '../../machines/communicator/index.js';
import type { JsonValue } from '../../schemas/json-value.js';
import { workflowKey } from '../../store/keys.js';
import type { PostgresCommunicatorRows } from '../../store/postgres/communicator-rows.js';
import type { Store } from '../../store/store.js';
import type { Clock } from '../clock.js';
import { failureError } from './communicator-errors.js';
import { parseRecord } from './communicator-store.js';

export class ClusterContexts {
  constructor(
    private readonly rows: PostgresCommunicatorRows,
    private readonly store: Store,
    private readonly clock: Clock,
    /** Changes kept per key, as the local communicator keeps them. */
    private readonly historyLimit: () => number,
  ) {}

  async get(workflowId: string): Promise<SharedContext> {
    const { slot } = await this.#read(workflowId);
    return { ...slot.shared, data: { ...slot.shared.data } };
  }

  async history(workflowId: string, key: string): Promise<ContextChange[]> {
    const { slot } = await this.#read(workflowId);
    return (slot.history[key] ?? []).map((change) => ({ ...change }));
  }

  /** @throws TroupeError `VERSION_CONFLICT` when `expectedVersion` is not the stored version. */
  async update(
    workflowId: string,
    role: string,
    updates: Readonly<Record<string, JsonValue>>,
    expectedVersion: number | null,
  ): Promise<SharedContext> {
    for (;;) {
      const { slot, row } = await this.#read(workflowId);
      const actual = slot.shared.version;
      if (expectedVersion !== null && expectedVersion !== actual) {
        throw failureError({
          reason: 'version_conflict',
          workflowId,
          expected: expectedVersion,
          actual,
        });
      }
      const version = applyUpdate(slot, role, updates, this.clock.now(), this.historyLimit());
      if (await this.rows.writeContext(workflowId, row, version, toRecord(slot))) {
        return { ...slot.shared, data: { ...slot.shared.data } };
      }
      // Another process wrote since the read: read again (and, with an expected version, fail).
    }
  }

  /** The workflow's context, and the version of its row (0: no row yet). */
  async #read(workflowId: string): Promise<{ slot: WorkflowSlot; row: number }> {
    const row = await this.rows.readContext(workflowId);
    if (row) return { slot: fromRecord(parseRecord(row.record, workflowId)), row: row.version };
    const stored = await this.store.get('contexts', workflowKey(workflowId));
    const slot = stored === undefined ? emptySlot() : fromRecord(parseRecord(stored, workflowId));
    return { slot, row: 0 };
  }
}
