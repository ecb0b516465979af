/**
 * The inspector's wire protocol: what the bridge sends the page and what the
 * page may ask. A small discriminated union, plain JSON, carrying ids and
 * bounded previews, never object references. Shared by the server and the
 * page (which imports only these types), so both sides are checked by the
 * compiler against one definition.
 */

import type { TaskChanges, TaskTable } from './task-table.js';

/** Bumped when a frame changes shape incompatibly. */
export const PROTOCOL_VERSION = 1;

/** A bounded, JSON-safe copy of some value (see `preview.ts`). */
export type JsonPreview =
  | null
  | boolean
  | number
  | string
  | JsonPreview[]
  | { [key: string]: JsonPreview };

/** An XState state value. */
export type StateValueJson = string | { [key: string]: StateValueJson };

export type ActorStatus = 'active' | 'done' | 'error' | 'stopped';

/** Machines have a definition to draw; other logic (promises, callbacks) does not. */
export type ActorKind = 'machine' | 'other';

/** One actor of the system as the page shows it. */
export interface ActorInfo {
  /** XState's session id, unique in the process (`x:12`). */
  sessionId: string;
  /** Id relative to its parent. */
  id: string;
  /** A readable name: the system id, else `parent/id`. */
  name: string;
  systemId?: string;
  /** Session id of the parent actor; absent for the root. */
  parentId?: string;
  kind: ActorKind;
  /** The logic's name in its parent's `setup({ actors })`, when it has one. */
  src?: string;
  /** Key of the machine definition (ask with `definition.get`). */
  logicId?: number;
  status: ActorStatus;
  /** The machine's state value. */
  value?: StateValueJson;
  /** A bounded preview of the context (machines) or output. */
  summary?: JsonPreview;
  /** Present for workflow runs. */
  run?: RunSummary;
}

/** What the actor tree shows of a live workflow run without watching it. */
export interface RunSummary {
  workflowId: string;
  name: string;
  /** The run machine's state: created, running, paused, failing, cancelling, completed, ... */
  state: string;
  total: number;
  settled: number;
  inFlight: number;
  startedAt?: number;
}

export type TaskStatusName =
  | 'pending'
  | 'running'
  | 'retrying'
  | 'waiting'
  | 'completed'
  | 'failed'
  | 'skipped'
  | 'cancelled';

/** A change of one task; every field but `id` is the task's current value. */
export interface TaskDelta {
  id: string;
  status: TaskStatusName;
  attempts: number;
  startedAt?: number;
  finishedAt?: number;
  progress?: number;
  progressMessage?: string;
  /** Preview of the output, at most a few hundred characters. */
  output?: string;
  error?: string;
  skipReason?: string;
  /** Present once a saga rollback has planned to undo this task. */
  compensation?: CompensationView;
}

/** Where a completed task stands in a saga rollback. */
export interface CompensationView {
  status: 'pending' | 'running' | 'retrying' | 'completed' | 'failed';
  /** Attempts of this step so far (while it runs). */
  attempts?: number;
  error?: string;
}

/** One attempt of a task, as far as the inspector saw it. */
export interface AttemptView {
  attempt: number;
  agent: string;
  outcome: 'running' | 'retrying' | 'failed' | 'completed' | 'cancelled';
  startedAt?: number;
  endedAt?: number;
  error?: string;
  /** When a `retrying` attempt's backoff ends. */
  retryAt?: number;
}

/** One thing an LLM agent did, as the task drawer lists it (from the live `llm.*` events). */
export type LlmLogEntry =
  | { kind: 'text'; attempt: number; turn: number; text: string }
  | {
      kind: 'tool_call';
      attempt: number;
      turn: number;
      name: string;
      arguments: string;
      approval?: 'ask' | 'allowed';
    }
  | {
      kind: 'tool_result';
      attempt: number;
      turn: number;
      name: string;
      ok: boolean;
      result: string;
      rejected?: boolean;
    };

/** Everything about one task, asked for by the page's task drawer (`task.get`). */
export interface TaskDetailView extends TaskDelta {
  workflowId: string;
  agent: string;
  description: string;
  dependsOn: string[];
  /** Tasks that depend on this one. */
  dependents: string[];
  input: JsonPreview;
  /** A deeper preview of the output than the run's task list carries. */
  outputJson?: JsonPreview;
  /** Every attempt known: those of this process's runs, else the last one. */
  attemptLog: AttemptView[];
  /** What the task's compensation handler returned, when a saga rollback undid it. */
  compensationOutput?: JsonPreview;
  /** The key the agent's handler gets for idempotent side effects. */
  idempotencyKey: string;
  /** Epoch ms at which a `retrying` task becomes ready again. */
  retryAt?: number;
  /** What its LLM agent wrote and called, live, as this process saw it. */
  llmLog?: LlmLogEntry[];
  /** Its progress messages, oldest first, as this process saw them (a stored run has only `progressMessage`). */
  progressLog?: ProgressEntry[];
  /** The run's pauses (seen by this process) from the task's first start to its end or now. */
  pauses?: PauseSpan[];
}

/** A progress message a task's agent reported (`ctx.progress(fraction, message)`), as this process saw it. */
export interface ProgressEntry {
  /** The attempt that reported it (1 for the first). */
  attempt: number;
  /** Epoch ms of the first report with this message in a row, in this attempt. */
  at: number;
  /** The fraction (0..1) of the latest report with this message. */
  progress: number;
  message: string;
}

/** A time a run was paused: from `from` to `to` (absent while it is still paused), epoch ms. */
export interface PauseSpan {
  from: number;
  to?: number;
}

/** One stored checkpoint of a run. */
export interface CheckpointSummary {
  seq: number;
  /** The run's state at the checkpoint: running, paused, completed, ... */
  state: string;
  takenAt: number;
  reason: string;
  completedTasks: number;
}

/**
 * An open wait of a run: what a person is asked (`approval`, `input`, or a
 * named `signal` from `ctx.waitFor`). Sleeps and child runs wait for no one
 * and are not listed.
 */
export interface WaitView {
  name: string;
  taskId: string;
  kind: 'signal' | 'approval' | 'input';
  /** Epoch ms the wait began. */
  since: number;
  prompt?: string;
  /** JSON Schema of the answer (the page checks an answer against it before sending). */
  schema?: JsonPreview;
  /** Epoch ms at which the wait times out. */
  deadline?: number;
}

/** One task with its place in the DAG. */
export interface TaskView extends TaskDelta {
  agent: string;
  dependsOn: string[];
  description: string;
}

/** A whole run, sent when a page starts watching it or opens a stored one. */
export interface RunDetail {
  workflowId: string;
  name: string;
  state: string;
  /** False for stored runs and checkpoints (read-only views). */
  live: boolean;
  tasks: TaskView[];
  shared: JsonPreview;
  /** Open waits that take an answer, oldest first. */
  waits: WaitView[];
  startedAt?: number;
  finishedAt?: number;
  error?: string;
  /**
   * Once the run stops without completing: the reason the engine gave the
   * tasks it cancelled then (`task.cancelled`), the cancel's or the failure
   * that stopped it (see `cancel-reason.ts`).
   */
  stopReason?: string;
  /**
   * For a run read from the store: the run machine's logic id
   * ({@link ActorInfo.logicId}), so a page can draw the statechart of a run
   * whose actor is gone.
   */
  logicId?: number;
}

/** One event delivered to an actor. */
export interface TimelineEvent {
  /** Increases by one per inspected event, so gaps show what was left out. */
  seq: number;
  at: number;
  type: string;
  /** Name of the sender; absent when sent from outside the system. */
  source?: string;
  target: string;
  /** The event's payload, bounded. */
  preview: string;
}

/** A state node of a machine definition, keyed by paths rather than XState ids. */
export interface StatechartNode {
  key: string;
  /** Keys from the root joined with '.'; '' for the root. */
  path: string;
  type: 'atomic' | 'compound' | 'parallel' | 'final' | 'history';
  initial?: string;
  children: StatechartNode[];
  transitions: StatechartTransition[];
  /** Sources of actors invoked while in this state. */
  invokes: string[];
}

export interface StatechartTransition {
  event: string;
  /** Paths of target nodes; empty for targetless transitions. */
  targets: string[];
  guard?: string;
}

/** The task queue as the queue panel shows it, read from the `queue` actor's context. */
export interface QueueView {
  /** Jobs per status. */
  counts: Record<string, number>;
  totals: Record<string, number>;
  /** Running jobs (at most a few dozen). */
  running: { id: string; name: string; attempt: number; progress?: number; message?: string }[];
}

export interface StoredRunSummary {
  workflowId: string;
  name: string;
  status: string;
  createdAt: number;
  updatedAt: number;
  tasks: number;
  /** Set when the stored record cannot be read (`status` is then `corrupt`): why. */
  corrupt?: string;
  /**
   * With the PostgreSQL store, who runs it, as `troupe list` shows it: the
   * owner's id, `<owner> (expired)`, `parked`, or `-` (ended, or no process holds it).
   */
  owner?: string;
}

export interface InspectorStats {
  clients: number;
  /** Inspection events seen since the bridge attached. */
  events: number;
  /** Timeline events not sent because a batch was full. */
  eventsSkipped: number;
  /** Messages from clients that were not valid JSON or not a known request. */
  malformedFrames: number;
  /** Messages from clients over the size limit. */
  oversizedFrames: number;
  /** Requests refused for lack of a token or of controls. */
  rejectedRequests: number;
  /** Connections refused (origin, host or token). */
  rejectedConnections: number;
  /** Inspection events the bridge could not record (it never lets one fail an actor). */
  faults: number;
}

export type ServerFrame =
  | {
      type: 'hello';
      protocol: number;
      /** True when this client may pause, resume and cancel runs. */
      controls: boolean;
      limits: { maxClientFrameBytes: number; batchMs: number };
    }
  /** Everything the bridge holds, for a page that connects late. */
  | { type: 'system'; actors: ActorInfo[]; events: TimelineEvent[]; queue: QueueView | null }
  /**
   * New or changed actors; full records, so an unknown one can be added as is.
   * An actor whose status is no longer `active` has left the system.
   */
  | { type: 'actors'; actors: ActorInfo[] }
  | { type: 'events'; events: TimelineEvent[]; skipped: number }
  | { type: 'queue'; queue: QueueView | null }
  /**
   * With `table` (asked for with `run.watch` `compact`), `run.tasks` is
   * empty and the tasks are in the table ({@link TaskTable}).
   */
  | { type: 'run.detail'; run: RunDetail; table?: TaskTable }
  /**
   * Tasks whose status, attempts, progress, output or compensation changed;
   * `state` is the run's; `waits` (all open ones) only when they changed.
   * To a page watching with `compact`, `tasks` is empty and the changes are
   * in `changes` ({@link TaskChanges}).
   */
  | {
      type: 'run.tasks';
      workflowId: string;
      state: string;
      error?: string;
      /** The run's {@link RunDetail.stopReason}, once it stops. */
      stopReason?: string;
      tasks: TaskDelta[];
      changes?: TaskChanges;
      waits?: WaitView[];
    }
  | { type: 'task.detail'; task: TaskDetailView }
  | { type: 'definition'; logicId: number; root: StatechartNode | null }
  | { type: 'stored.runs'; runs: StoredRunSummary[] }
  | {
      type: 'stored.run';
      run: RunDetail;
      checkpoints: CheckpointSummary[];
      /** Why the run cannot be replayed (a fork, an old record); absent when it can. */
      replayBlocked?: string;
    }
  /** A fork started from a checkpoint (with the token): the page opens it. */
  | { type: 'forked'; workflowId: string; from: string; checkpoint: number }
  /** A replay started (with the token): the page opens it. */
  | { type: 'replayed'; workflowId: string; from: string }
  | { type: 'checkpoint'; workflowId: string; seq: number; run: RunDetail | null; raw: JsonPreview }
  | { type: 'reply'; id: number; ok: boolean; error?: { code: string; message: string } }
  | { type: 'stats'; stats: InspectorStats };

/** One WebSocket message: frames in order, numbered per connection from 1. */
export interface ServerMessage {
  seq: number;
  frames: ServerFrame[];
}

export type ControlAction = 'pause' | 'resume' | 'cancel';

export type ClientMessage = { id?: number } & (
  | {
      type: 'run.watch';
      workflowId: string | null;
      /** The run's tasks come as a {@link TaskTable}, and their changes as {@link TaskChanges} (smaller for big runs). */
      compact?: boolean;
    }
  /**
   * The most timeline events this client gets per batch: the newest; the
   * others are counted in its `events` frame's `skipped`. Without
   * `perBatch`, as many as the server sends anyone (`maxEventsPerBatch`),
   * which is also what a client that never asks gets.
   */
  | { type: 'events.watch'; perBatch?: number }
  | { type: 'definition.get'; logicId: number }
  | { type: 'stored.list' }
  | { type: 'stored.get'; workflowId: string }
  | { type: 'checkpoint.get'; workflowId: string; seq: number }
  | { type: 'control'; action: ControlAction; workflowId: string }
  /** Details of one task of the live run watched, a stored run, or a checkpoint (`seq`). */
  | { type: 'task.get'; workflowId: string; taskId: string; seq?: number }
  /** Starts a new run from a stored checkpoint (`engine.fork`); needs controls and the token. */
  | { type: 'fork'; workflowId: string; seq: number }
  /** Starts a new run from a stored run's starting input (`engine.replay`); needs controls and the token. */
  | { type: 'replay'; workflowId: string }
  /** Answers an open wait (`engine.signal`); needs controls and the token. */
  | { type: 'signal'; workflowId: string; name: string; payload: unknown }
);
