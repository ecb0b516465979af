/**
 * Shared by the durability suites: scratch folders and runtimes that are
 * cleaned up after each test, event recorders, raw reads of what a run left
 * in its LevelDB folder, and a comparable form of results (no timestamps).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import {
  createRuntime,
  type EngineEvent,
  LevelStore,
  type RunRecord,
  type Runtime,
  type RuntimeOptions,
  type Store,
  type WorkflowResult,
} from '../../src/index.js';
import type { WorkflowContext } from '../../src/machines/workflow/context.js';
import {
  type CheckpointRecord,
  type JournalRecord,
  readJournalEntry,
} from '../../src/runtime/durability/records.js';
import { parseSeq, prefixRange, workflowKey } from '../../src/store/keys.js';

export { deferred, expectTroupeError, flush, Gates } from '../core/helpers.js';

const dirs: string[] = [];
const runtimes: Runtime[] = [];

/** Registers the cleanup of scratch folders and runtimes; call once at the top of a suite. */
export function useScratch(): void {
  afterEach(async () => {
    for (const rt of runtimes.splice(0)) await rt.close();
    await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
  });
}

/** One run of a task, as its agent saw it. */
export interface Run {
  taskId: string;
  attempt: number;
  key: string;
}

/** A new empty folder, removed after the test. */
export async function scratchDir(prefix = 'troupe-durable-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
}

export interface TestRuntime {
  rt: Runtime;
  /** What the runtime reported to `onError`, as `context: message`. */
  errors: string[];
}

/**
 * A durable runtime over `dataDir` (LevelDB), closed after the test. Errors
 * reported to `onError` are collected instead of printed.
 */
export async function durableRuntime(
  dataDir: string | false,
  options: RuntimeOptions = {},
): Promise<TestRuntime> {
  const errors: string[] = [];
  const rt = await createRuntime({
    dataDir,
    durable: true,
    onError: (error, context) =>
      errors.push(`${context}: ${error instanceof Error ? error.message : String(error)}`),
    ...options,
  });
  runtimes.push(rt);
  return { rt, errors };
}

/** Every engine event, in delivery order. */
export function recordEvents(rt: Runtime): EngineEvent[] {
  const events: EngineEvent[] = [];
  rt.engine.on('*', (event) => {
    events.push(event);
  });
  return events;
}

/** Resolves with the first engine event matching `test`. */
export function nextEvent<T extends EngineEvent>(
  rt: Runtime,
  test: (event: EngineEvent) => event is T,
): Promise<T>;
export function nextEvent(rt: Runtime, test: (event: EngineEvent) => boolean): Promise<EngineEvent>;
export function nextEvent(
  rt: Runtime,
  test: (event: EngineEvent) => boolean,
): Promise<EngineEvent> {
  return new Promise((resolve) => {
    const off = rt.engine.on('*', (event) => {
      if (!test(event)) return;
      off();
      resolve(event);
    });
  });
}

/** What a run left in the store, read raw (no recovery code involved). */
export interface StoredRun {
  record: RunRecord | undefined;
  snapshots: { seq: number; checkpoint: CheckpointRecord }[];
  /** Verified and parsed (the stored form holds the event as JSON text). */
  journal: { seq: number; entry: JournalRecord }[];
}

/** Reads one run's records from a LevelDB folder no process holds. */
export async function readStoredRun(dataDir: string, workflowId: string): Promise<StoredRun> {
  const store = await LevelStore.open(dataDir);
  try {
    return await readRun(store, workflowId);
  } finally {
    await store.close();
  }
}

/** Reads one run's records from a store. */
export async function readRun(store: Store, workflowId: string): Promise<StoredRun> {
  const record = await store.get<RunRecord>('workflows', workflowKey(workflowId));
  const snapshots: StoredRun['snapshots'] = [];
  for await (const [key, checkpoint] of store.range<CheckpointRecord>(
    'snapshots',
    prefixRange(workflowId),
  )) {
    snapshots.push({ seq: parseSeq(key), checkpoint });
  }
  const journal: StoredRun['journal'] = [];
  for await (const [key, raw] of store.range<unknown>('journal', prefixRange(workflowId))) {
    const seq = parseSeq(key);
    journal.push({ seq, entry: readJournalEntry(workflowId, seq, raw) });
  }
  return { record, snapshots, journal };
}

/**
 * Which task completions and compensation steps a crashed run had made
 * durable: those in its newest checkpoint plus those journaled after it. This
 * reads the records directly, independently of the recovery code under test.
 */
export function durableProgress(stored: StoredRun): {
  completed: Set<string>;
  compensated: Set<string>;
} {
  const newest = stored.snapshots.at(-1);
  const completed = new Set<string>();
  const compensated = new Set<string>();
  if (newest) {
    const context = JSON.parse(newest.checkpoint.context) as WorkflowContext;
    for (const [taskId, run] of Object.entries(context.runs)) {
      if (run.status === 'completed') completed.add(taskId);
    }
    for (const taskId of context.compensation?.compensated ?? []) compensated.add(taskId);
  }
  for (const { seq, entry } of stored.journal) {
    if (newest && seq <= newest.seq) continue;
    if (entry.event.type === 'task.completed') completed.add(entry.event.taskId);
    if (entry.event.type === 'compensate.done') compensated.add(entry.event.taskId);
  }
  return { completed, compensated };
}

/** A result without what differs between two equal runs: timestamps and stack traces. */
export function comparable(result: WorkflowResult): unknown {
  const tasks = Object.fromEntries(
    Object.entries(result.tasks).map(([id, task]) => {
      const {
        startedAt: _s,
        finishedAt: _f,
        lastAttemptStartedAt: _l,
        error,
        failedAttempts,
        ...rest
      } = task;
      return [
        id,
        {
          ...rest,
          ...(error ? { error: withoutStack(error) } : {}),
          ...(failedAttempts
            ? {
                failedAttempts: failedAttempts.map((a) => ({ attempt: a.attempt, error: a.error })),
              }
            : {}),
        },
      ];
    }),
  );
  const {
    startedAt: _s,
    finishedAt: _f,
    totalExecutionTime: _t,
    error,
    compensation,
    ...rest
  } = result;
  return {
    ...rest,
    tasks,
    ...(error ? { error: withoutStack(error) } : {}),
    ...(compensation
      ? {
          compensation: {
            compensated: compensation.compensated,
            failed: compensation.failed.map((f) => ({ ...f, error: withoutStack(f.error) })),
            ...(compensation.outputs ? { outputs: compensation.outputs } : {}),
          },
        }
      : {}),
  };
}

function withoutStack<T extends { stack?: string }>(error: T): Omit<T, 'stack'> {
  const { stack: _stack, ...rest } = error;
  return rest;
}

/** A straight chain of tasks `ids[0] -> ids[1] -> ...` run by `agent`. */
export function chain(name: string, ids: readonly string[], agent = 'worker') {
  return {
    name,
    tasks: ids.map((id, i) => ({ id, agent, dependsOn: i === 0 ? [] : [ids[i - 1]!] })),
  };
}
