/**
 * The shared context of a run is updated in place, and each dispatched task
 * sees it as it was when the task was dispatched. Copying the whole object on
 * every update made a run (and the replay of its journal) O(tasks²) when tasks
 * add keys; instead each update logs the values it overwrites, and a task's
 * view is rebuilt from the live object and that log only when the task reads
 * it. The log holds only what the views of tasks still in flight need: it is
 * emptied whenever no task is in flight and trimmed to the oldest view.
 *
 * The log lives beside the context, not in it (the context stays plain JSON
 * and is checkpointed as it is): a context rebuilt from the store starts a
 * fresh log, and no view from before the restore is in flight any more.
 */
import { defineKey } from '../../schemas/json-value.js';

type Shared = Record<string, unknown>;

interface Change {
  /** The update that made it. */
  version: number;
  key: string;
  /** Whether the key existed before, and its value then. */
  had: boolean;
  previous: unknown;
}

interface SharedLog {
  /** Updates applied so far. */
  version: number;
  /** Overwritten values, oldest first. */
  changes: Change[];
  /** Views at a version below this cannot be rebuilt (the log was trimmed past them). */
  floor: number;
  /** The version each in-flight task's view shows, by task id. */
  views: Map<string, number>;
  /** The latest view built, reused by views of the same version. */
  built?: { version: number; shared: Readonly<Shared> };
}

/** Changes logged beyond what in-flight views need before the log is trimmed. */
const TRIM_SLACK = 64;

const logs = new WeakMap<Shared, SharedLog>();

function logOf(shared: Shared): SharedLog {
  let log = logs.get(shared);
  if (!log) {
    log = { version: 0, changes: [], floor: 0, views: new Map() };
    logs.set(shared, log);
  }
  return log;
}

/** Merges `updates` into the run's shared context, in place, keeping what in-flight views need. */
export function applySharedUpdates(shared: Shared, updates: Readonly<Shared>): void {
  const log = logOf(shared);
  log.version++;
  const logging = log.views.size > 0;
  if (!logging) log.floor = log.version;
  for (const key of Object.keys(updates)) {
    if (logging) {
      log.changes.push({
        version: log.version,
        key,
        had: Object.hasOwn(shared, key),
        previous: shared[key],
      });
    }
    defineKey(shared, key, updates[key]);
  }
  if (log.changes.length > TRIM_SLACK + 4 * log.views.size) trim(log);
}

/**
 * A getter for the view of the shared context that the task being
 * dispatched sees: the context as it is now, built when first read.
 */
export function sharedViewOf(shared: Shared, taskId: string): () => Readonly<Shared> {
  const log = logOf(shared);
  const version = log.version;
  log.views.set(taskId, version);
  let view: Readonly<Shared> | undefined;
  return () => {
    view ??= build(shared, log, version);
    return view;
  };
}

/**
 * The task's attempt has ended: its view is no longer kept exact (read after
 * this, it may show later updates).
 */
export function releaseSharedView(shared: Shared, taskId: string): void {
  const log = logs.get(shared);
  if (!log?.views.delete(taskId)) return;
  if (log.views.size === 0) {
    log.changes = [];
    log.floor = log.version;
  }
}

function build(shared: Shared, log: SharedLog, version: number): Readonly<Shared> {
  if (log.built?.version === version) return log.built.shared;
  const copy: Shared = { ...shared };
  if (version >= log.floor) {
    // Newest first, so each key ends with the value it had at `version`.
    for (let i = log.changes.length - 1; i >= 0; i--) {
      const change = log.changes[i]!;
      if (change.version <= version) break;
      if (change.had) defineKey(copy, change.key, change.previous);
      else delete copy[change.key];
    }
  }
  log.built = { version, shared: copy };
  return copy;
}

/** Drops the changes no in-flight view needs. */
function trim(log: SharedLog): void {
  let oldest = log.version;
  for (const version of log.views.values()) oldest = Math.min(oldest, version);
  let keep = 0;
  while (keep < log.changes.length && log.changes[keep]!.version <= oldest) keep++;
  if (keep > 0) log.changes = log.changes.slice(keep);
  log.floor = Math.max(log.floor, oldest);
}
