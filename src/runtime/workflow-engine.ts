import type { Actor, AnyActorRef, Subscription } from 'xstate';
import { TroupeError } from '../errors.js';
import { workflowSystemId } from '../machines/protocol.js';
import type { RuntimeMachine } from '../machines/runtime.machine.js';
import type { WorkflowContext } from '../machines/workflow/context.js';
import type { WorkflowEmitted, WorkflowEvent } from '../machines/workflow/events.js';
import { buildWorkflowResult } from '../machines/workflow/result.js';
import type { RunRecord } from '../schemas/run-record.js';
import { type DefinitionRegistry, validateDefinition } from '../schemas/validate.js';
import type { WorkflowDefinitionInput } from '../schemas/workflow-definition.js';
import type { WorkflowResult, WorkflowStatus } from '../schemas/workflow-result.js';
import { workflowKey } from '../store/keys.js';
import type { Store } from '../store/store.js';
import type { Clock } from './clock.js';
import { EventBus, type ListenerFor } from './event-bus.js';

export interface StartWorkflowOptions {
  /** Id of the run; must be new. @default a generated id */
  workflowId?: string;
  /** Initial shared context of the run. @default {} */
  context?: Record<string, unknown>;
}

/** A run that has started. */
export interface WorkflowHandle {
  workflowId: string;
  /** Settles when the run ends, whatever its status; rejects only if the runtime closes first. */
  result: Promise<WorkflowResult>;
}

/** A run's state now: live from its actor, or as stored once it has ended. */
export type WorkflowState = WorkflowResult;

export interface WorkflowEngineDeps {
  actor: Actor<RuntimeMachine>;
  store: Store;
  clock: Clock;
  registry: () => DefinitionRegistry;
  createId: () => string;
  onError: (error: unknown, context: string) => void;
}

interface LiveRun {
  ref: AnyActorRef;
  subscription: Subscription;
  resolve: (result: WorkflowResult) => void;
  reject: (error: unknown) => void;
}

/**
 * Starts, controls and observes workflow runs. Each run is a child actor of
 * the runtime's root; this class only translates calls into events and
 * events into promises and listener calls.
 */
export class WorkflowEngine {
  private readonly bus: EventBus<WorkflowEmitted>;
  private readonly live = new Map<string, LiveRun>();

  constructor(private readonly deps: WorkflowEngineDeps) {
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
  on<K extends WorkflowEmitted['type'] | '*'>(
    type: K,
    listener: ListenerFor<WorkflowEmitted, K>,
  ): () => void {
    return this.bus.on(type, listener);
  }

  off<K extends WorkflowEmitted['type'] | '*'>(
    type: K,
    listener: ListenerFor<WorkflowEmitted, K>,
  ): void {
    this.bus.off(type, listener);
  }

  /** The seed's name for {@link on}. */
  registerEventHandler<K extends WorkflowEmitted['type'] | '*'>(
    type: K,
    listener: ListenerFor<WorkflowEmitted, K>,
  ): () => void {
    return this.on(type, listener);
  }

  /**
   * Validates a definition and starts a run of it.
   * @throws TroupeError `INVALID_DEFINITION` before anything starts.
   */
  async start(
    definition: WorkflowDefinitionInput,
    options: StartWorkflowOptions = {},
  ): Promise<WorkflowHandle> {
    const valid = validateDefinition(definition, this.deps.registry());
    const workflowId = options.workflowId ?? this.deps.createId();
    workflowKey(workflowId);
    if (this.live.has(workflowId) || (await this.deps.store.get('workflows', workflowId))) {
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
    };
    await this.deps.store.batch([
      { type: 'put', collection: 'workflows', key: workflowKey(workflowId), value: record },
    ]);

    this.deps.actor.send({
      type: 'workflow.create',
      input: { workflowId, definition: valid, shared: { ...options.context } },
    });
    const ref = this.deps.actor.system.get(workflowSystemId(workflowId)) as AnyActorRef;
    const result = new Promise<WorkflowResult>((resolve, reject) => {
      const subscription = ref.on('*', (event: WorkflowEmitted) => this.bus.emit(event));
      this.live.set(workflowId, { ref, subscription, resolve, reject });
    });
    // Closing the runtime rejects pending results; a caller that never awaits
    // its handle's result must not get an unhandled rejection (which ends the
    // process). Whoever awaits `result` still sees the rejection.
    result.catch(() => undefined);
    ref.send({ type: 'workflow.run', at: this.deps.clock.now() } satisfies WorkflowEvent);
    return { workflowId, result };
  }

  /** Starts a run and waits for it to end. */
  async execute(
    definition: WorkflowDefinitionInput,
    options: StartWorkflowOptions = {},
  ): Promise<WorkflowResult> {
    return (await this.start(definition, options)).result;
  }

  /** Lets in-flight tasks finish and starts nothing new until {@link resume}. */
  pause(workflowId: string): void {
    this.send(workflowId, { type: 'workflow.pause', at: this.deps.clock.now() });
  }

  resume(workflowId: string): void {
    this.send(workflowId, { type: 'workflow.resume', at: this.deps.clock.now() });
  }

  /** Aborts in-flight tasks through their AbortSignal; the run ends `cancelled`. */
  cancel(workflowId: string, reason = 'cancelled by request'): void {
    this.send(workflowId, { type: 'workflow.cancel', at: this.deps.clock.now(), reason });
  }

  /** The run's current state, or undefined if there is no such run. */
  async getState(workflowId: string): Promise<WorkflowState | undefined> {
    const run = this.live.get(workflowId);
    if (run) {
      const snapshot = run.ref.getSnapshot() as { value: string; context: WorkflowContext };
      return buildWorkflowResult(snapshot.context, liveStatus(snapshot.value));
    }
    const record = await this.deps.store.get<RunRecord>('workflows', workflowKey(workflowId));
    return record?.result;
  }

  /** Stored runs, newest first is not guaranteed: ordered by id. */
  async list(filter: { status?: WorkflowStatus } = {}): Promise<RunRecord[]> {
    const records: RunRecord[] = [];
    for await (const [, record] of this.deps.store.range<RunRecord>('workflows')) {
      if (!filter.status || record.status === filter.status) records.push(record);
    }
    return records;
  }

  /** Ids of the runs live in this process. */
  liveRuns(): string[] {
    return [...this.live.keys()];
  }

  /** Rejects every pending result; called when the runtime closes. */
  abandonAll(reason: TroupeError): void {
    for (const [workflowId, run] of this.live) {
      this.forget(workflowId);
      run.reject(reason);
    }
  }

  private send(workflowId: string, event: WorkflowEvent): void {
    const run = this.live.get(workflowId);
    if (!run) {
      throw new TroupeError(
        'WORKFLOW_NOT_FOUND',
        `No live workflow run "${workflowId}" in this runtime.`,
        { workflowId },
      );
    }
    run.ref.send(event);
  }

  private settle(workflowId: string, result: WorkflowResult): void {
    const run = this.live.get(workflowId);
    if (!run) return;
    this.forget(workflowId);
    this.deps.store
      .get<RunRecord>('workflows', workflowKey(workflowId))
      .then((record) => {
        if (!record) return;
        const ended: RunRecord = {
          ...record,
          status: result.status,
          updatedAt: result.finishedAt,
          result,
        };
        return this.deps.store.batch([
          { type: 'put', collection: 'workflows', key: workflowKey(workflowId), value: ended },
        ]);
      })
      .catch((error) => this.deps.onError(error, `storing the result of workflow "${workflowId}"`))
      .finally(() => run.resolve(result));
  }

  private forget(workflowId: string): void {
    this.live.get(workflowId)?.subscription.unsubscribe();
    this.live.delete(workflowId);
  }
}

function liveStatus(value: string): WorkflowStatus {
  return value === 'paused' ? 'paused' : 'running';
}
