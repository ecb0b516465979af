/**
 * What the page knows, fed by server frames. Views subscribe to the parts
 * they draw and redraw at most once per animation frame. Buffers are
 * bounded: the timeline keeps the newest {@link MAX_EVENTS} events.
 */
import type {
  ActorInfo,
  CheckpointSummary,
  InspectorStats,
  QueueView,
  RunDetail,
  ServerFrame,
  StatechartNode,
  StoredRunSummary,
  TaskDelta,
  TaskDetailView,
  TaskView,
  TimelineEvent,
} from '../../src/runtime/inspector/protocol.js';
import { decodeChanges, decodeTasks } from '../../src/runtime/inspector/task-table.js';

export const MAX_EVENTS = 100_000;

export type Topic =
  | 'actors'
  | 'events'
  | 'run'
  | 'run.tasks'
  | 'queue'
  | 'stored'
  | 'definitions'
  | 'status'
  | 'selection'
  | 'task'
  | 'started'
  | 'waits'
  | 'reply';

export type RunSource = 'live' | 'stored' | 'checkpoint';

export interface RunState {
  detail: RunDetail;
  source: RunSource;
  tasks: Map<string, TaskView>;
  /** Ids of tasks changed since views last looked (cleared by the run view). */
  changed: Set<string>;
  checkpoints: CheckpointSummary[];
  /** A stored run that cannot be replayed: why (absent when it can). */
  replayBlocked?: string;
  checkpointSeq?: number;
  raw?: unknown;
}

export class Model {
  connection: 'connecting' | 'open' | 'closed' = 'connecting';
  controls = false;
  stats: InspectorStats | undefined;
  readonly actors = new Map<string, ActorInfo>();
  /** Runs that ended while the page was open, newest last (kept so they can be reopened). */
  readonly endedRuns: ActorInfo[] = [];
  events: TimelineEvent[] = [];
  lastEventSeq = 0;
  skippedEvents = 0;
  queue: QueueView | null = null;
  run: RunState | undefined;
  readonly definitions = new Map<number, StatechartNode | null>();
  storedRuns: StoredRunSummary[] | undefined;
  selectedActor: string | undefined;
  selectedTask: string | undefined;
  /** Details of the selected task, as last sent (`task.detail`). */
  taskDetail: TaskDetailView | undefined;
  /** The run the last fork or replay started, for the page to open. */
  started: string | undefined;
  lastError: string | undefined;
  /** The newest answer to a request (views match it by id). */
  lastReply: Extract<ServerFrame, { type: 'reply' }> | undefined;
  private readonly listeners = new Map<Topic, Set<() => void>>();

  on(topic: Topic, listener: () => void): void {
    let set = this.listeners.get(topic);
    if (!set) {
      set = new Set();
      this.listeners.set(topic, set);
    }
    set.add(listener);
  }

  emit(topic: Topic): void {
    for (const listener of this.listeners.get(topic) ?? []) listener();
  }

  apply(frame: ServerFrame): void {
    switch (frame.type) {
      case 'hello':
        this.controls = frame.controls;
        // Logic ids are per server process; after a reconnect they may name other machines.
        this.definitions.clear();
        this.emit('status');
        return;
      case 'system':
        this.actors.clear();
        for (const actor of frame.actors) this.actors.set(actor.sessionId, actor);
        this.queue = frame.queue;
        this.appendEvents(frame.events);
        this.emit('actors');
        this.emit('queue');
        return;
      case 'actors':
        for (const actor of frame.actors) this.upsertActor(actor);
        this.emit('actors');
        return;
      case 'events':
        this.skippedEvents += frame.skipped;
        this.appendEvents(frame.events);
        return;
      case 'queue':
        this.queue = frame.queue;
        this.emit('queue');
        return;
      case 'run.detail': {
        const run = frame.table ? { ...frame.run, tasks: decodeTasks(frame.table) } : frame.run;
        this.showRun(run, run.live ? 'live' : 'stored', []);
        return;
      }
      case 'run.tasks':
        this.applyTasks(frame, frame.changes ? decodeChanges(frame.changes) : frame.tasks);
        if (
          frame.waits &&
          this.run?.source === 'live' &&
          this.run.detail.workflowId === frame.workflowId
        ) {
          this.run.detail = { ...this.run.detail, waits: frame.waits };
          this.emit('waits');
        }
        return;
      case 'task.detail':
        if (frame.task.id !== this.selectedTask) return;
        this.taskDetail = frame.task;
        this.emit('task');
        return;
      case 'forked':
      case 'replayed':
        this.started = frame.workflowId;
        this.emit('started');
        return;
      case 'definition':
        this.definitions.set(frame.logicId, frame.root);
        this.emit('definitions');
        return;
      case 'stored.runs':
        this.storedRuns = frame.runs;
        this.emit('stored');
        return;
      case 'stored.run':
        this.showRun(frame.run, 'stored', frame.checkpoints, frame.replayBlocked);
        return;
      case 'checkpoint': {
        const checkpoints = this.run?.checkpoints ?? [];
        const detail: RunDetail = frame.run ?? {
          workflowId: frame.workflowId,
          name: `checkpoint ${frame.seq}`,
          state: 'checkpoint',
          live: false,
          tasks: [],
          shared: null,
          waits: [],
        };
        this.showRun(detail, 'checkpoint', checkpoints);
        if (this.run) {
          this.run.checkpointSeq = frame.seq;
          this.run.raw = frame.raw;
        }
        this.emit('run');
        return;
      }
      case 'reply':
        this.lastReply = frame;
        this.emit('reply');
        if (!frame.ok && frame.error && frame.error.code !== 'NOT_LIVE') {
          this.lastError = `${frame.error.code}: ${frame.error.message}`;
          this.emit('status');
        }
        return;
      case 'stats':
        this.stats = frame.stats;
        this.emit('status');
        return;
    }
  }

  /** The live actor of a workflow run, if it is still in the system. */
  runActor(workflowId: string): ActorInfo | undefined {
    for (const actor of this.actors.values())
      if (actor.run?.workflowId === workflowId) return actor;
    return undefined;
  }

  private upsertActor(actor: ActorInfo): void {
    if (actor.status === 'active') {
      this.actors.set(actor.sessionId, actor);
      return;
    }
    this.actors.delete(actor.sessionId);
    if (actor.run) {
      this.endedRuns.push(actor);
      if (this.endedRuns.length > 50) this.endedRuns.shift();
      if (this.run?.detail.workflowId === actor.run.workflowId && this.run.source === 'live') {
        // The same run, now over: redraw the header, keep the DAG, its zoom and the drawer.
        this.run.detail = { ...this.run.detail, state: actor.run.state, live: false };
        this.emit('status');
      }
    }
  }

  private appendEvents(events: TimelineEvent[]): void {
    let added = 0;
    for (const event of events) {
      // A late join and the next batch can overlap; seq tells what is new.
      if (event.seq <= this.lastEventSeq) continue;
      this.lastEventSeq = event.seq;
      this.events.push(event);
      added++;
    }
    if (this.events.length > MAX_EVENTS) {
      // Trim in chunks so the copy is amortised over many appends.
      this.events = this.events.slice(this.events.length - Math.floor(MAX_EVENTS * 0.9));
    }
    if (added > 0) this.emit('events');
  }

  private showRun(
    detail: RunDetail,
    source: RunSource,
    checkpoints: CheckpointSummary[],
    replayBlocked?: string,
  ): void {
    const tasks = new Map<string, TaskView>();
    for (const task of detail.tasks) tasks.set(task.id, task);
    this.run = {
      detail,
      source,
      tasks,
      changed: new Set(tasks.keys()),
      checkpoints,
      ...(replayBlocked === undefined ? {} : { replayBlocked }),
    };
    this.emit('run');
    this.emit('waits');
  }

  private applyTasks(
    { workflowId, state, error, stopReason }: Extract<ServerFrame, { type: 'run.tasks' }>,
    deltas: TaskDelta[],
  ): void {
    const run = this.run;
    if (!run || run.detail.workflowId !== workflowId || run.source !== 'live') return;
    if (
      run.detail.state !== state ||
      run.detail.error !== error ||
      run.detail.stopReason !== stopReason
    ) {
      run.detail = {
        ...run.detail,
        state,
        ...(error ? { error } : {}),
        ...(stopReason === undefined ? {} : { stopReason }),
      };
      this.emit('status');
    }
    for (const delta of deltas) {
      const task = run.tasks.get(delta.id);
      if (!task) continue;
      run.tasks.set(delta.id, {
        ...delta,
        agent: task.agent,
        dependsOn: task.dependsOn,
        description: task.description,
      });
      run.changed.add(delta.id);
    }
    this.emit('run.tasks');
  }
}
