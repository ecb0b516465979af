/**
 * Answers to what a page asks: a run to watch, a machine definition, the
 * stored runs and checkpoints, and (with the token) run controls. Every
 * answer is frames; every failure is a `reply` frame with a code, never an
 * exception that could reach the runtime.
 */

import type { RunRecord } from '../../schemas/run-record.js';
import { parseSeq, prefixRange, workflowKey, workflowSeqKey } from '../../store/keys.js';
import type { Store } from '../../store/store.js';
import type { InspectorBridge } from './bridge.js';
import type { ClientMessage, ControlAction, ServerFrame, StoredRunSummary } from './protocol.js';
import { checkpointPreview, runDetailFromCheckpoint, runDetailFromRecord } from './run-view.js';
import type { RunWatch } from './run-watch.js';
import { statechartOf } from './statechart.js';

/** Most stored runs listed, newest first. */
const MAX_STORED_RUNS = 500;
/** Newest checkpoints listed per run. */
const MAX_CHECKPOINTS = 200;

export interface RequestContext {
  bridge: InspectorBridge;
  runs: RunWatch;
  store: Store;
  control: (action: ControlAction, workflowId: string) => Promise<void>;
  /** Controls are on and this client presented the token. */
  mayControl: boolean;
  /** The run this client watches; updated by `run.watch`. */
  watching: { workflowId: string | null };
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
        return reply([{ type: 'run.detail', run }]);
      }
      case 'definition.get':
        return reply([
          {
            type: 'definition',
            logicId: message.logicId,
            root: statechartOf(ctx.bridge.logic(message.logicId)),
          },
        ]);
      case 'stored.list':
        return reply([{ type: 'stored.runs', runs: await storedRuns(ctx.store) }]);
      case 'stored.get': {
        const record = await ctx.store.get<RunRecord>('workflows', workflowKey(message.workflowId));
        if (!record) return fail(message, 'NOT_FOUND', `No stored run "${message.workflowId}".`);
        const checkpoints = await checkpointSeqs(ctx.store, message.workflowId);
        return reply([{ type: 'stored.run', run: runDetailFromRecord(record), checkpoints }]);
      }
      case 'checkpoint.get': {
        const key = workflowSeqKey(message.workflowId, message.seq);
        const snapshot = await ctx.store.get<unknown>('snapshots', key);
        if (snapshot === undefined) return fail(message, 'NOT_FOUND', `No checkpoint ${key}.`);
        return reply([
          {
            type: 'checkpoint',
            workflowId: message.workflowId,
            seq: message.seq,
            run: runDetailFromCheckpoint(snapshot),
            raw: checkpointPreview(snapshot),
          },
        ]);
      }
      case 'control': {
        if (!ctx.mayControl) {
          ctx.onRejected();
          return fail(
            message,
            'FORBIDDEN',
            'Controls need a runtime started with inspector.controls and the inspector token.',
          );
        }
        await ctx.control(message.action, message.workflowId);
        return reply([]);
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

async function storedRuns(store: Store): Promise<StoredRunSummary[]> {
  const runs: StoredRunSummary[] = [];
  for await (const [, record] of store.range<RunRecord>('workflows')) {
    runs.push({
      workflowId: record.workflowId,
      name: record.definition?.name ?? '',
      status: record.status,
      createdAt: record.createdAt,
      updatedAt: record.updatedAt,
      tasks: record.definition?.tasks?.length ?? 0,
    });
  }
  runs.sort((a, b) => b.updatedAt - a.updatedAt);
  return runs.slice(0, MAX_STORED_RUNS);
}

async function checkpointSeqs(store: Store, workflowId: string): Promise<number[]> {
  const seqs: number[] = [];
  // Keys only: a checkpoint's value holds a whole run context.
  const range = {
    ...prefixRange(workflowId),
    reverse: true,
    limit: MAX_CHECKPOINTS,
    keysOnly: true,
  };
  for await (const [key] of store.range<unknown>('snapshots', range)) {
    try {
      seqs.push(parseSeq(key));
    } catch {
      // A key of another layout is not a checkpoint; leave it out of the list.
    }
  }
  return seqs.reverse();
}
