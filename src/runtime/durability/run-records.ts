/**
 * Reading the run records (`workflows/<id>`) for listings: every readable
 * record, and a `corrupt` entry for each one that is not, so one damaged
 * record never hides the others (`engine.list()`, `troupe list`, the
 * inspector's stored runs, `autoResume`).
 */
import type { RunRecord } from '../../schemas/run-record.js';
import { rangeSkippingCorrupt } from '../../store/skip-corrupt.js';
import type { Store } from '../../store/store.js';

/** A stored run whose record cannot be read. */
export interface CorruptRun {
  workflowId: string;
  /** What is wrong with it. */
  reason: string;
}

/** Stored runs in id order; `corrupt` lists the records that were skipped. */
export type RunList = RunRecord[] & { corrupt: CorruptRun[] };

/** Every run record of the store, in id order, skipping (and listing) the corrupt ones. */
export async function readRunRecords(
  store: Store,
  keep: (record: RunRecord) => boolean = () => true,
): Promise<RunList> {
  const corrupt: CorruptRun[] = [];
  // Not enumerable: the list still compares and serialises as a plain array of records.
  const runs = Object.defineProperty([] as RunRecord[], 'corrupt', {
    value: corrupt,
    enumerable: false,
  }) as RunList;
  const report = (workflowId: string, reason: string) => corrupt.push({ workflowId, reason });
  for await (const [key, record] of rangeSkippingCorrupt<unknown>(store, 'workflows', (bad) =>
    report(bad.key, bad.reason),
  )) {
    const problem = runRecordProblem(key, record);
    if (problem) report(key, `Run record "${key}" is corrupt: ${problem}.`);
    else if (keep(record as RunRecord)) runs.push(record as RunRecord);
  }
  return runs;
}

/** Why a decoded value is not a usable run record, or undefined if it is one. */
function runRecordProblem(key: string, value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return 'it is not an object';
  const record = value as Partial<RunRecord>;
  if (record.workflowId !== key) return `its workflowId is ${JSON.stringify(record.workflowId)}`;
  if (typeof record.status !== 'string') return 'it has no status';
  if (typeof record.createdAt !== 'number') return 'it has no createdAt';
  const definition = record.definition as { name?: unknown; tasks?: unknown } | undefined;
  if (typeof definition?.name !== 'string' || !Array.isArray(definition.tasks)) {
    return 'it has no valid definition';
  }
  return undefined;
}
