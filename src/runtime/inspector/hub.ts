/**
 * The connected clients and the batches they get. One timer per batch
 * window (not per event): changes are coalesced by the bridge and the run
 * watch, serialised once and sent to every client, with each client's own
 * run changes appended. A client that cannot keep up is disconnected (it
 * reconnects and gets the whole system again) instead of growing a buffer.
 */

import type { WebSocket } from 'ws';
import type { AnyActorRef } from 'xstate';
import type { WorkflowResult } from '../../schemas/workflow-result.js';
import type { Store } from '../../store/store.js';
import type { CheckpointInfo } from '../durability/records.js';
import type { EngineEvent as WorkflowEmitted } from '../workflow/engine-events.js';
import { AttemptLog } from './attempt-log.js';
import { InspectorBridge } from './bridge.js';
import { parseClientMessage } from './client-messages.js';
import { LlmLog } from './llm-log.js';
import { PauseLog } from './pause-log.js';
import { ProgressLog } from './progress-log.js';
import type { ControlAction, InspectorStats, ServerFrame } from './protocol.js';
import { PROTOCOL_VERSION } from './protocol.js';
import { answer, type RunOwners, storedRuns } from './requests.js';
import { type RunChanges, RunWatch } from './run-watch.js';
import {
  parseStatelyFrame,
  type StatelyFrame,
  statelyActorFrame,
  statelyDefinition,
  statelyEventFrame,
  statelySnapshotFrame,
} from './stately.js';
import { StoredRunsRefresh } from './stored-refresh.js';
import { encodeChanges } from './task-table.js';

/** The part of a runtime the inspector uses; a `Runtime` satisfies it. */
export interface InspectedRuntime {
  readonly actor: AnyActorRef;
  readonly store: Store;
  /** Run ownership (PostgreSQL store): the stored runs then show their owners. */
  readonly ownership?: RunOwners | undefined;
  readonly engine: {
    /** Subscribes to every workflow event; returns the unsubscribe function. */
    on(type: '*', listener: (event: WorkflowEmitted) => unknown): () => void;
    /** Pauses a live run (the page's control). */
    pause(workflowId: string): void | Promise<void>;
    /** Resumes a paused run (the page's control). */
    resume(workflowId: string): void | Promise<void>;
    /** Cancels a live run (the page's control). */
    cancel(workflowId: string, reason?: string): void | Promise<void>;
    /** The run's stored checkpoints (the page's checkpoint list). */
    history(workflowId: string): Promise<CheckpointInfo[]>;
    /** Starts a new run from a checkpoint (the page's fork control). */
    fork(workflowId: string, options: { checkpoint: number }): Promise<{ workflowId: string }>;
    /** Starts a new run from a stored run's starting input (the page's Replay); without it Replay is refused. */
    replay?(workflowId: string): Promise<{ workflowId: string }>;
    /** Answers an open wait (the page's answer form). */
    signal(workflowId: string, name: string, payload: unknown): Promise<void>;
    /**
     * The run's state now, its result once ended (even before the result is
     * stored): a stored run asked for just as it ends shows how it ended.
     */
    getState?(workflowId: string): Promise<WorkflowResult | undefined>;
  };
}

export interface HubOptions {
  batchMs: number;
  maxEventsPerBatch: number;
  ringSize: number;
  maxClientFrameBytes: number;
  /** A client whose unsent data exceeds this is disconnected. */
  maxBufferedBytes: number;
}

interface Client {
  ws: WebSocket;
  seq: number;
  mayControl: boolean;
  watching: { workflowId: string | null; compact?: boolean };
  timeline: { perBatch?: number };
}

const LATE_JOIN_EVENTS = 1_000;
const STATS_EVERY_MS = 1_000;
/** Engine events after which the pages' list of stored runs is read again (see stored-refresh.ts). */
const STORED_TRIGGERS = new Set<string>([
  'workflow.started',
  'workflow.paused',
  'workflow.resumed',
  'workflow.completed',
  'workflow.failed',
  'workflow.cancelled',
  'compensation.completed',
  'compensation.failed',
  'checkpoint.saved',
]);

export class InspectorHub {
  readonly bridge: InspectorBridge;
  private readonly runs: RunWatch;
  private readonly attempts = new AttemptLog();
  private readonly pauses = new PauseLog();
  private readonly llm = new LlmLog();
  private readonly progress = new ProgressLog();
  private readonly storedRefresh = new StoredRunsRefresh(() => this.pushStoredRuns());
  private readonly clients = new Set<Client>();
  private readonly stately = new Set<WebSocket>();
  /** Actors the Stately clients have been told about. */
  private readonly statelyKnown = new Set<string>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** A batch asked for when the changes of a big run left by the last one are due. */
  private followUp: ReturnType<typeof setTimeout> | undefined;
  private lastStatsAt = 0;
  /** The gap before the next batch: the configured one, longer while a big run streams. */
  private batchGapMs: number;
  private readonly stopEngine: () => void;
  private readonly counters = {
    malformedFrames: 0,
    oversizedFrames: 0,
    rejectedRequests: 0,
    rejectedConnections: 0,
  };

  constructor(
    private readonly runtime: InspectedRuntime,
    private readonly options: HubOptions,
  ) {
    this.batchGapMs = options.batchMs;
    const schedule = () => this.schedule();
    this.bridge = new InspectorBridge({
      ringSize: options.ringSize,
      maxEventsPerBatch: options.maxEventsPerBatch,
      now: Date.now,
      onChange: schedule,
      onSnapshot: (sessionId) => this.runs.moved(sessionId),
    });
    this.runs = new RunWatch({ lookup: (id) => this.bridge.bySystemId(id), now: Date.now });
    this.bridge.attach(runtime.actor);
    this.stopEngine = runtime.engine.on('*', (event) => {
      this.attempts.listener(event);
      this.pauses.listener(event);
      this.llm.listener(event);
      this.progress.listener(event);
      this.runs.noted(event);
      if (STORED_TRIGGERS.has(event.type) && this.clients.size > 0) this.storedRefresh.requested();
    });
  }

  stats(): InspectorStats {
    return {
      clients: this.clients.size + this.stately.size,
      events: this.bridge.inspected,
      eventsSkipped: this.bridge.skipped,
      faults: this.bridge.faults,
      ...this.counters,
    };
  }

  countRejectedConnection(): void {
    this.counters.rejectedConnections++;
  }

  /** A page (or any client of our protocol) has connected. */
  addClient(ws: WebSocket, mayControl: boolean): void {
    const client: Client = {
      ws,
      seq: 0,
      mayControl,
      watching: { workflowId: null },
      timeline: {},
    };
    this.clients.add(client);
    this.bridge.setLive(true);
    let system: ReturnType<InspectorBridge['systemState']>;
    try {
      system = this.bridge.systemState(LATE_JOIN_EVENTS);
    } catch {
      this.bridge.faults++;
      ws.close(1011, 'inspector could not read the system');
      this.removeClient(client);
      return;
    }
    this.send(client, [
      {
        type: 'hello',
        protocol: PROTOCOL_VERSION,
        controls: mayControl,
        limits: {
          maxClientFrameBytes: this.options.maxClientFrameBytes,
          batchMs: this.options.batchMs,
        },
      },
      { type: 'system', ...system },
      { type: 'stats', stats: this.stats() },
    ]);
    ws.on('message', (data, isBinary) => this.onMessage(client, data, isBinary));
    ws.on('close', () => this.removeClient(client));
    ws.on('error', (error) => this.countSocketError(error));
  }

  /** A Stately client: gets the system in Stately frames; what it sends is relayed to the others. */
  addStatelyClient(ws: WebSocket): void {
    this.stately.add(ws);
    this.bridge.setLive(true);
    const rootId = this.bridge.rootId;
    for (const info of this.bridge.systemState(0).actors) {
      this.statelyKnown.add(info.sessionId);
      const definition = info.logicId
        ? statelyDefinition(this.bridge.logic(info.logicId))
        : undefined;
      safeSend(ws, JSON.stringify(statelyActorFrame(info, rootId, definition)));
    }
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? '' : data.toString();
      if (text.length > this.options.maxClientFrameBytes) {
        this.counters.oversizedFrames++;
        return;
      }
      const frame = parseStatelyFrame(text);
      if (!frame) {
        this.counters.malformedFrames++;
        return;
      }
      const out = JSON.stringify(frame);
      for (const other of this.stately) if (other !== ws) safeSend(other, out);
    });
    ws.on('close', () => {
      this.stately.delete(ws);
      this.updateLive();
    });
    ws.on('error', (error) => this.countSocketError(error));
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.followUp) clearTimeout(this.followUp);
    this.followUp = undefined;
    this.storedRefresh.close();
    this.stopEngine();
    this.bridge.detach();
    for (const client of this.clients) client.ws.terminate();
    for (const ws of this.stately) ws.terminate();
    this.clients.clear();
    this.stately.clear();
  }

  /** Sends the stored runs to the pages; a store closing under us leaves them their last list. */
  private async pushStoredRuns(): Promise<void> {
    if (this.clients.size === 0) return;
    try {
      const runs = await storedRuns(this.runtime.store, this.runtime.ownership);
      for (const client of this.clients) this.send(client, [{ type: 'stored.runs', runs }]);
    } catch {
      // The page keeps its last list.
    }
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.batchGapMs);
    // A pending batch must not keep a process alive that is otherwise done.
    this.timer.unref?.();
  }

  /**
   * Sends what changed since the last batch. It runs from a timer, where a
   * throw would end the process, so a failure is counted and the batch lost;
   * clients get the whole system again when they reconnect.
   */
  flush(): void {
    this.timer = undefined;
    try {
      this.sendBatch();
    } catch {
      this.bridge.faults++;
    }
    this.batchGapMs = Math.max(this.options.batchMs, this.runs.batchGapMs());
    this.followLeftRuns();
  }

  /**
   * A big run's changes gather for a while (`changesGapMs` in run-watch.ts):
   * a batch comes when they are due even if nothing else happens by then.
   */
  private followLeftRuns(): void {
    const due = this.runs.dueIn();
    if (due === undefined || this.followUp) return;
    this.followUp = setTimeout(() => {
      this.followUp = undefined;
      this.schedule();
    }, due);
    this.followUp.unref?.();
  }

  private sendBatch(): void {
    const batch = this.bridge.collect(this.eventsWanted());
    const changes = this.runs.collect();
    const before: string[] = [];
    const after: string[] = [];
    if (batch.actors.length > 0) {
      before.push(JSON.stringify({ type: 'actors', actors: batch.actors } satisfies ServerFrame));
    }
    if (batch.queue !== undefined) {
      after.push(JSON.stringify({ type: 'queue', queue: batch.queue } satisfies ServerFrame));
    }
    const now = Date.now();
    if (now - this.lastStatsAt >= STATS_EVERY_MS) {
      this.lastStatsAt = now;
      after.push(JSON.stringify({ type: 'stats', stats: this.stats() } satisfies ServerFrame));
    }
    // The events frame, serialised once per number of events asked for (usually one).
    const eventsJson = new Map<number, string | undefined>();
    const eventsFor = (client: Client): string | undefined => {
      const taken = batch.events.length;
      const count = Math.min(taken, this.perBatch(client));
      let json = eventsJson.get(count);
      if (json === undefined && !eventsJson.has(count)) {
        const skipped = batch.skipped + taken - count;
        json =
          count > 0 || skipped > 0
            ? JSON.stringify({
                type: 'events',
                events: batch.events.slice(taken - count).map((e) => e.timeline),
                skipped,
              } satisfies ServerFrame)
            : undefined;
        eventsJson.set(count, json);
      }
      return json;
    };
    // Each run's frame is serialised once per form (objects or columns) for all its watchers.
    const runJson = new Map<string, string>();
    const runFrame = (change: RunChanges, compact: boolean): ServerFrame => {
      if (change.detail) return { type: 'run.detail', run: change.detail };
      return {
        type: 'run.tasks',
        workflowId: change.workflowId,
        state: change.state,
        ...(change.error ? { error: change.error } : {}),
        ...(change.stopReason === undefined ? {} : { stopReason: change.stopReason }),
        ...(compact
          ? { tasks: [], changes: encodeChanges(change.tasks) }
          : { tasks: change.tasks }),
        ...(change.waits ? { waits: change.waits } : {}),
      };
    };
    const byRun = new Map(changes.map((change) => [change.workflowId, change]));
    const ownJson = (workflowId: string, compact: boolean): string | undefined => {
      const change = byRun.get(workflowId);
      if (!change) return undefined;
      const columns = compact && !change.detail;
      const key = `${columns ? 'columns' : 'objects'}:${workflowId}`;
      let json = runJson.get(key);
      if (json === undefined) {
        json = JSON.stringify(runFrame(change, columns));
        runJson.set(key, json);
      }
      return json;
    };
    for (const client of this.clients) {
      const { workflowId, compact } = client.watching;
      const own = workflowId ? ownJson(workflowId, compact === true) : undefined;
      const events = eventsFor(client);
      const frames = [...before];
      if (events) frames.push(events);
      frames.push(...after);
      if (own) frames.push(own);
      if (frames.length > 0) this.sendRaw(client, frames);
    }
    if (this.stately.size > 0) this.flushStately(batch);
  }

  /** The most events any client wants this batch: none previewed for nobody. */
  private eventsWanted(): number {
    if (this.stately.size > 0) return this.options.maxEventsPerBatch;
    let wanted = 0;
    for (const client of this.clients) wanted = Math.max(wanted, this.perBatch(client));
    return wanted;
  }

  private perBatch(client: Client): number {
    return Math.min(
      client.timeline.perBatch ?? this.options.maxEventsPerBatch,
      this.options.maxEventsPerBatch,
    );
  }

  private flushStately(batch: ReturnType<InspectorBridge['collect']>): void {
    const rootId = this.bridge.rootId;
    const frames: StatelyFrame[] = [];
    for (const info of batch.actors) {
      if (!this.statelyKnown.has(info.sessionId)) {
        this.statelyKnown.add(info.sessionId);
        const definition = info.logicId
          ? statelyDefinition(this.bridge.logic(info.logicId))
          : undefined;
        frames.push(statelyActorFrame(info, rootId, definition));
      } else {
        frames.push(statelySnapshotFrame(info, rootId, ''));
      }
      if (info.status !== 'active') this.statelyKnown.delete(info.sessionId);
    }
    for (const event of batch.events) frames.push(statelyEventFrame(event, rootId));
    const texts = frames.map((frame) => JSON.stringify(frame));
    for (const ws of this.stately) for (const text of texts) safeSend(ws, text);
  }

  private onMessage(client: Client, data: unknown, isBinary: boolean): void {
    const text = isBinary ? '' : String(data);
    const parsed = parseClientMessage(text, this.options.maxClientFrameBytes);
    if (!parsed.ok) {
      if (parsed.reason === 'oversized') this.counters.oversizedFrames++;
      else this.counters.malformedFrames++;
      this.send(client, [
        {
          type: 'reply',
          id: parsed.id ?? 0,
          ok: false,
          error: {
            code: parsed.reason === 'oversized' ? 'OVERSIZED' : 'MALFORMED',
            message: parsed.detail,
          },
        },
      ]);
      return;
    }
    answer(parsed.message, {
      bridge: this.bridge,
      runs: this.runs,
      attempts: this.attempts,
      pauses: this.pauses,
      llm: this.llm,
      progress: this.progress,
      store: this.runtime.store,
      ownership: this.runtime.ownership,
      history: (workflowId) => this.runtime.engine.history(workflowId),
      fork: async (workflowId, seq) =>
        (await this.runtime.engine.fork(workflowId, { checkpoint: seq })).workflowId,
      replay: this.runtime.engine.replay
        ? async (workflowId) => (await this.runtime.engine.replay!(workflowId)).workflowId
        : undefined,
      control: (action, workflowId) => this.control(action, workflowId),
      signal: (workflowId, name, payload) => this.runtime.engine.signal(workflowId, name, payload),
      state: async (workflowId) => this.runtime.engine.getState?.(workflowId),
      mayControl: client.mayControl,
      watching: client.watching,
      timeline: client.timeline,
      onRejected: () => this.counters.rejectedRequests++,
    }).then(
      (frames) => this.send(client, frames),
      () => undefined,
    );
  }

  private async control(action: ControlAction, workflowId: string): Promise<void> {
    if (action === 'pause') await this.runtime.engine.pause(workflowId);
    else if (action === 'resume') await this.runtime.engine.resume(workflowId);
    else await this.runtime.engine.cancel(workflowId, 'cancelled from the inspector');
  }

  private removeClient(client: Client): void {
    if (!this.clients.delete(client)) return;
    if (client.watching.workflowId) this.runs.unwatch(client.watching.workflowId);
    this.updateLive();
  }

  private updateLive(): void {
    if (this.clients.size === 0 && this.stately.size === 0) {
      this.bridge.setLive(false);
      this.statelyKnown.clear();
    }
  }

  private send(client: Client, frames: ServerFrame[]): void {
    if (frames.length > 0)
      this.sendRaw(
        client,
        frames.map((frame) => JSON.stringify(frame)),
      );
  }

  private sendRaw(client: Client, frames: string[]): void {
    if (client.ws.readyState !== client.ws.OPEN) return;
    if (client.ws.bufferedAmount > this.options.maxBufferedBytes) {
      client.ws.close(1013, 'inspector client too slow; reconnect');
      return;
    }
    client.seq++;
    safeSend(client.ws, `{"seq":${client.seq},"frames":[${frames.join(',')}]}`);
  }

  /**
   * `ws` reports a frame over `maxPayload`, or one that breaks the protocol
   * (bad UTF-8, bad opcode), as an error and then closes that socket only.
   */
  private countSocketError(error: Error): void {
    const code = (error as { code?: unknown }).code;
    if (code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') this.counters.oversizedFrames++;
    else this.counters.malformedFrames++;
  }
}

function safeSend(ws: WebSocket, text: string): void {
  if (ws.readyState !== ws.OPEN) return;
  ws.send(text, (error) => {
    // A send that fails means the socket is closing; its close handler cleans up.
    void error;
  });
}
