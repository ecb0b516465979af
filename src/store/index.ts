export {
  assertCollection,
  assertId,
  assertKey,
  compareKeys,
  evaluationKey,
  jobKey,
  messageKey,
  NO_WORKFLOW,
  type NormalizedRange,
  normalizeRange,
  parseSeq,
  prefixRange,
  SEQ_DIGITS,
  seqKey,
  workflowIdOfKey,
  workflowKey,
  workflowSeqKey,
} from './keys.js';
export { LevelStore, type LevelStoreOptions, type StoreOwner } from './level/level-store.js';
export { MemoryStore } from './memory/memory-store.js';
export {
  type ClaimedLease,
  COMMAND_CHANNEL,
  type HeldLease,
  type ParkedRun,
  PostgresLeases,
  type RunCommand,
} from './postgres/leases.js';
export { MIGRATIONS, type Migration } from './postgres/migrations.js';
export { PostgresStore, type PostgresStoreOptions } from './postgres/postgres-store.js';
export {
  decodeRecord,
  type EncodedOp,
  encodeOps,
  encodeRecord,
  type RecordContext,
  STORE_FORMAT_VERSION,
  type StoredRecord,
} from './record.js';
export {
  COLLECTIONS,
  type Collection,
  type RangeOptions,
  type Store,
  type StoreOp,
} from './store.js';
