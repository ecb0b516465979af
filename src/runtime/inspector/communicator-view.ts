/**
 * The shared-context panel's data, read from the context of the actor with
 * system id `communicator`: per workflow, the shared context's version, last
 * writer and data. Read defensively like the queue (queue-view.ts): another
 * module owns that shape.
 */
import { previewJson } from './preview.js';
import type { JsonPreview } from './protocol.js';

/** System id of the communicator actor. */
export const COMMUNICATOR_SYSTEM_ID = 'communicator';

/** Workflows listed; the panel shows the selected run's. */
const MAX_WORKFLOWS = 50;

interface SharedLike {
  version?: unknown;
  data?: unknown;
  updatedBy?: unknown;
  updatedAt?: unknown;
}

export function communicatorSummary(context: unknown): JsonPreview {
  if (typeof context !== 'object' || context === null) return null;
  const c = context as { workflows?: unknown; stats?: unknown };
  const workflows: { [id: string]: JsonPreview } = {};
  if (typeof c.workflows === 'object' && c.workflows !== null) {
    let listed = 0;
    for (const [id, slot] of Object.entries(c.workflows)) {
      if (listed++ >= MAX_WORKFLOWS) break;
      const shared = (slot as { shared?: SharedLike } | null)?.shared;
      if (!shared) continue;
      workflows[id] = {
        version: typeof shared.version === 'number' ? shared.version : null,
        updatedBy: typeof shared.updatedBy === 'string' ? shared.updatedBy : null,
        updatedAt: typeof shared.updatedAt === 'number' ? shared.updatedAt : null,
        data: previewJson(shared.data),
      };
    }
  }
  return { workflows, stats: previewJson(c.stats ?? null, { depth: 1 }) };
}
