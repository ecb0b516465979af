/**
 * The bridge between XState's inspection stream and the inspector's clients.
 *
 * Invariant: the inspection callback does O(1) work and serialises nothing.
 * A 10,000-task run produces ~150,000 inspection events; the callback only
 * marks actors dirty and drops event references into a ring. The real work
 * (state values, bounded previews, names) happens in {@link collect}, once
 * per batch and only while a client is connected, for the actors that
 * changed and for at most `maxEventsPerBatch` events.
 */
import type { AnyActorRef, InspectionEvent, Subscription } from 'xstate';
import { createWorkflowMachine } from '../../machines/workflow/workflow.machine.js';
import { COMMUNICATOR_SYSTEM_ID, communicatorSummary } from './communicator-view.js';
import { previewJson } from './preview.js';
import type { ActorInfo, ActorStatus, JsonPreview, QueueView, TimelineEvent } from './protocol.js';
import { QUEUE_SYSTEM_ID, queueView } from './queue-view.js';
import { isWorkflowContext, runSummary, toStateValue } from './run-view.js';
import { hasDefinition } from './statechart.js';

export interface BridgeOptions {
  /** Timeline events kept for clients that connect late. */
  ringSize: number;
  /** Most timeline events per batch; older ones in a busy window are skipped and counted. */
  maxEventsPerBatch: number;
  /** Timestamps of timeline events. */
  now: () => number;
  /** Called (often) when something changed while clients are connected. */
  onChange: () => void;
  /** Called with an actor's session id each time it has processed an event; must be O(1). */
  onSnapshot: (sessionId: string) => void;
}

/** A timeline event with what the Stately format needs besides. */
export interface CollectedEvent {
  timeline: TimelineEvent;
  targetId: string;
  sourceId?: string;
  payload: JsonPreview;
}

export interface BridgeBatch {
  actors: ActorInfo[];
  events: CollectedEvent[];
  skipped: number;
  /** Present when the queue actor changed. */
  queue?: QueueView | null;
}

interface Entry {
  ref: AnyActorRef;
  dirty: boolean;
  ended: boolean;
}

interface RefInternals {
  systemId?: string;
  logic?: unknown;
  src?: unknown;
  _parent?: AnyActorRef;
}

export class InspectorBridge {
  /** Inspection events seen since attaching. */
  inspected = 0;
  /** Timeline events skipped because a batch was full. */
  skipped = 0;
  /** Inspection events the bridge failed to record (it carries on without them). */
  faults = 0;
  private readonly entries = new Map<string, Entry>();
  private dirty: Entry[] = [];
  private live = false;
  private subscription: Subscription | undefined;
  private root: AnyActorRef | undefined;
  private readonly logicIds = new WeakMap<object, number>();
  private readonly logics = new Map<number, unknown>();
  /** {@link runLogicId}. */
  private runLogic: object | undefined;
  private readonly names = new WeakMap<object, string>();
  // The ring: parallel arrays indexed by seq % size, written without allocation.
  private seq = 0;
  private sentSeq = 0;
  private readonly ringEvent: unknown[];
  private readonly ringTarget: (AnyActorRef | undefined)[];
  private readonly ringSource: (AnyActorRef | undefined)[];
  private readonly ringAt: Float64Array;

  constructor(private readonly options: BridgeOptions) {
    this.ringEvent = new Array(options.ringSize);
    this.ringTarget = new Array(options.ringSize);
    this.ringSource = new Array(options.ringSize);
    this.ringAt = new Float64Array(options.ringSize);
  }

  /** Registers the actors that exist already, then follows the system's inspection stream. */
  attach(root: AnyActorRef): void {
    this.root = root;
    const visit = (ref: AnyActorRef) => {
      this.entryOf(ref);
      const children = (ref.getSnapshot() as { children?: Record<string, AnyActorRef> }).children;
      for (const child of Object.values(children ?? {})) if (child) visit(child);
    };
    visit(root);
    this.subscription = root.system.inspect(this.observer);
  }

  detach(): void {
    this.subscription?.unsubscribe();
    this.subscription = undefined;
  }

  /** Session id of the root actor. */
  get rootId(): string {
    return this.root?.sessionId ?? '';
  }

  /**
   * Runs inside XState's processing of every event: it must never throw,
   * or the actor being inspected would fail. Hence the catch-all.
   */
  readonly observer = (event: InspectionEvent): void => {
    this.inspected++;
    try {
      this.observe(event);
    } catch {
      this.faults++;
    }
  };

  private observe(event: InspectionEvent): void {
    switch (event.type) {
      case '@xstate.event': {
        const i = this.seq++ % this.options.ringSize;
        this.ringEvent[i] = event.event;
        this.ringTarget[i] = event.actorRef as AnyActorRef;
        this.ringSource[i] = event.sourceRef as AnyActorRef | undefined;
        this.ringAt[i] = this.options.now();
        if (this.live) this.options.onChange();
        return;
      }
      case '@xstate.snapshot': {
        const entry = this.entryOf(event.actorRef as AnyActorRef);
        if ((event.snapshot as { status?: string }).status !== 'active') entry.ended = true;
        this.options.onSnapshot(event.actorRef.sessionId);
        this.touch(entry);
        return;
      }
      case '@xstate.actor':
        this.touch(this.entryOf(event.actorRef as AnyActorRef));
        return;
    }
  }

  /**
   * Turns batching on (a client is connected) or off. Off, nothing is marked
   * dirty and actors that end are forgotten at once; a client that connects
   * gets everything from {@link systemState}.
   */
  setLive(live: boolean): void {
    if (live === this.live) return;
    this.live = live;
    for (const entry of this.dirty) entry.dirty = false;
    this.dirty = [];
    if (!live) this.prune();
    this.sentSeq = this.seq;
  }

  /** Everything known now, for a client that has just connected. */
  systemState(maxEvents: number): {
    actors: ActorInfo[];
    events: TimelineEvent[];
    queue: QueueView | null;
  } {
    const actors: ActorInfo[] = [];
    let queue: QueueView | null = null;
    for (const entry of this.entries.values()) {
      if (entry.ended) continue;
      actors.push(this.info(entry));
      if (this.systemIdOf(entry.ref) === QUEUE_SYSTEM_ID) queue = this.queueOf(entry.ref);
    }
    const events = this.eventsSince(Math.max(0, this.seq - maxEvents)).map((e) => e.timeline);
    return { actors, events, queue };
  }

  /**
   * What changed since the last batch, with at most `maxEvents` of its
   * newest events (the bridge's `maxEventsPerBatch` at most). Events are
   * previewed here, so a batch nobody wants events of previews none.
   */
  collect(maxEvents = this.options.maxEventsPerBatch): BridgeBatch {
    const actors: ActorInfo[] = [];
    let queue: QueueView | null | undefined;
    const dirty = this.dirty;
    this.dirty = [];
    for (const entry of dirty) {
      entry.dirty = false;
      actors.push(this.info(entry));
      if (this.systemIdOf(entry.ref) === QUEUE_SYSTEM_ID) {
        queue = entry.ended ? null : this.queueOf(entry.ref);
      }
      if (entry.ended) this.entries.delete(entry.ref.sessionId);
    }
    const pending = this.seq - this.sentSeq;
    const take = Math.min(
      pending,
      maxEvents,
      this.options.maxEventsPerBatch,
      this.options.ringSize,
    );
    const skipped = pending - take;
    this.skipped += skipped;
    const events = this.eventsSince(this.seq - take);
    this.sentSeq = this.seq;
    return { actors, events, skipped, ...(queue === undefined ? {} : { queue }) };
  }

  /**
   * The logic id of the workflow run machine: the chart a page shows for a
   * run whose actor is gone (it ended before the page opened, or in another
   * process). Every run has the same machine; this one is made for its
   * definition only, so it is there before any run.
   */
  runLogicId(): number {
    this.runLogic ??= createWorkflowMachine({ guards: new Map(), roles: () => new Set() });
    return this.logicIdOf(this.runLogic);
  }

  /** The logic of a machine, by the id given in {@link ActorInfo.logicId}. */
  logic(logicId: number): unknown {
    return this.logics.get(logicId);
  }

  /** A live actor by system id. */
  bySystemId(systemId: string): AnyActorRef | undefined {
    return this.root?.system.get(systemId) as AnyActorRef | undefined;
  }

  private touch(entry: Entry): void {
    if (!this.live) {
      if (entry.ended) this.entries.delete(entry.ref.sessionId);
      return;
    }
    if (entry.dirty) return;
    entry.dirty = true;
    this.dirty.push(entry);
    this.options.onChange();
  }

  private entryOf(ref: AnyActorRef): Entry {
    let entry = this.entries.get(ref.sessionId);
    if (!entry) {
      entry = { ref, dirty: false, ended: false };
      this.entries.set(ref.sessionId, entry);
    }
    return entry;
  }

  private prune(): void {
    for (const [sessionId, entry] of this.entries) if (entry.ended) this.entries.delete(sessionId);
  }

  private eventsSince(from: number): CollectedEvent[] {
    const out: CollectedEvent[] = [];
    const size = this.options.ringSize;
    for (let s = Math.max(from, this.seq - size); s < this.seq; s++) {
      const i = s % size;
      const target = this.ringTarget[i];
      if (!target) continue;
      const source = this.ringSource[i];
      const event = this.ringEvent[i] as { type?: unknown };
      const payload = previewJson(event, { depth: 3, keys: 12, items: 5, chars: 120, nodes: 60 });
      const text = JSON.stringify(payload);
      out.push({
        timeline: {
          seq: s + 1,
          at: this.ringAt[i]!,
          type: typeof event?.type === 'string' ? event.type : '(unknown)',
          ...(source ? { source: this.nameOf(source) } : {}),
          target: this.nameOf(target),
          preview: text.length > 240 ? `${text.slice(0, 239)}…` : text,
        },
        targetId: target.sessionId,
        ...(source ? { sourceId: source.sessionId } : {}),
        payload,
      });
    }
    return out;
  }

  private info(entry: Entry): ActorInfo {
    const ref = entry.ref;
    const internals = ref as unknown as RefInternals;
    const snapshot = safeSnapshot(ref);
    const status = statusOf(snapshot, entry.ended);
    const systemId = this.systemIdOf(ref);
    const parent = internals._parent;
    const logic = internals.logic;
    const machine = hasDefinition(logic);
    const info: ActorInfo = {
      sessionId: ref.sessionId,
      id: ref.id,
      name: this.nameOf(ref),
      ...(systemId ? { systemId } : {}),
      ...(parent ? { parentId: parent.sessionId } : {}),
      kind: machine ? 'machine' : 'other',
      ...(typeof internals.src === 'string' ? { src: internals.src } : {}),
      ...(machine ? { logicId: this.logicIdOf(logic as object) } : {}),
      status,
    };
    const { value, context, output } = snapshot as {
      value?: unknown;
      context?: unknown;
      output?: unknown;
    };
    if (machine) {
      const stateValue = toStateValue(value);
      if (stateValue !== undefined) info.value = stateValue;
    }
    if (isWorkflowContext(context)) {
      info.run = runSummary(context, info.value);
      info.summary = { shared: previewJson(context.shared) };
    } else if (systemId === COMMUNICATOR_SYSTEM_ID) {
      info.summary = communicatorSummary(context);
    } else if (context !== undefined) {
      info.summary = previewJson(context, { depth: 2 });
    } else if (output !== undefined) {
      info.summary = { output: previewJson(output) };
    }
    return info;
  }

  private queueOf(ref: AnyActorRef): QueueView | null {
    return queueView((safeSnapshot(ref) as { context?: unknown }).context);
  }

  private systemIdOf(ref: AnyActorRef): string | undefined {
    const systemId = (ref as unknown as RefInternals).systemId;
    return typeof systemId === 'string' ? systemId : undefined;
  }

  private nameOf(ref: AnyActorRef): string {
    const cached = this.names.get(ref);
    if (cached) return cached;
    const systemId = this.systemIdOf(ref);
    const parent = (ref as unknown as RefInternals)._parent;
    const name = systemId ?? (parent ? `${this.nameOf(parent)}/${ref.id}` : ref.id);
    this.names.set(ref, name);
    return name;
  }

  private logicIdOf(logic: object): number {
    let id = this.logicIds.get(logic);
    if (id === undefined) {
      id = this.logics.size + 1;
      this.logicIds.set(logic, id);
      this.logics.set(id, logic);
    }
    return id;
  }
}

function safeSnapshot(ref: AnyActorRef): object {
  try {
    const snapshot: unknown = ref.getSnapshot();
    return typeof snapshot === 'object' && snapshot !== null ? snapshot : {};
  } catch {
    return {};
  }
}

function statusOf(snapshot: object, ended: boolean): ActorStatus {
  const status = (snapshot as { status?: unknown }).status;
  if (status === 'done' || status === 'error' || status === 'stopped') return status;
  return ended ? 'stopped' : 'active';
}
