/**
 * The key layout of the store, in one place. Every key troupe writes is built
 * here, so the layout can be read (and changed) without hunting through callers.
 *
 * | collection    | key                         | value                                |
 * |---------------|-----------------------------|--------------------------------------|
 * | `workflows`   | `<workflowId>`              | workflow record (definition, status) |
 * | `snapshots`   | `<workflowId>/<seq>`        | persisted XState snapshot            |
 * | `journal`     | `<workflowId>/<seq>`        | one journaled event                  |
 * | `jobs`        | `<jobId>`                   | task-queue job                       |
 * | `contexts`    | `<workflowId>`              | shared context of a workflow         |
 * | `messages`    | `<workflowId or "_">/<seq>[/<writer>]` | communicator message      |
 * | `evaluations` | `<workflowName>/<seq>`      | workflow evaluation                  |
 * | `meta`        | free keys                   | runtime-level metadata               |
 *
 * - `<seq>` is a zero-padded 16-digit decimal, so the byte order of keys is the
 *   numeric order of sequence numbers (16 digits hold `Number.MAX_SAFE_INTEGER`).
 * - `/` separates segments, so ids (user data) must not contain it: a workflow
 *   id `a/0000000000000001` would otherwise read as a snapshot of workflow `a`.
 * - `_` in `messages` holds messages that belong to no workflow.
 * - Keys compare as UTF-8 bytes (LevelDB's order), i.e. by Unicode code point;
 *   {@link compareKeys} implements that order for backends without LevelDB.
 */
import { TroupeError } from '../errors.js';
import { COLLECTIONS, type Collection, type RangeOptions } from './store.js';

/** Width of a `<seq>` segment. */
export const SEQ_DIGITS = 16;

/** The `messages` prefix of messages that belong to no workflow. */
export const NO_WORKFLOW = '_';

/** Collections whose keys start with a workflow id. */
const WORKFLOW_KEYED: ReadonlySet<Collection> = new Set([
  'workflows',
  'snapshots',
  'journal',
  'contexts',
]);

const SEQ_PATTERN = /^\d{16}$/;
// With the `u` flag a well-formed surrogate pair is one code point, so this
// matches only lone surrogates, which UTF-8 cannot encode (LevelDB would
// silently turn them into U+FFFD and merge distinct keys).
const LONE_SURROGATE = /\p{Cs}/u;

/**
 * Checks an id that becomes one key segment (workflow id, job id, workflow name).
 * @throws TroupeError `INVALID_INPUT` if it is empty, not a string or contains `/`.
 */
export function assertId(kind: string, id: string): void {
  if (typeof id !== 'string' || id.length === 0) {
    throw new TroupeError('INVALID_INPUT', `Invalid ${kind}: expected a non-empty string.`, {
      issues: [`${kind}: must be a non-empty string`],
    });
  }
  if (id.includes('/') || LONE_SURROGATE.test(id)) {
    throw new TroupeError(
      'INVALID_INPUT',
      `Invalid ${kind} ${JSON.stringify(id)}: ids must not contain '/' (it separates key segments in the store) or unpaired UTF-16 surrogates.`,
      { issues: [`${kind}: must not contain '/'`] },
    );
  }
}

/** `<prefix>/<seq>`, with `seq` zero-padded so keys sort numerically. */
export function seqKey(prefix: string, seq: number): string {
  assertId('key prefix', prefix);
  if (!Number.isSafeInteger(seq) || seq < 0) {
    throw new TroupeError(
      'INVALID_INPUT',
      `Invalid sequence number ${String(seq)} for ${JSON.stringify(prefix)}: expected a non-negative safe integer.`,
      { issues: ['seq: must be a non-negative safe integer'] },
    );
  }
  return `${prefix}/${String(seq).padStart(SEQ_DIGITS, '0')}`;
}

/** The sequence number at the end of a key built by {@link seqKey}. */
export function parseSeq(key: string): number {
  const segment = key.slice(key.lastIndexOf('/') + 1);
  if (!key.includes('/') || !SEQ_PATTERN.test(segment)) {
    throw new TroupeError(
      'INVALID_INPUT',
      `Key ${JSON.stringify(key)} does not end in a ${SEQ_DIGITS}-digit sequence number.`,
      { key },
    );
  }
  return Number(segment);
}

/**
 * Bounds that select exactly the children `<prefix>/...` of one prefix, so
 * `wf1` does not also select `wf10/...`. The upper bound is `<prefix>0`
 * because `'0'` is the character right after `'/'`: unlike `'/\uffff'` it also
 * covers children whose next character lies beyond the BMP.
 */
export function prefixRange(prefix: string): RangeOptions {
  assertId('key prefix', prefix);
  return { gt: `${prefix}/`, lt: `${prefix}0` };
}

/** `workflows`, `contexts`: `<workflowId>`. */
export function workflowKey(workflowId: string): string {
  assertId('workflow id', workflowId);
  return workflowId;
}

/** `snapshots`, `journal`: `<workflowId>/<seq>`. */
export function workflowSeqKey(workflowId: string, seq: number): string {
  assertId('workflow id', workflowId);
  return seqKey(workflowId, seq);
}

/** `jobs`: `<jobId>`. */
export function jobKey(jobId: string): string {
  assertId('job id', jobId);
  return jobId;
}

/**
 * `messages`: `<workflowId or "_">/<seq>`, or `<workflowId or "_">/<seq>/<writer>`
 * when processes sharing the store may number two messages alike: the
 * writer (a process's id, URI-encoded so it holds no `/`) keeps their keys
 * apart, and keys still sort by number first.
 */
export function messageKey(workflowId: string | undefined, seq: number, writer?: string): string {
  if (workflowId !== undefined) assertId('workflow id', workflowId);
  const key = seqKey(workflowId ?? NO_WORKFLOW, seq);
  return writer === undefined ? key : `${key}/${encodeURIComponent(writer)}`;
}

/** `evaluations`: `<workflowName>/<seq>`. */
export function evaluationKey(workflowName: string, seq: number): string {
  assertId('workflow name', workflowName);
  return seqKey(workflowName, seq);
}

/** The workflow a key belongs to, for collections keyed by workflow id. */
export function workflowIdOfKey(collection: Collection, key: string): string | undefined {
  if (!WORKFLOW_KEYED.has(collection)) return undefined;
  const slash = key.indexOf('/');
  return slash === -1 ? key : key.slice(0, slash);
}

/** @throws TroupeError `INVALID_INPUT` unless `collection` is one of {@link COLLECTIONS}. */
export function assertCollection(collection: Collection): void {
  if (!COLLECTIONS.includes(collection)) {
    throw new TroupeError(
      'INVALID_INPUT',
      `Unknown store collection ${JSON.stringify(collection)}; expected one of ${COLLECTIONS.join(', ')}.`,
      { collection, issues: ['collection: unknown'] },
    );
  }
}

/** @throws TroupeError `INVALID_INPUT` unless `key` is a non-empty, well-formed string. */
export function assertKey(collection: Collection, key: string): void {
  if (typeof key !== 'string' || key.length === 0 || LONE_SURROGATE.test(key)) {
    throw new TroupeError(
      'INVALID_INPUT',
      `Invalid key ${JSON.stringify(key)} in store collection '${collection}': expected a non-empty string without unpaired surrogates.`,
      { collection, key, issues: ['key: must be a non-empty well-formed string'] },
    );
  }
}

/** Maps a UTF-16 code unit so that code-unit order becomes code-point order. */
function codePointRank(unit: number): number {
  // Surrogates (supplementary code points) move above U+E000..U+FFFF.
  if (unit >= 0xd800 && unit <= 0xdfff) return unit + 0x2000;
  if (unit >= 0xe000) return unit - 0x800;
  return unit;
}

/** Orders keys as LevelDB does: by their UTF-8 bytes (= by code point). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x !== y) {
      // Plain code-unit order is wrong only when both units are >= U+D800.
      return x >= 0xd800 && y >= 0xd800 ? codePointRank(x) - codePointRank(y) : x - y;
    }
  }
  return a.length - b.length;
}

/** Range bounds reduced to at most one lower and one upper bound. */
export interface NormalizedRange {
  lower?: { key: string; inclusive: boolean };
  upper?: { key: string; inclusive: boolean };
  reverse: boolean;
  /** `Infinity` when unlimited. */
  limit: number;
}

/**
 * Validates range options and keeps the stricter bound when both `gt` and `gte`
 * (or `lt` and `lte`) are given, so every backend agrees (LevelDB itself would
 * silently prefer `gte`/`lte`).
 */
export function normalizeRange(
  collection: Collection,
  options: RangeOptions = {},
): NormalizedRange {
  const { limit } = options;
  if (limit !== undefined && limit !== Infinity && !(Number.isInteger(limit) && limit >= 0)) {
    throw new TroupeError(
      'INVALID_INPUT',
      `Invalid range limit ${String(limit)} on store collection '${collection}': expected a non-negative integer.`,
      { collection, issues: ['limit: must be a non-negative integer'] },
    );
  }
  for (const bound of ['gt', 'gte', 'lt', 'lte'] as const) {
    const value = options[bound];
    if (value !== undefined && typeof value !== 'string') {
      throw new TroupeError(
        'INVALID_INPUT',
        `Invalid range bound '${bound}' on store collection '${collection}': expected a string.`,
        { collection, issues: [`${bound}: must be a string`] },
      );
    }
  }
  const result: NormalizedRange = { reverse: options.reverse === true, limit: limit ?? Infinity };
  const lower = pick(options.gte, options.gt, (a, b) => a > b);
  if (lower) result.lower = lower;
  const upper = pick(options.lte, options.lt, (a, b) => a < b);
  if (upper) result.upper = upper;
  return result;
}

function pick(
  inclusive: string | undefined,
  exclusive: string | undefined,
  stricter: (a: number, b: number) => boolean,
): { key: string; inclusive: boolean } | undefined {
  if (exclusive === undefined) {
    return inclusive === undefined ? undefined : { key: inclusive, inclusive: true };
  }
  if (inclusive === undefined) return { key: exclusive, inclusive: false };
  // On a tie the exclusive bound is the stricter one.
  return stricter(compareKeys(inclusive, exclusive), 0)
    ? { key: inclusive, inclusive: true }
    : { key: exclusive, inclusive: false };
}
