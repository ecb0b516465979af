/**
 * Answers to what a page asks: a run to watch, a machine definition, the
 * stored runs and checkpoints, and (with the token) run controls. Every
 * answer is frames; every failure is a `reply` frame with a code, never an
 * exception that could reach the runtime.
 */

import type { RunRecord } from '../../schemas/run-record.js';
import { isRunEnded, type WorkflowResult } from '../../schemas/workflow-result.js';
import { workflowKey, workflowSeqKey } from '../../store/keys.js';
import type { Store } from '../../store/store.js';
import type { CheckpointInfo } from '../durability/records.js';
import { readableCheckpoint, readRunRecord } from '../durability/recovery.js';
import { readRunRecords } from '../durability/run-records.js';
import { replayInput } from '../workflow/replay.js';
import type { AttemptLog } from './attempt-log.js';
import type { InspectorBridge } from './bridge.js';
import type { LlmLog } from './llm-log.js';
import type { PauseLog } from './pause-log.js';
import type { ProgressLog } from './progress-log.js';
import type {
  CheckpointSummary,
  ClientMessage,
  ControlAction,
  RunDetail,
  ServerFrame,
  StoredRunSummary,
} from './protocol.js';
import {
  checkpointContext,
  checkpointPreview,
  runDetailFromCheckpoint,
  runDetailFromRecord,
} from './run-view.js';
import type { RunWatch } from './run-watch.js';
import { statechartOf } from './statechart.js';
import { taskDetailFromContext, taskDetailFromRecord } from './task-detail.js';
import { encodeTasks } from './task-table.js';

/** Most stored runs listed, newest first. */
const MAX_STORED_RUNS = 500;
/** Newest checkpoints listed per run. */
const MAX_CHECKPOINTS = 200;

export interface RequestContext {
  bridge: InspectorBridge;
  runs: RunWatch;
  attempts: AttemptLog;
  /** When runs were paused, for the durations the task drawer shows. */
  pauses: PauseLog;
  /** LLM agents' live activity, for the task drawer. */
  llm: LlmLog;
  /** Tasks' progress messages, for the task drawer. */
  progress: ProgressLog;
  store: Store;
  /** Run ownership (PostgreSQL store): the stored runs then show their owners. */
  ownership: RunOwners | undefined;
  /** The stored checkpoints of a run (`engine.history`). */
  history: (workflowId: string) => Promise<CheckpointInfo[]>;
  /** Starts a run from a checkpoint (`engine.fork`); resolves with the new run's id. */
  fork: (workflowId: string, seq: number) => Promise<string>;
  /** Starts a run from a stored run's starting input (`engine.replay`); resolves with its id. Absent: refused. */
  replay: ((workflowId: string) => Promise<string>) | undefined;
  control: (action: ControlAction, workflowId: string) => Promise<void>;
  /** The run's state now (`engine.getState`): its result once it ended, even before that is stored. */
  state: (workflowId: string) => Promise<WorkflowResult | undefined>;
  /** Answers an open wait (`engine.signal`, which checks the answer against the wait's schema). */
  signal: (workflowId: string, name: string, payload: unknown) => Promise<void>;
  /** Controls are on and this client presented the token. */
  mayControl: boolean;
  /** The run this client watches, and whether it asked for columns (`compact`). */
  watching: { workflowId: string | null; compact?: boolean };
  /** How many timeline events per batch this client asked for (`events.watch`; absent: all sent). */
  timeline: { perBatch?: number };
  onRejected: () => void;
}

export async function answer(message: ClientMessage, ctx: RequestContext): Promise<ServerFrame[]> {
  const reply = (frames: ServerFrame[]) =>
    message.id === undefined
      ? frames
      : [...frames, { type: 'reply' as const, id: message.id, ok: true }];
  try {
    switch (message.type) {
      case 'run.watch': {
        if (ctx.watching.workflowId) ctx.runs.unwatch(ctx.watching.workflowId);
        ctx.watching.workflowId = null;
        if (message.workflowId === null) return reply([]);
        const run = ctx.runs.watch(message.workflowId);
        if (!run)
          return fail(message, 'NOT_LIVE', `No live run "${message.workflowId}"; ask stored.get.`);
        ctx.watching.workflowId = message.workflowId;
        ctx.watching.compact = message.compact === true;
        return reply([
          message.compact
            ? { type: 'run.detail', run: { ...run, tasks: [] }, table: encodeTasks(run.tasks) }
            : { type: 'run.detail', run },
        ]);
      }
      case 'events.watch':
        if (message.perBatch === undefined) delete ctx.timeline.perBatch;
        else ctx.timeline.perBatch = message.perBatch;
        return reply([]);
      case 'definition.get':
        return reply([
          {
            type: 'definition',
            logicId: message.logicId,
            root: statechartOf(ctx.bridge.logic(message.logicId)),
          },
        ]);
      case 'stored.list':
        return reply([{ type: 'stored.runs', runs: await storedRuns(ctx.store, ctx.ownership) }]);
      case 'stored.get': {
        const record = await ctx.store.get<RunRecord>('workflows', workflowKey(message.workflowId));
        if (!record) return fail(message, 'NOT_FOUND', `No stored run "${message.workflowId}".`);
        const checkpoints = await checkpointList(ctx, message.workflowId);
        const shown = await shownRecord(ctx, record);
        const replay = replayInput(record);
        return reply([
          {
            type: 'stored.run',
            run: withRunLogic(ctx, runDetailFromRecord(shown)),
            checkpoints,
            ...(replay.ok ? {} : { replayBlocked: replay.reason }),
          },
        ]);
      }
      case 'checkpoint.get': {
        const snapshot = await storedCheckpoint(ctx.store, message.workflowId, message.seq);
        if (snapshot === undefined)
          return fail(
            message,
            'NOT_FOUND',
            `No checkpoint ${workflowSeqKey(message.workflowId, message.seq)}.`,
          );
        return reply([
          {
            type: 'checkpoint',
            workflowId: message.workflowId,
            seq: message.seq,
            run: withRunLogic(ctx, runDetailFromCheckpoint(snapshot)),
            raw: checkpointPreview(snapshot),
          },
        ]);
      }
      case 'task.get': {
        const task = await taskDetail(ctx, message.workflowId, message.taskId, message.seq);
        if (!task)
          return fail(
            message,
            'NOT_FOUND',
            `No task "${message.taskId}" in "${message.workflowId}".`,
          );
        const llmLog = ctx.llm.entries(message.workflowId, message.taskId);
        const progressLog = ctx.progress.entries(message.workflowId, message.taskId);
        return reply([
          {
            type: 'task.detail',
            task: {
              ...task,
              ...(llmLog ? { llmLog: [...llmLog] } : {}),
              ...(progressLog ? { progressLog: progressLog.map((entry) => ({ ...entry })) } : {}),
            },
          },
        ]);
      }
      case 'control':
      case 'fork':
      case 'replay':
      case 'signal': {
        if (!ctx.mayControl) {
          ctx.onRejected();
          return fail(
            message,
            'FORBIDDEN',
            'Controls need a runtime started with inspector.controls and the inspector token.',
          );
        }
        if (message.type === 'control') {
          await ctx.control(message.action, message.workflowId);
          return reply([]);
        }
        if (message.type === 'signal') {
          await ctx.signal(message.workflowId, message.name, message.payload);
          return reply([]);
        }
        if (message.type === 'replay') {
          if (!ctx.replay)
            return fail(message, 'UNSUPPORTED', 'This runtime offers no engine.replay.');
          const replayId = await ctx.replay(message.workflowId);
          return reply([{ type: 'replayed', workflowId: replayId, from: message.workflowId }]);
        }
        const forkId = await ctx.fork(message.workflowId, message.seq);
        return reply([
          { type: 'forked', workflowId: forkId, from: message.workflowId, checkpoint: message.seq },
        ]);
      }
    }
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    return fail(
      message,
      typeof code === 'string' ? code : 'FAILED',
      (error as Error).message ?? String(error),
    );
  }
}

function fail(message: ClientMessage, code: string, text: string): ServerFrame[] {
  return [{ type: 'reply', id: message.id ?? 0, ok: false, error: { code, message: text } }];
}

/** Who runs each stored run (`RunOwnership.owners`). */
export interface RunOwners {
  owners(): Promise<(workflowId: string, ended: boolean) => string>;
}

export async function storedRuns(store: Store, ownership?: RunOwners): Promise<StoredRunSummary[]> {
  const runs: StoredRunSummary[] = [];
  const records = await readRunRecords(store);
  const owner = await ownership?.owners();
  for (const { workflowId, reason } of records.corrupt) {
    runs.push({
      workflowId,
      name: '',
      status: 'corrupt',
      createdAt: 0,
      updatedAt: 0,
      tasks: 0,
      corrupt: reason,
    });
  }
  for (const record of records) {
    runs.push({
      workflowId: record.workflowId,
      name: record.definition?.name ?? '',
      status: record.status,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      tasks: record.definition?.tasks?.length ?? 0,
      ...(owner ? { owner: owner(record.workflowId, record.result !== undefined) } : {}),
    });
  }
  runs.sort((a, b) => b.updatedAt - a.updatedAt);
  return runs.slice(0, MAX_STORED_RUNS);
}

async function checkpointList(
  ctx: RequestContext,
  workflowId: string,
): Promise<CheckpointSummary[]> {
  const history = await ctx.history(workflowId);
  return history.slice(-MAX_CHECKPOINTS).map((c) => ({
    seq: c.seq,
    state: c.state,
    takenAt: c.takenAt,
    reason: c.reason,
    completedTasks: c.completedTasks,
  }));
}

/** A stored checkpoint with its context whole (it leaves out what the run record holds). */
async function storedCheckpoint(store: Store, workflowId: string, seq: number): Promise<unknown> {
  const checkpoint = await store.get<unknown>('snapshots', workflowSeqKey(workflowId, seq));
  if (checkpoint === undefined) return undefined;
  return readableCheckpoint(checkpoint, await readRunRecord(store, workflowId));
}

/** A run read from the store, with the run machine's logic id (for its statechart). */
function withRunLogic<T extends RunDetail | null>(ctx: RequestContext, run: T): T {
  return run && { ...run, logicId: ctx.bridge.runLogicId() };
}

/**
 * A stored run as the page shows it. One with no stored result (it ended
 * here a moment ago, its process stopped, or it is paused) gets the state
 * its checkpoint and journal rebuild (`engine.getState`), so its tasks show
 * what they reached, not `pending`; one that has ended takes that end's status.
 */
async function shownRecord(ctx: RequestContext, record: RunRecord): Promise<RunRecord> {
  if (record.result) return record;
  const state = await ctx.state(record.workflowId);
  if (!state) return record;
  return {
    ...record,
    ...(isRunEnded(state.status) ? { status: state.status } : {}),
    result: state,
  };
}

/** A task of the watched live run, of a checkpoint (`seq`), else of the stored run. */
async function taskDetail(
  ctx: RequestContext,
  workflowId: string,
  taskId: string,
  seq: number | undefined,
) {
  const log = ctx.attempts.attempts(workflowId, taskId);
  if (seq !== undefined) {
    const context = checkpointContext(await storedCheckpoint(ctx.store, workflowId, seq));
    return context ? taskDetailFromContext(context, taskId, undefined) : undefined;
  }
  const live = ctx.runs.context(workflowId);
  const record = live
    ? undefined
    : await ctx.store.get<RunRecord>('workflows', workflowKey(workflowId));
  const detail = live
    ? taskDetailFromContext(live, taskId, log, ctx.attempts.started(workflowId, taskId))
    : record && taskDetailFromRecord(await shownRecord(ctx, record), taskId, log);
  if (detail?.startedAt === undefined) return detail;
  const pauses = ctx.pauses.within(workflowId, detail.startedAt, detail.finishedAt);
  return pauses.length === 0 ? detail : { ...detail, pauses };
}
