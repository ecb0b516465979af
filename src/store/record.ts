/**
 * The versioned envelope every stored value is wrapped in: `{ v, data }`.
 *
 * The version lets a later troupe recognise (and migrate) records written by an
 * older one, and lets an older troupe refuse a newer record with a clear error
 * instead of misreading it. Both backends store the envelope as a JSON string,
 * so a value read back is always a fresh copy and behaves the same everywhere.
 */
import { TroupeError } from '../errors.js';
import { assertCollection, assertKey, workflowIdOfKey } from './keys.js';
import type { Collection, StoreOp } from './store.js';

/** The envelope version this build writes and reads. */
export const STORE_FORMAT_VERSION = 1;

/** What is stored for every value. */
export interface StoredRecord<T = unknown> {
  v: typeof STORE_FORMAT_VERSION;
  data: T;
}

/** Error context of a record that cannot be written or read. */
export interface RecordContext {
  collection: Collection;
  key: string;
  workflowId?: string;
  [key: string]: unknown;
}

function recordContext(collection: Collection, key: string): RecordContext {
  const workflowId = workflowIdOfKey(collection, key);
  return workflowId === undefined ? { collection, key } : { collection, key, workflowId };
}

function describe(collection: Collection, key: string): string {
  const workflowId = workflowIdOfKey(collection, key);
  const owner = workflowId === undefined ? '' : ` (workflow ${JSON.stringify(workflowId)})`;
  return `record ${JSON.stringify(key)} in store collection '${collection}'${owner}`;
}

/**
 * Serialises `value` inside the envelope. Values follow JSON semantics (Dates
 * become strings, `undefined` properties vanish), which is also what a restored
 * XState snapshot sees.
 * @throws TroupeError `INVALID_INPUT` if the value cannot be stored as JSON
 * (`undefined`, a function, a BigInt, a cycle).
 */
export function encodeRecord(collection: Collection, key: string, value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new TroupeError(
      'INVALID_INPUT',
      `Cannot store ${describe(collection, key)}: the value is not JSON-serialisable (${reason}). Store plain JSON data only.`,
      recordContext(collection, key),
      { cause },
    );
  }
  if (json === undefined) {
    throw new TroupeError(
      'INVALID_INPUT',
      `Cannot store ${describe(collection, key)}: the value is ${typeof value}, which JSON cannot represent. Use a 'del' op to remove a record.`,
      recordContext(collection, key),
    );
  }
  return envelope(json);
}

/** The envelope around a value already serialised: spliced, so it is not stringified twice. */
function envelope(json: string): string {
  return `{"v":${STORE_FORMAT_VERSION},"data":${json}}`;
}

/**
 * Unwraps a stored envelope.
 * @throws TroupeError `STORE_CORRUPT` naming the collection, key and workflow if
 * `raw` is not a valid envelope or was written by a newer format version.
 */
export function decodeRecord<T>(collection: Collection, key: string, raw: string): T {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (cause) {
    throw corrupt(collection, key, 'it is not valid JSON', cause);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw corrupt(collection, key, 'it is not a versioned record');
  }
  const record = parsed as Partial<StoredRecord<T>> & { v?: unknown };
  if (typeof record.v !== 'number' || !Number.isInteger(record.v) || !('data' in record)) {
    throw corrupt(collection, key, 'it is not a versioned record');
  }
  if (record.v > STORE_FORMAT_VERSION) {
    throw new TroupeError(
      'STORE_CORRUPT',
      `Cannot read ${describe(collection, key)}: it was written in store format v${record.v} by a newer troupe, and this version reads v${STORE_FORMAT_VERSION}. Upgrade troupe to read this data folder.`,
      { ...recordContext(collection, key), version: record.v },
    );
  }
  if (record.v !== STORE_FORMAT_VERSION) {
    throw corrupt(collection, key, `its format version ${record.v} is unknown`);
  }
  return record.data as T;
}

function corrupt(
  collection: Collection,
  key: string,
  reason: string,
  cause?: unknown,
): TroupeError {
  return new TroupeError(
    'STORE_CORRUPT',
    `Cannot read ${describe(collection, key)}: ${reason}. Other records are unaffected; restore this record from a backup or delete it.`,
    recordContext(collection, key),
    cause === undefined ? undefined : { cause },
  );
}

/** A validated batch op whose value is already encoded. */
export type EncodedOp =
  | { type: 'put'; collection: Collection; key: string; raw: string }
  | { type: 'del'; collection: Collection; key: string };

/**
 * Validates and encodes every op of a batch before anything is written, so a
 * bad op anywhere makes the whole batch fail with nothing applied.
 * @throws TroupeError `INVALID_INPUT` naming the first bad op.
 */
export function encodeOps(ops: readonly StoreOp[]): EncodedOp[] {
  if (!Array.isArray(ops)) {
    throw new TroupeError('INVALID_INPUT', 'Store batch expects an array of ops.', {
      issues: ['ops: must be an array'],
    });
  }
  return ops.map((op: StoreOp, index): EncodedOp => {
    const type: unknown = op?.type;
    if (type !== 'put' && type !== 'del') {
      throw new TroupeError(
        'INVALID_INPUT',
        `Store batch op #${index} has type ${JSON.stringify(type)}; expected 'put' or 'del'. Nothing was written.`,
        { issues: [`ops[${index}].type: must be 'put' or 'del'`] },
      );
    }
    assertCollection(op.collection);
    assertKey(op.collection, op.key);
    return op.type === 'put'
      ? {
          type: 'put',
          collection: op.collection,
          key: op.key,
          raw:
            typeof op.json === 'string'
              ? envelope(op.json)
              : encodeRecord(op.collection, op.key, op.value),
        }
      : { type: 'del', collection: op.collection, key: op.key };
  });
}
