import type { Actor, AnyActorRef, Subscription } from 'xstate';
import type { WaitSchemas } from '../../actors/agents/wait-schemas.js';
import type { CompensationHandler, CompensationRegistry } from '../../actors/saga/compensations.js';
import { TroupeError } from '../../errors.js';
import { agentSystemId, workflowSystemId } from '../../machines/protocol.js';
import type { RuntimeMachine } from '../../machines/runtime.machine.js';
import { shouldCompensate } from '../../machines/workflow/compensation.js';
import type { WorkflowContext, WorkflowInput } from '../../machines/workflow/context.js';
import type { WorkflowEvent } from '../../machines/workflow/events.js';
import { buildWorkflowResult } from '../../machines/workflow/result.js';
import { currentRun, runningTasks } from '../../machines/workflow/scheduler.js';
import { openWaits, waitInfo } from '../../machines/workflow/waits.js';
import type { WorkflowMachine } from '../../machines/workflow/workflow.machine.js';
import { workflowIdSchema } from '../../schemas/agent-message.js';
import type { ResolvedValueLimits } from '../../schemas/limits.js';
import { type RunRecord, startingShared } from '../../schemas/run-record.js';
import { type DefinitionRegistry, validateDefinition } from '../../schemas/validate.js';
import type { WorkflowDefinitionInput } from '../../schemas/workflow-definition.js';
import type { WaitInfo, WorkflowResult, WorkflowStatus } from '../../schemas/workflow-result.js';
import { workflowKey, workflowSeqKey } from '../../store/keys.js';
import type { Store, StoreOp } from '../../store/store.js';
import type { Clock } from '../clock.js';
import type { DurableRuns } from '../durability/durable-runs.js';
import type { JournalWriter } from '../durability/journal-writer.js';
import type { RunStep } from '../durability/journaled-logic.js';
import {
  type CheckpointInfo,
  checkpointOp,
  journalEntry,
  serialise,
} from '../durability/records.js';
import {
  listCheckpoints,
  type RecoveredRun,
  readRunRecord,
  recoverRun,
} from '../durability/recovery.js';
import { type RunList, readRunRecords } from '../durability/run-records.js';
import { journalStoredEvent } from '../durability/stored-commands.js';
import { EventBus, type ListenerFor } from '../event-bus.js';
import { ChildRuns, type ParentLink } from '../waits/child-runs.js';
import { checkSignal } from '../waits/signal-check.js';
import {
  type CheckedStartOptions,
  cancelOptionsSchema,
  checkInitialContext,
  definitionObjectSchema,
  engineArgument,
  eventTypeSchema,
  forkOptionsSchema,
  handlersSchema,
  listenerSchema,
  listFilterSchema,
  replayOptionsSchema,
  startOptionsSchema,
} from './engine-arguments.js';
import type { EngineEvent } from './engine-events.js';
import { replayInput } from './replay.js';
import { checkRunnable } from './runnable.js';

/** Options of `engine.start` and `engine.execute`. */
export interface StartWorkflowOptions {
  /** Id of the run; must be new. @default a generated id */
  workflowId?: string;
  /** Initial shared context of the run. @default {} */
  context?: Record<string, unknown>;
  /** Completions between checkpoints of this run. @default the runtime's `checkpointInterval` */
  checkpointInterval?: number;
  /** Set by the engine on a child run: the parent and the wait its result answers. @default none */
  parent?: ParentLink;
}

/** A run that waits, and what it asks (`engine.waiting()`, `troupe list --waiting`). */
export interface WaitingRun {
  workflowId: string;
  name: string;
  /** Whether the run is live in this process (else it resumes with `engine.recover`). */
  live: boolean;
  waits: WaitInfo[];
}

/** A run that has started (or been resumed). */
export interface WorkflowHandle {
  workflowId: string;
  /**
   * Settles when the run ends and its result is stored, whatever its status.
   * Rejects if the runtime closes first, or with `STORE_WRITE_FAILED` if a
   * write of the run failed (the run is then stopped; reopen to recover it).
   */
  result: Promise<WorkflowResult>;
}

/** A run's state now: live from its actor, or as stored once it has ended. */
export type WorkflowState = WorkflowResult;

/** `list()` filter: a stored status, or `interrupted` (not ended, and not live in this process). */
export type RunFilter = { status?: WorkflowStatus | 'interrupted' };

export interface WorkflowEngineDeps {
  actor: Actor<RuntimeMachine>;
  store: Store;
  clock: Clock;
  logic: WorkflowMachine;
  compensations: CompensationRegistry;
  registry: () => DefinitionRegistry;
  createId: () => string;
  onError: (error: unknown, context: string) => void;
  /** Size limit of a run's initial `context`. */
  limits: Pick<ResolvedValueLimits, 'maxSharedUpdateBytes'>;
  /** Journal and checkpoints; absent when the runtime is not durable. */
  durability?: { writer: JournalWriter; runs: DurableRuns };
  /** The zod schemas of waits open in this process (filled by the agents' executors). */
  waitSchemas: WaitSchemas;
  /** Run ownership across processes (PostgreSQL store); absent with one process. */
  ownership?: OwnershipPort;
}

/**
 * What the engine asks of run ownership (src/runtime/ownership/): a run is
 * started or recovered only once this process holds its lease, the lease is
 * released when the run's result is stored, and control events for a run
 * live in another process are forwarded to it.
 */
export interface OwnershipPort {
  /**
   * Takes the lease of a run before it goes live here.
   * @throws TroupeError `INVALID_INPUT` (`new`: the run exists) or
   * `RUN_OWNED_ELSEWHERE` (`recover`: a live process owns it).
   */
  acquire(workflowId: string, kind: 'new' | 'recover'): Promise<void>;
  /** The run ended and its result is stored (or there is nothing to run). */
  release(workflowId: string): void;
  /** The run could not go live here: its lease is let go at once, for another process. */
  abandon(workflowId: string): void;
  /** Whether this process still holds the run's lease (a refused write drops it). */
  holds(workflowId: string): boolean;
  /** The `RUN_OWNERSHIP_LOST` error of a run this process lost. */
  lostError(workflowId: string): TroupeError;
  /**
   * Queues a control event (pause, resume, cancel, a wait's answer) for the
   * run's owner in another process, or its next owner after a takeover.
   * Resolves once the command is stored.
   */
  forward(workflowId: string, event: WorkflowEvent): Promise<void>;
}

interface LiveRun {
  ref: AnyActorRef;
  record: RunRecord;
  subscription: Subscription;
  result: Promise<WorkflowResult>;
  resolve: (result: WorkflowResult) => void;
  reject: (error: unknown) => void;
  /**
   * Set when the run has ended and its result is being stored: until then it
   * stays here, so `recover` and `list` do not take it for an interrupted run
   * (the stored record has no result yet) and start it again.
   */
  ended?: WorkflowResult;
}

const FINAL_STATES = new Set([
  'completed',
  'failed',
  'cancelled',
  'compensated',
  'compensationFailed',
]);

/**
 * Starts, controls, observes and recovers workflow runs. Each run is a child
 * actor of the runtime's root; this class translates calls into events,
 * events into promises and listener calls, and stored state back into live
 * actors (see `durability/`).
 */
export class WorkflowEngine {
  private readonly bus: EventBus<EngineEvent>;
  private readonly live = new Map<string, LiveRun>();
  /** Recoveries under way: a second `recover` of the same run joins the first. */
  private readonly recovering = new Map<string, Promise<WorkflowHandle | null>>();
  private readonly children: ChildRuns;

  constructor(private readonly deps: WorkflowEngineDeps) {
    this.children = new ChildRuns({
      recover: (id) => this.recover(id),
      start: (definition, options) => this.start(definition, options),
      deliver: (parentId, wait, result) => {
        const parent = this.live.get(parentId);
        if (parent && !parent.ended)
          parent.ref.send({
            type: 'wait.signal',
            name: wait,
            payload: result,
            at: deps.clock.now(),
          });
      },
      cancel: (id, options) => this.cancel(id, options),
      isLive: (id) => this.live.has(id) && !this.live.get(id)!.ended,
      onError: deps.onError,
    });
    this.bus = new EventBus((error, event) => deps.onError(error, `listener of ${event.type}`));
    deps.actor.on('workflow.ended', ({ workflowId, result }) => this.settle(workflowId, result));
    deps.actor.on('workflow.crashed', ({ workflowId, error }) => {
      const run = this.live.get(workflowId);
      this.forget(workflowId);
      run?.reject(
        new TroupeError('TASK_FAILED', `Workflow "${workflowId}" crashed: ${error.message}`, {
          workflowId,
        }),
      );
    });
  }

  /** Listens to run events (`task.completed`, `workflow.failed`, ... or `*`). Returns an unsubscribe function. */
  on<K extends EngineEvent['type'] | '*'>(
    type: K,
    listener: ListenerFor<EngineEvent, K>,
  ): () => void {
    engineArgument('on', 'type', eventTypeSchema, type);
    engineArgument('on', 'listener', listenerSchema, listener);
    return this.bus.on(type, listener);
  }

  /**
   * An attempt started (its executor says so; it is no event of the run,
   * whose reports carry `startedAt`): the listeners hear `task.started` if the
   * attempt is still the task's current one in a run live here.
   */
  announceStart(started: Extract<EngineEvent, { type: 'task.started' }>): void {
    const run = this.live.get(started.workflowId);
    if (!run || run.ended) return;
    const { context } = run.ref.getSnapshot() as { context: WorkflowContext };
    if (currentRun(context, started)) this.bus.emit(started);
  }

  /** Removes a listener added with `on`. */
  off<K extends EngineEvent['type'] | '*'>(type: K, listener: ListenerFor<EngineEvent, K>): void {
    this.bus.off(type, listener);
  }

  /** The seed's name for {@link on}. */
  registerEventHandler<K extends EngineEvent['type'] | '*'>(
    type: K,
    listener: ListenerFor<EngineEvent, K>,
  ): () => void {
    return this.on(type, listener);
  }

  /**
   * Registers the compensation handlers of a workflow (by its name). A saga
   * run resumed in another process needs the same registration first.
   */
  registerCompensations(
    workflowName: string,
    handlers: Readonly<Record<string, CompensationHandler>>,
  ): void {
    engineArgument(
      'registerCompensations',
      'workflowName',
      definitionObjectSchema.shape.name,
      workflowName,
    );
    engineArgument('registerCompensations', 'handlers', handlersSchema, handlers);
    this.deps.compensations.register(workflowName, handlers);
  }

  /**
   * Validates a definition and starts a run of it.
   * @throws TroupeError `INVALID_DEFINITION` before anything starts.
   */
  async start(
    definition: WorkflowDefinitionInput,
    input: StartWorkflowOptions = {},
  ): Promise<WorkflowHandle> {
    return this.begin(definition, engineArgument('start', 'options', startOptionsSchema, input));
  }

  /**
   * Starts a new run of a stored run's definition with the shared context it
   * was started with (the original is untouched), under a new id; the new
   * record names the original in `replayOf`. Forks and runs stored before
   * troupe kept a run's starting input cannot be replayed.
   *
   * @throws TroupeError `WORKFLOW_NOT_FOUND`; `INVALID_INPUT` (a fork, an old
   * record, or a `workflowId` already used); what `start` throws.
   */
  async replay(workflowId: string, input: { workflowId?: string } = {}): Promise<WorkflowHandle> {
    engineArgument('replay', 'workflowId', workflowIdSchema, workflowId);
    const options = engineArgument('replay', 'options', replayOptionsSchema, input);
    const record = await this.storedRecord(workflowId, 'replay');
    const replay = replayInput(record);
    if (!replay.ok)
      throw new TroupeError(
        'INVALID_INPUT',
        `engine.replay(): workflow "${workflowId}" cannot be replayed: ${replay.reason}.`,
        { workflowId },
      );
    return this.begin(
      replay.definition,
      {
        context: replay.context,
        ...(options.workflowId ? { workflowId: options.workflowId } : {}),
        ...(record.checkpointInterval ? { checkpointInterval: record.checkpointInterval } : {}),
      },
      workflowId,
    );
  }

  /** The stored record of a run to fork or replay. @throws TroupeError `WORKFLOW_NOT_FOUND`. */
  private async storedRecord(workflowId: string, to: 'fork' | 'replay'): Promise<RunRecord> {
    const record = await readRunRecord(this.deps.store, workflowId);
    if (!record)
      throw new TroupeError(
        'WORKFLOW_NOT_FOUND',
        `No stored workflow run "${workflowId}" to ${to}.`,
        { workflowId },
      );
    return record;
  }

  private async begin(
    definition: WorkflowDefinitionInput,
    options: CheckedStartOptions,
    replayOf?: string,
  ): Promise<WorkflowHandle> {
    const shared = checkInitialContext(options.context, this.deps.limits);
    const valid = validateDefinition(definition, {
      ...this.deps.registry(),
      workflows: this.children.names(),
    });
    checkRunnable(valid, this.deps.registry(), this.deps.compensations);
    const workflowId = options.workflowId ?? this.deps.createId();
    workflowKey(workflowId);
    if (this.live.has(workflowId) || (await readRunRecord(this.deps.store, workflowId))) {
      throw new TroupeError(
        'INVALID_INPUT',
        `A workflow run with id "${workflowId}" already exists; choose another workflowId.`,
        { workflowId },
      );
    }
    const now = this.deps.clock.now();
    const record: RunRecord = {
      workflowId,
      definition: valid,
      status: 'running',
      createdAt: now,
      updatedAt: now,
      ...(options.checkpointInterval ? { checkpointInterval: options.checkpointInterval } : {}),
      ...(options.parent ? { parent: options.parent } : {}),
      ...(replayOf ? { replayOf } : {}),
      input: { context: shared, tasks: valid.tasks.length },
    };
    await this.deps.ownership?.acquire(workflowId, 'new');
    await this.deps.store.batch([recordOp(record)]);
    await this.assertStored(workflowId);
    this.deps.durability?.runs.track(workflowId, {
      checkpointInterval: options.checkpointInterval,
      // Not evaluated without durability. The state holds the definition,
      // so this is a lower bound of its size for the first checkpoint.
      checkpointBytes: JSON.stringify(valid).length,
    });
    const run: WorkflowInput = { workflowId, definition: valid, shared };
    return this.launch(record, run, { type: 'workflow.run', at: this.deps.clock.now() });
  }

  /**
   * Makes a definition available by its name to tasks of kind `workflow`
   * (`workflow: { name }`) and to `ctx.startChild(name)`. A run resumed in
   * another process needs the same registration first.
   */
  registerWorkflow(definition: WorkflowDefinitionInput): void {
    validateDefinition(definition, this.deps.registry());
    this.children.register(definition);
  }

  /**
   * Answers a wait (`ctx.waitFor`, or a task of kind `approval` / `input`).
   * The payload is checked first: a wrong one throws and the task keeps
   * waiting. A live run applies it at once (a paused one on resume); a run
   * stored but not live here (its process exited) gets it appended to its
   * journal, applied when the run is resumed (`engine.recover`, `troupe
   * resume`). Resolves once the answer is durable.
   *
   * @throws TroupeError `WORKFLOW_NOT_FOUND`, `WAIT_NOT_FOUND`, `INVALID_SIGNAL`, `INVALID_INPUT`.
   */
  async signal(workflowId: string, name: string, payload: unknown): Promise<void> {
    workflowKey(workflowId);
    const run = this.live.get(workflowId);
    if (run && !run.ended) {
      const { context } = run.ref.getSnapshot() as { context: WorkflowContext };
      const json = checkSignal(context, name, payload, this.deps.waitSchemas);
      run.ref.send({ type: 'wait.signal', name, payload: json, at: this.deps.clock.now() });
      await this.flushed();
      return;
    }
    const record = await readRunRecord(this.deps.store, workflowId);
    if (!record || record.result) {
      throw new TroupeError(
        record ? 'WAIT_NOT_FOUND' : 'WORKFLOW_NOT_FOUND',
        record
          ? `Workflow "${workflowId}" has ended (${record.status}); it waits for nothing.`
          : `No workflow run "${workflowId}" to signal.`,
        { workflowId, wait: name },
      );
    }
    const recovered = await recoverRun(this.deps.store, this.deps.logic, record);
    const json = checkSignal(recovered.context, name, payload, this.deps.waitSchemas);
    const at = this.deps.clock.now();
    if (this.deps.ownership) {
      // Shared store: the run's journal belongs to its owner (live elsewhere,
      // or the next to take it over), which applies the answer it is sent.
      await this.deps.ownership.forward(workflowId, {
        type: 'wait.signal',
        name,
        payload: json,
        at,
      });
      return;
    }
    // Appended after the last entry recovery replayed: the run applies it when resumed.
    const seq = recovered.seq + 1;
    const entry = journalEntry(workflowId, seq, { type: 'wait.signal', name, payload: json, at });
    await this.deps.store.batch([
      { type: 'put', collection: 'journal', key: workflowSeqKey(workflowId, seq), value: entry },
    ]);
  }

  /** Runs that are not over and have open waits, with what each asks; live ones and stored ones. */
  async waiting(): Promise<WaitingRun[]> {
    const runs: WaitingRun[] = [];
    for await (const [, record] of this.deps.store.range<RunRecord>('workflows')) {
      if (record.result) continue;
      const run = this.live.get(record.workflowId);
      const context = run
        ? (run.ref.getSnapshot() as { context: WorkflowContext }).context
        : (await recoverRun(this.deps.store, this.deps.logic, record)).context;
      const waits = openWaits(context).map(waitInfo);
      if (waits.length > 0)
        runs.push({
          workflowId: record.workflowId,
          name: record.definition.name,
          live: !!run,
          waits,
        });
    }
    return runs;
  }

  /** Starts a run and waits for it to end. */
  async execute(
    definition: WorkflowDefinitionInput,
    options: StartWorkflowOptions = {},
  ): Promise<WorkflowResult> {
    return (await this.start(definition, options)).result;
  }

  /** Runs with a checkpoint every `checkpointInterval` completions (the seed's API). */
  async executeWithCheckpointRecovery(
    definition: WorkflowDefinitionInput,
    options: StartWorkflowOptions & { checkpointInterval?: number } = {},
  ): Promise<WorkflowResult> {
    return this.execute(definition, { checkpointInterval: 5, ...options });
  }

  /**
   * Starts a saga run: if a task fails for good, the handlers of the tasks
   * that completed run in reverse completion order. `handlers` maps task ids
   * (or the names tasks give in `compensation`) to handlers.
   */
  async startWithSagaPattern(
    definition: WorkflowDefinitionInput,
    handlers: Readonly<Record<string, CompensationHandler>>,
    options: StartWorkflowOptions = {},
  ): Promise<WorkflowHandle> {
    engineArgument('startWithSagaPattern', 'definition', definitionObjectSchema, definition);
    this.registerCompensations(definition.name, handlers);
    const tasks = (definition.tasks ?? []).map((task) =>
      typeof task === 'object' &&
      task !== null &&
      task.compensation === undefined &&
      typeof task.id === 'string' &&
      Object.hasOwn(handlers, task.id)
        ? { ...task, compensation: task.id }
        : task,
    );
    return this.start({ ...definition, tasks, saga: true }, options);
  }

  /** Runs a definition as a saga with these compensation handlers (by name) and waits for the end: `completed`, `compensated` or `compensation_failed`. */
  async executeWithSagaPattern(
    definition: WorkflowDefinitionInput,
    handlers: Readonly<Record<string, CompensationHandler>>,
    options: StartWorkflowOptions = {},
  ): Promise<WorkflowResult> {
    return (await this.startWithSagaPattern(definition, handlers, options)).result;
  }

  /**
   * Brings a stored run back to life: the newest checkpoint plus the journal
   * after it, replayed without effects; in-flight attempts are dispatched
   * again and timers re-armed. Resolves `null` if there is no such run; a run
   * that already ended resolves with its stored result.
   *
   * @throws TroupeError naming what is missing (agent, guard, compensation) or corrupt; the stored run is untouched.
   */
  recover(workflowId: string): Promise<WorkflowHandle | null> {
    try {
      engineArgument('recover', 'workflowId', workflowIdSchema, workflowId);
    } catch (error) {
      return Promise.reject(error);
    }
    // Two concurrent recoveries would both read the store and spawn the run
    // twice (a duplicate system id stops the runtime's root actor).
    let recovery = this.recovering.get(workflowId);
    if (!recovery) {
      recovery = this.recoverOnce(workflowId).finally(() => this.recovering.delete(workflowId));
      this.recovering.set(workflowId, recovery);
    }
    return recovery;
  }

  private async recoverOnce(workflowId: string): Promise<WorkflowHandle | null> {
    const running = this.live.get(workflowId);
    if (running) return { workflowId, result: running.result };
    const ownership = this.deps.ownership;
    await ownership?.acquire(workflowId, 'recover');
    const recovered = await this.read(workflowId).catch((error: unknown) => {
      // Not live here: the lease is let go for another process to try.
      ownership?.abandon(workflowId);
      throw error;
    });
    if (!recovered || !('context' in recovered)) {
      ownership?.release(workflowId);
      const result = recovered?.record.result;
      return result ? { workflowId, result: Promise.resolve(result) } : null;
    }
    const { record } = recovered;
    // Lost while reading (a heartbeat came too late): the new owner runs it, not this process.
    if (ownership && !ownership.holds(workflowId)) throw ownership.lostError(workflowId);
    this.deps.durability?.runs.track(workflowId, {
      seq: recovered.seq,
      checkpointSeq: recovered.checkpoints.at(-1) ?? 0,
      checkpoints: recovered.checkpoints,
      checkpointInterval: record.checkpointInterval,
    });
    if (recovered.value === 'created') {
      const input: WorkflowInput = {
        workflowId,
        definition: record.definition,
        ...startingShared(record),
      };
      return this.launch(record, input, { type: 'workflow.run', at: this.deps.clock.now() });
    }
    if (FINAL_STATES.has(recovered.value)) {
      // Ended, but the process died before the result was stored.
      return this.launch(
        record,
        { workflowId, definition: record.definition, restore: recovered },
        undefined,
      );
    }
    return this.launch(
      record,
      { workflowId, definition: record.definition, restore: recovered },
      {
        type: 'workflow.restore',
        at: this.deps.clock.now(),
      },
    );
  }

  /** The stored run rebuilt and checked runnable; just the record once ended. */
  private async read(
    workflowId: string,
  ): Promise<RecoveredRun | { record: RunRecord } | undefined> {
    const record = await readRunRecord(this.deps.store, workflowId);
    if (!record || record.result) return record && { record };
    const recovered = await recoverRun(this.deps.store, this.deps.logic, record);
    // A run being cancelled without a rollback only ends: it needs no agent.
    if (recovered.value !== 'cancelling' || shouldCompensate(recovered.context)) {
      checkRunnable(
        recovered.context.definition,
        this.deps.registry(),
        this.deps.compensations,
        workflowId,
      );
    }
    return recovered;
  }

  /** The seed's API: resumes a stored run and waits for it to end; `null` if there is no such run. */
  async resumeFromCheckpoint(workflowId: string): Promise<WorkflowResult | null> {
    const handle = await this.recover(workflowId);
    return handle ? handle.result : null;
  }

  /** Runs stored but neither ended nor live here: what a crash left behind (corrupt records in `.corrupt`). */
  async interrupted(): Promise<RunList> {
    return this.list({ status: 'interrupted' });
  }

  /** The kept checkpoints of a run, oldest first (time travel). */
  async history(workflowId: string): Promise<CheckpointInfo[]> {
    engineArgument('history', 'workflowId', workflowIdSchema, workflowId);
    return listCheckpoints(this.deps.store, workflowId);
  }

  /**
   * Starts a new run from a past checkpoint of another (time travel): the
   * state at that checkpoint, under a new id; the original is untouched.
   */
  async fork(
    workflowId: string,
    input: { checkpoint?: number; workflowId?: string } = {},
  ): Promise<WorkflowHandle> {
    engineArgument('fork', 'workflowId', workflowIdSchema, workflowId);
    const options = engineArgument('fork', 'options', forkOptionsSchema, input);
    const record = await this.storedRecord(workflowId, 'fork');
    const recovered = await recoverRun(this.deps.store, this.deps.logic, record, {
      checkpointSeq: options.checkpoint,
    });
    if (FINAL_STATES.has(recovered.value)) {
      throw new TroupeError(
        'INVALID_INPUT',
        `Checkpoint ${options.checkpoint ?? recovered.seq} of "${workflowId}" is the end of the run; fork from an earlier one (engine.history lists them).`,
        { workflowId },
      );
    }
    const forkId = options.workflowId ?? this.deps.createId();
    workflowKey(forkId);
    const context: WorkflowContext = { ...recovered.context, workflowId: forkId };
    checkRunnable(context.definition, this.deps.registry(), this.deps.compensations, forkId);
    const now = this.deps.clock.now();
    const forked: RunRecord = {
      workflowId: forkId,
      definition: context.definition,
      status: 'running',
      createdAt: now,
      updatedAt: now,
      forkedFrom: { workflowId, checkpoint: recovered.seq },
    };
    await this.deps.ownership?.acquire(forkId, 'new');
    // The fork's first checkpoint is written before it starts, so a crash
    // right away still finds the forked state.
    await this.deps.store.batch([
      recordOp(forked),
      checkpointOp(forkId, {
        seq: 0,
        value: recovered.value,
        context,
        takenAt: now,
        reason: 'fork',
      }).op,
    ]);
    await this.assertStored(forkId);
    this.deps.durability?.runs.track(forkId, { checkpoints: [0] });
    return this.launch(
      forked,
      {
        workflowId: forkId,
        definition: context.definition,
        restore: { value: recovered.value, context },
      },
      {
        type: 'workflow.restore',
        at: now,
      },
    );
  }

  /**
   * Lets in-flight tasks finish and starts nothing new until {@link resume};
   * survives a restart. For a live run the event is sent before this
   * returns. A run that is stored but live nowhere (interrupted) has the
   * pause journaled: it comes back paused when recovered. With a PostgreSQL
   * store, the pause (as resume and cancel) of a run not live here is queued
   * for its owner, or its next owner after a takeover (docs/postgres.md).
   *
   * @throws TroupeError `WORKFLOW_NOT_FOUND` for an unknown id, `WORKFLOW_FINISHED` for a run that has ended.
   */
  async pause(workflowId: string): Promise<void> {
    engineArgument('pause', 'workflowId', workflowIdSchema, workflowId);
    const event: WorkflowEvent = { type: 'workflow.pause', at: this.deps.clock.now() };
    if (await this.sendLive(workflowId, event, 'pause')) return;
    const record = await this.unfinished(workflowId, 'pause');
    if (record.status !== 'paused') {
      await journalStoredEvent(this.deps.store, record, event, 'paused');
    }
  }

  /**
   * Lets a paused run start tasks again. A run that is stored but live
   * nowhere is recovered first (as {@link recover}), then resumed if paused.
   *
   * @throws TroupeError `WORKFLOW_NOT_FOUND`, `WORKFLOW_FINISHED`, or what {@link recover} throws.
   */
  async resume(workflowId: string): Promise<void> {
    engineArgument('resume', 'workflowId', workflowIdSchema, workflowId);
    const event = (): WorkflowEvent => ({ type: 'workflow.resume', at: this.deps.clock.now() });
    if (await this.sendLive(workflowId, event(), 'resume')) return;
    await this.unfinished(workflowId, 'resume');
    await this.recover(workflowId);
    await this.sendLive(workflowId, event(), 'resume');
  }

  /**
   * Aborts in-flight tasks through their AbortSignal; with `compensate`, a
   * saga rollback follows. A run that is stored but live nowhere has the
   * cancel journaled and is then recovered to end it: without a rollback
   * this needs none of its agents, and resolves once the run is stored as
   * cancelled.
   *
   * @throws TroupeError `WORKFLOW_NOT_FOUND`, `WORKFLOW_FINISHED`; for a
   * stored run whose rollback needs compensation handlers this runtime does
   * not have, the error of {@link recover}, with the cancel kept.
   */
  async cancel(
    workflowId: string,
    input: string | { reason?: string; compensate?: boolean } = {},
  ): Promise<void> {
    engineArgument('cancel', 'workflowId', workflowIdSchema, workflowId);
    const options = engineArgument('cancel', 'options', cancelOptionsSchema, input);
    const { reason = 'cancelled by request', compensate = false } =
      typeof options === 'string' ? { reason: options } : options;
    const event: WorkflowEvent = {
      type: 'workflow.cancel',
      at: this.deps.clock.now(),
      reason,
      compensate,
    };
    if (await this.sendLive(workflowId, event, 'cancel')) return;
    const record = await this.unfinished(workflowId, 'cancel');
    await journalStoredEvent(this.deps.store, record, event);
    let handle: WorkflowHandle | null;
    try {
      handle = await this.recover(workflowId);
    } catch (error) {
      if (!(error instanceof TroupeError)) throw error;
      throw new TroupeError(
        error.code,
        `The cancel of workflow run "${workflowId}" is stored, but its rollback cannot run in this runtime: ${error.message} The rollback runs when a runtime that has them recovers the run (engine.recover or autoResume).`,
        { ...error.context, workflowId },
        { cause: error },
      );
    }
    await handle?.result;
  }

  /**
   * The run's current state, or undefined if there is no such run. A run
   * stored but not live here (paused, interrupted) is rebuilt from its
   * checkpoint and journal, without effects.
   */
  async getState(workflowId: string): Promise<WorkflowState | undefined> {
    engineArgument('getState', 'workflowId', workflowIdSchema, workflowId);
    const run = this.live.get(workflowId);
    if (run?.ended) return run.ended;
    if (run) {
      const snapshot = run.ref.getSnapshot() as { value: string; context: WorkflowContext };
      return buildWorkflowResult(
        snapshot.context,
        snapshot.value === 'paused' ? 'paused' : 'running',
      );
    }
    const record = await readRunRecord(this.deps.store, workflowId);
    if (!record || record.result) return record?.result;
    const recovered = await recoverRun(this.deps.store, this.deps.logic, record);
    return buildWorkflowResult(
      recovered.context,
      recovered.value === 'paused' ? 'paused' : 'running',
    );
  }

  /**
   * Stored runs, in id order. A record that cannot be read is skipped and
   * listed in `.corrupt` (run id and reason): one damaged record never hides
   * the others.
   */
  async list(input: RunFilter = {}): Promise<RunList> {
    const filter = engineArgument('list', 'filter', listFilterSchema, input);
    return readRunRecords(this.deps.store, (record) => {
      const interrupted = !record.result && !this.live.has(record.workflowId);
      return (
        !filter.status ||
        record.status === filter.status ||
        (filter.status === 'interrupted' && interrupted)
      );
    });
  }

  /** Ids of the runs live in this process. */
  liveRuns(): string[] {
    return [...this.live].filter(([, run]) => !run.ended).map(([workflowId]) => workflowId);
  }

  /** Resolves when every journal entry and checkpoint requested so far is written. */
  flushed(): Promise<void> {
    return this.deps.durability?.writer.flushed() ?? Promise.resolve();
  }

  /** Delivers an engine-level event (checkpoints) to listeners. */
  emit(event: EngineEvent): void {
    this.bus.emit(event);
  }

  /** Journals a run's transition (see `journaledLogic`, which the runtime spawns runs with when durable). */
  journal(event: WorkflowEvent, step: RunStep): void {
    this.deps.durability?.runs.record(step.context.workflowId, event, step);
  }

  /**
   * Fail-stop: the store refused a write. Every live run stops where it is
   * (nothing more of it could be acknowledged) and its result rejects with
   * the error; each recovers to what was acknowledged once the store is
   * reopened. A run that has ended rejects when its result fails to store.
   */
  halt(error: unknown): void {
    for (const [workflowId, run] of [...this.live]) {
      if (!run.ended) this.failRun(workflowId, error);
    }
  }

  /** Stops one live run and rejects its result (a record of it could not be stored). */
  failRun(workflowId: string, error: unknown): void {
    const run = this.live.get(workflowId);
    if (!run || run.ended) return;
    this.forget(workflowId);
    this.deps.durability?.runs.untrack(workflowId);
    this.deps.actor.send({ type: 'workflow.halt', workflowId });
    run.reject(error);
  }

  /**
   * Stops a live run here without ending it, because another process owns
   * it now: its in-flight tasks are aborted, nothing more is journaled, and
   * its result rejects with `reason` (`RUN_OWNERSHIP_LOST`).
   */
  stopLocally(workflowId: string, reason: TroupeError): void {
    const run = this.live.get(workflowId);
    if (!run || run.ended) return;
    const { context } = run.ref.getSnapshot() as { context: WorkflowContext };
    const at = this.deps.clock.now();
    const byAgent = new Map<string, string[]>();
    for (const { taskId, agent } of runningTasks(context)) {
      byAgent.set(agent, [...(byAgent.get(agent) ?? []), taskId]);
    }
    this.failRun(workflowId, reason);
    for (const [agent, taskIds] of byAgent) {
      this.deps.actor.system
        .get(agentSystemId(agent))
        ?.send({ type: 'task.abort', workflowId, taskIds, reason: reason.message, at });
    }
  }

  /** Rejects every pending result; called when the runtime closes. */
  abandonAll(reason: TroupeError): void {
    for (const [workflowId, run] of this.live) {
      // An ended run resolves once its result is stored (close waits for that).
      if (run.ended) continue;
      this.forget(workflowId);
      run.reject(reason);
    }
  }

  /** Spawns the run's actor, wires its events, and sends the event that sets it going. */
  private launch(
    record: RunRecord,
    input: WorkflowInput,
    go: WorkflowEvent | undefined,
  ): WorkflowHandle {
    const { workflowId } = record;
    // Two starts (or forks) with one id racing past their checks: spawning a
    // second actor with the same system id would stop the runtime's root actor.
    if (this.live.has(workflowId)) {
      throw new TroupeError(
        'INVALID_INPUT',
        `A workflow run with id "${workflowId}" is already live; choose another workflowId.`,
        { workflowId },
      );
    }
    this.deps.actor.send({ type: 'workflow.create', input });
    const ref = this.deps.actor.system.get(workflowSystemId(workflowId)) as AnyActorRef;
    let resolve!: (result: WorkflowResult) => void;
    let reject!: (error: unknown) => void;
    const result = new Promise<WorkflowResult>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    // Closing the runtime rejects pending results; a caller that never awaits
    // its handle's result must not get an unhandled rejection (which ends the
    // process). Whoever awaits `result` still sees the rejection.
    result.catch(() => undefined);
    const subscription = ref.on('*', (event: EngineEvent) => {
      this.trackStatus(workflowId, event);
      if (event.type === 'child.start') this.children.attach(workflowId, event.name, event.child);
      else if (event.type === 'child.cancel')
        this.children.cancel(event.childId, event.reason, event.compensate);
      this.bus.emit(event);
    });
    this.live.set(workflowId, { ref, record, subscription, result, resolve, reject });
    if (go) ref.send(go);
    else {
      const snapshot = ref.getSnapshot() as {
        context: WorkflowContext & { outcome?: WorkflowStatus };
      };
      this.settle(
        workflowId,
        buildWorkflowResult(snapshot.context, snapshot.context.outcome ?? 'failed'),
      );
    }
    return { workflowId, result };
  }

  /** Keeps the stored status in step with pause and resume, so a paused run is listed as paused after a restart. */
  private trackStatus(workflowId: string, event: EngineEvent): void {
    const status: WorkflowStatus | undefined =
      event.type === 'workflow.paused' ||
      (event.type === 'workflow.restored' && event.state === 'paused')
        ? 'paused'
        : event.type === 'workflow.resumed'
          ? 'running'
          : undefined;
    const run = this.live.get(workflowId);
    if (!status || !run || run.record.status === status) return;
    run.record = { ...run.record, status, updatedAt: this.deps.clock.now() };
    // A failed write stops the store (`FailStopStore`), which reports it and halts the runs.
    this.write([recordOp(run.record)]).catch(() => undefined);
  }

  /**
   * Sends a control event to the run if it is live here; with a shared store,
   * queues it for the run's owner in another process (resolving once stored).
   * @returns false if the run is not live in this runtime (and the store is not shared).
   * @throws TroupeError `WORKFLOW_FINISHED` if it has ended; `WORKFLOW_NOT_FOUND` if no process has it.
   */
  private async sendLive(
    workflowId: string,
    event: WorkflowEvent,
    action: string,
  ): Promise<boolean> {
    const run = this.live.get(workflowId);
    if (!run && this.deps.ownership) {
      // Live in another process, or in none: the owner (or the next one) applies it.
      await this.deps.ownership.forward(workflowId, event);
      return true;
    }
    if (!run) return false;
    if (run.ended) throw finishedError(workflowId, run.ended.status, action);
    run.ref.send(event);
    return true;
  }

  /**
   * After storing a new run's record: it goes live here only if this process
   * still holds its lease. A process that stalled past its lease between
   * taking it and storing the record had the record refused (fenced), and a
   * sweeper meanwhile found no run and let the lease go; running it anyway
   * would run tasks of a run no process owns or has stored.
   * @throws TroupeError `RUN_OWNERSHIP_LOST`.
   */
  private async assertStored(workflowId: string): Promise<void> {
    const ownership = this.deps.ownership;
    if (!ownership || ownership.holds(workflowId)) return;
    // Stored, then lost (to a heartbeat that came too late): the new owner runs it.
    if (await readRunRecord(this.deps.store, workflowId)) throw ownership.lostError(workflowId);
    throw new TroupeError(
      'RUN_OWNERSHIP_LOST',
      `Workflow "${workflowId}" was not started: this process's lease on it expired before its record was stored (the process stalled for longer than ownership.leaseMs), so the record was refused. Nothing of it ran and no process has it; start it again.`,
      { workflowId },
    );
  }

  /** The stored record of a run that has not ended, for a control `action`. */
  private async unfinished(workflowId: string, action: string): Promise<RunRecord> {
    const record = await readRunRecord(this.deps.store, workflowId);
    if (!record) {
      throw new TroupeError(
        'WORKFLOW_NOT_FOUND',
        `Cannot ${action} workflow run "${workflowId}": there is no such run in this runtime's store (engine.list() shows the stored ones).`,
        { workflowId },
      );
    }
    if (record.result) throw finishedError(workflowId, record.status, action);
    return record;
  }

  private settle(workflowId: string, result: WorkflowResult): void {
    const run = this.live.get(workflowId);
    if (!run || run.ended) return;
    // Kept in `live` until the result is stored (see `LiveRun.ended`).
    run.ended = result;
    run.subscription.unsubscribe();
    // The run's last event and its end checkpoint were journaled by the
    // transition that ended it (see `journaledLogic`); nothing of this run
    // is journaled after this turn.
    queueMicrotask(() => this.deps.durability?.runs.untrack(workflowId));
    // The definition from the run's context includes tasks added at run time
    // (`run.record.definition` does not, for a run resumed from the store).
    const { context } = run.ref.getSnapshot() as { context: WorkflowContext };
    const ended: RunRecord = {
      ...run.record,
      definition: context.definition,
      status: result.status,
      updatedAt: result.finishedAt,
      result,
    };
    try {
      // Checked here, not in the batch the journal writer shares among runs:
      // a value that cannot be stored fails this run only. Without a journal
      // the record is a batch of its own, which the store checks (and
      // serialises) before writing anything, so it is not serialised twice.
      if (this.deps.durability) serialise(workflowId, 'result', ended);
    } catch (error) {
      this.live.delete(workflowId);
      this.deps.onError(error, `storing the result of workflow "${workflowId}"`);
      run.reject(error);
      return;
    }
    // The result is acknowledged only once it is stored: a failed write
    // rejects it (`STORE_WRITE_FAILED`), and after a reopen the run recovers
    // to what its journal holds.
    this.write([recordOp(ended)]).then(
      () => {
        if (this.live.get(workflowId) === run) this.live.delete(workflowId);
        const ownership = this.deps.ownership;
        // Lost while ending: the result was refused, and is the new owner's to give.
        if (ownership && !ownership.holds(workflowId)) {
          run.reject(ownership.lostError(workflowId));
          return;
        }
        ownership?.release(workflowId);
        run.resolve(result);
      },
      (error: unknown) => {
        if (this.live.get(workflowId) === run) this.live.delete(workflowId);
        run.reject(error);
      },
    );
  }

  /**
   * Through the journal writer when durable (ordered after the run's journal),
   * else straight to the store. Resolves once written, rejects if the write failed.
   */
  private write(ops: StoreOp[]): Promise<void> {
    return this.deps.durability
      ? this.deps.durability.writer.enqueue(...ops)
      : this.deps.store.batch(ops);
  }

  private forget(workflowId: string): void {
    this.live.get(workflowId)?.subscription.unsubscribe();
    this.live.delete(workflowId);
  }
}

function finishedError(workflowId: string, status: WorkflowStatus, action: string): TroupeError {
  return new TroupeError(
    'WORKFLOW_FINISHED',
    `Cannot ${action} workflow run "${workflowId}": it has already ended (${status}). engine.getState() returns its result.`,
    { workflowId, status },
  );
}

function recordOp(record: RunRecord): StoreOp {
  return {
    type: 'put',
    collection: 'workflows',
    key: workflowKey(record.workflowId),
    value: record,
  };
}
