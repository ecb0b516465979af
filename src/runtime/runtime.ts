import { resolve } from 'node:path';
import { type Actor, createActor, fromPromise } from 'xstate';
import { createAgentExecutor } from '../actors/agents/agent-executor.js';
import type { AgentDefinition } from '../actors/agents/define-agent.js';
import { agentDefinitionSchema } from '../actors/agents/define-agent.js';
import { WaitSchemas } from '../actors/agents/wait-schemas.js';
import type { AgentProfile } from '../actors/planners/planner.js';
import { createChildRollback } from '../actors/saga/child-rollback.js';
import { CompensationRegistry } from '../actors/saga/compensations.js';
import { createCompensator } from '../actors/saga/compensator.js';
import { TroupeError } from '../errors.js';
import { agentMachine } from '../machines/agent/agent.machine.js';
import { createCommunicatorMachine } from '../machines/communicator/index.js';
import { orchestratorMachine } from '../machines/orchestrator/orchestrator.machine.js';
import { createRunShardMachine } from '../machines/run-shard.machine.js';
import { createRuntimeMachine, type RuntimeMachine } from '../machines/runtime.machine.js';
import type { ConditionGuard } from '../machines/workflow/conditions.js';
import { createWorkflowMachine } from '../machines/workflow/workflow.machine.js';
import { functionSchema, nameSchema, parseArgument } from '../schemas/arguments.js';
import type { DefinitionRegistry } from '../schemas/validate.js';
import { FailStopStore } from '../store/fail-stop/fail-stop-store.js';
import { LevelStore } from '../store/level/level-store.js';
import { MemoryStore } from '../store/memory/memory-store.js';
import { PostgresStore } from '../store/postgres/postgres-store.js';
import type { Store } from '../store/store.js';
import { Communicator } from './communicator/communicator.js';
import { DurableRuns } from './durability/durable-runs.js';
import { JournalWriter } from './durability/journal-writer.js';
import { journaledLogic } from './durability/journaled-logic.js';
import { createInspectorServer, type InspectorServer } from './inspector/index.js';
import { RunOwnership } from './ownership/run-ownership.js';
import {
  createQueueDeps,
  createQueueLogic,
  type QueueActorRef,
  type QueueDeps,
  queueInput,
} from './queue/queue-logic.js';
import { TaskQueue } from './queue/task-queue.js';
import {
  type ResolvedRuntimeOptions,
  type RuntimeOptions,
  resolveRuntimeOptions,
} from './runtime-options.js';
import { RemoteAgents } from './workers/remote-agents.js';
import { Orchestrator } from './workflow/orchestrator.js';
import { WorkflowEngine, type WorkflowHandle } from './workflow/workflow-engine.js';

/**
 * Creates a runtime: one XState actor system holding the orchestrator, the
 * agents and every workflow run, over a store.
 *
 * @throws TroupeError `STORE_LOCKED` if another process uses the same `dataDir`.
 */
export async function createRuntime(options: RuntimeOptions = {}): Promise<Runtime> {
  const resolved = resolveRuntimeOptions(options);
  const backend = await openStore(resolved);
  const description = resolved.store
    ? 'the store passed to createRuntime'
    : resolved.postgres
      ? 'the PostgreSQL store'
      : resolved.dataDir === false
        ? 'memory'
        : `data folder ${resolve(resolved.dataDir)}`;
  let runtime: Runtime;
  try {
    runtime = new Runtime(resolved, new FailStopStore(backend, description), backend);
  } catch (error) {
    // Bad nested options (queue, agents) are found here: leave no store open behind.
    await backend.close();
    throw error;
  }
  try {
    // Before takeover: a run taken over may need the workers' roles.
    await runtime.remoteAgents?.start();
    await runtime.communicator.start();
    await runtime.ownership?.start();
  } catch (error) {
    await runtime.close();
    throw error;
  }
  if (resolved.autoResume) await runtime.resumeInterrupted();
  // The inspector attaches to the running system (it walks the actors that
  // exist already), so without it no inspection observer is ever registered.
  if (resolved.inspector) {
    try {
      runtime.inspector = await createInspectorServer({ ...resolved.inspector, runtime });
    } catch (error) {
      await runtime.close();
      throw error;
    }
  }
  return runtime;
}

function openStore(options: ResolvedRuntimeOptions): Promise<Store> {
  if (options.store) return Promise.resolve(options.store);
  if (options.postgres) {
    return PostgresStore.open({
      onError: options.onError,
      ...options.postgres,
    });
  }
  return options.dataDir === false
    ? Promise.resolve(new MemoryStore())
    : LevelStore.open(options.dataDir, { sync: options.sync });
}

/** A running troupe: one XState actor system with the orchestrator, the agents, the engine, the communicator and the queue, over one store. Made by `createRuntime`; `close()` stops it. */
export class Runtime {
  /** The root actor; its `system` holds every actor of the runtime. */
  readonly actor: Actor<RuntimeMachine>;
  readonly engine: WorkflowEngine;
  readonly orchestrator: Orchestrator;
  /** Messages between agents, per-workflow shared contexts, locks and result handoffs. */
  readonly communicator: Communicator;
  /** Background jobs (the `queue` actor): call `queue.start()` after registering handlers. */
  readonly queue: TaskQueue;
  readonly #queueDeps: QueueDeps;
  /**
   * Leases, takeover and cross-process commands of runs, when the store is
   * PostgreSQL (see docs/postgres.md); `undefined` otherwise.
   */
  readonly ownership: RunOwnership | undefined;
  /**
   * Stand-in agents for the roles of live workers, when the store is
   * PostgreSQL (see docs/workers.md); `undefined` otherwise or with
   * `remoteAgents: { enabled: false }`.
   */
  readonly remoteAgents: RemoteAgents | undefined;
  /** The live inspector server, when `inspector` was given; `rt.close()` closes it. */
  inspector: InspectorServer | undefined;
  private readonly agents = new Map<string, AgentDefinition>();
  private readonly guards = new Map<string, ConditionGuard>();
  private readonly compensations = new CompensationRegistry();
  private closed = false;

  /** Use {@link createRuntime}. */
  constructor(
    readonly options: ResolvedRuntimeOptions,
    /** The runtime's store, fail-stop: after a failed write it acknowledges no more writes until reopened. */
    readonly store: FailStopStore,
    /** The store behind the fail-stop wrapper; a PostgresStore brings run ownership. */
    backend: Store = store,
  ) {
    const { clock, planner } = options;
    const waitSchemas = new WaitSchemas();
    // The background job queue shares the runtime's clock, and its store when
    // durable; on PostgreSQL it is the queue shared by every process (its own
    // table, outside the fail-stop journal).
    this.#queueDeps = createQueueDeps({
      ...options.queue,
      clock,
      ...(backend instanceof PostgresStore ? { store: backend } : options.durable ? { store } : {}),
    });
    const workflowLogic = createWorkflowMachine({
      guards: this.guards,
      roles: () => new Set(this.agents.keys()),
    });
    const machine = createRuntimeMachine({
      agent: agentMachine.provide({
        actors: {
          executor: createAgentExecutor({
            lookup: (role) => this.agents.get(role),
            clock,
            // Read on use: the communicator needs the started system, so it comes later.
            messaging: () => this.communicator.agentPort,
            announce: (started) => this.engine.announceStart(started),
            waitSchemas,
            emit: (event) => this.engine.emit(event),
            limits: options.limits,
          }),
        },
      }),
      runShard: createRunShardMachine(
        options.durable
          ? journaledLogic(workflowLogic, (event, step) => this.engine.journal(event, step))
          : workflowLogic,
      ),
      compensator: createCompensator(
        this.compensations,
        createChildRollback(store, this.compensations, clock),
        clock,
        options.limits,
      ),
      // Processes sharing a PostgreSQL store interleave their histories by time (see clockSequence).
      communicator: createCommunicatorMachine(
        backend instanceof PostgresStore ? { clockSequence: true } : {},
      ),
      queue: createQueueLogic(this.#queueDeps),
      queueInput: queueInput(this.#queueDeps),
      orchestrator: orchestratorMachine.provide({
        actors: { planner: fromPromise(({ input, signal }) => planner.plan(input, signal)) },
      }),
    });
    this.actor = createActor(machine, {
      systemId: 'troupe',
      clock,
      ...(options.inspect ? { inspect: options.inspect } : {}),
    });
    // Without an error observer XState rethrows actor errors from a timer and
    // the process dies; report them instead.
    this.actor.subscribe({ error: (error) => options.onError(error, 'runtime actor') });
    const writer = new JournalWriter(store, (error) => {
      // A storage failure is reported once, by the store (below).
      if (!(error instanceof TroupeError && error.code === 'STORE_WRITE_FAILED')) {
        options.onError(error, 'writing the journal');
      }
    });
    const durability = options.durable
      ? {
          writer,
          runs: new DurableRuns(
            writer,
            options,
            () => clock.now(),
            (workflowId, { seq, reason, takenAt }) =>
              this.engine.emit({ type: 'checkpoint.saved', workflowId, seq, reason, at: takenAt }),
            (workflowId, error) => {
              options.onError(error, `journaling workflow "${workflowId}"`);
              this.engine.failRun(workflowId, error);
            },
          ),
        }
      : undefined;
    this.ownership =
      backend instanceof PostgresStore
        ? new RunOwnership({
            store: backend,
            options: options.ownership,
            clock,
            engine: () => this.engine,
            onError: options.onError,
          })
        : undefined;
    this.remoteAgents =
      backend instanceof PostgresStore && options.remoteAgents.enabled
        ? new RemoteAgents({
            store: backend,
            options: options.remoteAgents,
            clock,
            serves: (role) => this.agents.has(role),
            register: (agent) => this.registerAgent(agent),
            onError: options.onError,
          })
        : undefined;
    this.engine = new WorkflowEngine({
      actor: this.actor,
      store,
      clock,
      logic: workflowLogic,
      compensations: this.compensations,
      registry: () => this.registry(),
      createId: () => options.createId('workflow'),
      onError: options.onError,
      waitSchemas,
      limits: options.limits,
      ...(durability ? { durability } : {}),
      ...(this.ownership ? { ownership: this.ownership } : {}),
    });
    this.orchestrator = new Orchestrator({
      ref: () => this.actor.system.get('orchestrator'),
      engine: this.engine,
      planner,
      profiles: () => this.profiles(),
      registry: () => this.registry(),
      createId: () => options.createId('plan'),
    });
    this.actor.start();
    this.queue = TaskQueue.fromActor(
      this.actor.system.get('queue') as QueueActorRef,
      this.#queueDeps,
    );
    this.communicator = new Communicator({
      host: this.actor,
      store,
      clock,
      onError: options.onError,
      limits: options.limits,
      ...(backend instanceof PostgresStore
        ? {
            cluster: {
              store: backend,
              options: options.communicator,
              // Its own agents: a stand-in's role is served by a worker, whose communicator takes its messages.
              serves: (role) => this.agents.has(role) && !this.remoteAgents?.standsIn(role),
              roles: () =>
                [...this.agents.keys()].filter((role) => !this.remoteAgents?.standsIn(role)),
            },
          }
        : {}),
    });
    for (const agent of options.agents) this.registerAgent(agent);
    store.onFailure((error) => {
      options.onError(error, 'writing to the store');
      this.engine.halt(error);
    });
  }

  /**
   * Adds an agent: an actor `agent:<role>` joins the system.
   * @throws TroupeError `DUPLICATE_AGENT` if the role is taken.
   */
  registerAgent(agent: AgentDefinition): this {
    this.assertOpen('registerAgent');
    parseArgument('registerAgent', 'agent', agentDefinitionSchema, agent);
    if (this.agents.has(agent.role)) {
      throw new TroupeError(
        'DUPLICATE_AGENT',
        `An agent with role "${agent.role}" is already registered.`,
        { agent: agent.role },
      );
    }
    this.agents.set(agent.role, agent as AgentDefinition);
    this.actor.send({
      type: 'agent.register',
      input: { role: agent.role, concurrency: agent.concurrency },
    });
    this.communicator.rolesChanged();
    return this;
  }

  /** Registers a named guard that conditions can call: `{ guard: name, params }`. It must be pure. */
  registerGuard(name: string, guard: ConditionGuard): this {
    this.assertOpen('registerGuard');
    parseArgument('registerGuard', 'name', nameSchema, name);
    parseArgument('registerGuard', 'guard', functionSchema(), guard);
    this.guards.set(name, guard);
    return this;
  }

  /**
   * Resumes every run a crash left behind (`engine.interrupted()`); one that
   * cannot be resumed (missing agent, corrupt record) is reported to
   * `onError` and left as stored, and the others resume. Returns the handles of the resumed runs.
   */
  async resumeInterrupted(): Promise<WorkflowHandle[]> {
    const handles: WorkflowHandle[] = [];
    const interrupted = await this.engine.interrupted();
    for (const { workflowId, reason } of interrupted.corrupt) {
      this.options.onError(
        new TroupeError('STORE_CORRUPT', reason, { workflowId }),
        `resuming workflow "${workflowId}"`,
      );
    }
    for (const record of interrupted) {
      try {
        const handle = await this.engine.recover(record.workflowId);
        if (handle) handles.push(handle);
      } catch (error) {
        // Live in another process: nothing was left behind.
        if (error instanceof TroupeError && error.code === 'RUN_OWNED_ELSEWHERE') continue;
        this.options.onError(error, `resuming workflow "${record.workflowId}"`);
      }
    }
    return handles;
  }

  /** The registered agents as planners see them. */
  profiles(): AgentProfile[] {
    return [...this.agents.values()].map(({ role, displayName, expertise, stage }) => ({
      role,
      displayName,
      expertise,
      stage,
    }));
  }

  /** Stops every actor (aborting in-flight tasks), rejects pending results and closes the store. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // Waiting attempts are rejected as their agents stop; their rows stay for the runs' next owner.
    this.remoteAgents?.close();
    await this.inspector?.close();
    this.engine.abandonAll(
      new TroupeError('RUNTIME_CLOSED', 'The runtime was closed before the workflow ended.'),
    );
    this.orchestrator.abandonAll(
      new TroupeError(
        'RUNTIME_CLOSED',
        'The runtime was closed before the plan was ready (decomposeTask); its planner was stopped.',
      ),
    );
    // After a failed write these reject with it, which was reported to
    // onError and to the write's waiters already: closing must still release
    // the store, so it can be opened again.
    const unlessWritesFailed = () => undefined;
    await this.communicator.close().catch(unlessWritesFailed);
    await this.queue.stop({ graceful: false }).catch(unlessWritesFailed);
    this.actor.stop();
    await this.engine.flushed().catch(unlessWritesFailed);
    await this.ownership?.close();
    await this.store.close();
  }

  private registry(): DefinitionRegistry {
    return { roles: new Set(this.agents.keys()), guards: new Set(this.guards.keys()) };
  }

  private assertOpen(api: string): void {
    if (this.closed) throw new TroupeError('RUNTIME_CLOSED', `${api}: the runtime is closed.`);
  }
}
