/**
 * The owner's side of remote agents. Every role that live workers serve and
 * no local agent does gets a stand-in agent here, so definitions naming it
 * validate, planners see it, and the workflow machine dispatches to it as to
 * any agent (journaled as usual). The stand-in's `run` queues the attempt in
 * `troupe_remote_tasks`, relays the worker's progress, and returns the
 * worker's output (with its shared-context updates and added tasks), or
 * throws its error: to the workflow it is a local completion.
 *
 * The owner learns of progress and results by `LISTEN/NOTIFY`, with polling
 * as the safety net. Cancel and timeouts abort the stand-in's signal, which
 * cancels the row; the worker hears it and aborts its own signal. A runtime
 * that closes (or loses the run) leaves the row alone: the run's next owner
 * queues the same attempt again and gets that row, with its result if the
 * worker wrote one, so a finished remote attempt does not run twice.
 */
import { type AgentDefinition, defineAgent } from '../../actors/agents/define-agent.js';
import { TroupeError, type TroupeErrorCode } from '../../errors.js';
import type { PostgresStore } from '../../store/postgres/postgres-store.js';
import {
  REMOTE_RESULT_CHANNEL,
  type RemoteRole,
  type RemoteTaskState,
} from '../../store/postgres/remote-tasks.js';
import type { Clock } from '../clock.js';
import type { ResolvedRemoteAgentsOptions } from './remote-agents-options.js';
import { Wakeups } from './wakeups.js';

export interface RemoteAgentsDeps {
  store: PostgresStore;
  options: ResolvedRemoteAgentsOptions;
  clock: Clock;
  /** Whether a role is served here already (by a local agent or a stand-in). */
  serves(role: string): boolean;
  /** Registers a stand-in agent with the runtime. */
  register(agent: AgentDefinition): void;
  onError: (error: unknown, context: string) => void;
}

/** The most a role's stand-in runs at once here; the workers enforce the role's own limit. */
const STAND_IN_CONCURRENCY = 10_000;

/** Why a stand-in's signal was aborted, if the remote attempt must stop too. */
const CANCELLING: ReadonlySet<string> = new Set(['TASK_ABORTED', 'TASK_TIMEOUT']);

interface Waiter {
  progress: (fraction: number, message?: string) => void;
  resolve: (outcome: NonNullable<RemoteTaskState['result']>) => void;
  reject: (error: unknown) => void;
  /** The last progress relayed, so a poll does not repeat it. */
  seen: string;
}

/** Remote agents on an owner: stand-ins for the roles of live workers. Made by `createRuntime` with a PostgreSQL store (`rt.remoteAgents`). */
export class RemoteAgents {
  readonly #deps: RemoteAgentsDeps;
  readonly #wakeups: Wakeups;
  /** Attempts waiting for their worker, by row id. */
  readonly #waiting = new Map<number, Waiter>();
  /** Roles with a stand-in here. */
  readonly #roles = new Set<string>();

  constructor(deps: RemoteAgentsDeps) {
    this.#deps = deps;
    this.#wakeups = new Wakeups(deps.clock, deps.onError);
  }

  /** Reads the workers' roles, then keeps them and the waited-for tasks up to date. */
  async start(): Promise<void> {
    const { options, store } = this.#deps;
    await this.refreshRoles();
    this.#wakeups.every(options.refreshMs, 'reading the roles of workers', () =>
      this.refreshRoles(),
    );
    this.#wakeups.every(options.pollMs, 'polling remote tasks', () => this.poll());
    await this.#wakeups.listen(
      store,
      [REMOTE_RESULT_CHANNEL],
      (_, payload) => {
        const id = Number(payload);
        if (!this.#waiting.has(id)) return;
        this.poll([id]).catch((error) => this.#deps.onError(error, 'reading a remote task'));
      },
      options.pollMs,
    );
  }

  /** Roles served here by workers (through stand-ins). */
  roles(): string[] {
    return [...this.#roles];
  }

  /** Whether `role` is served here by a stand-in (its agent runs in a worker). */
  standsIn(role: string): boolean {
    return this.#roles.has(role);
  }

  /** Adds a stand-in for each role a live worker serves that is not served here yet. */
  async refreshRoles(): Promise<void> {
    const { store, clock, serves, register } = this.#deps;
    for (const worker of await store.remoteTasks.workers(clock.now())) {
      for (const profile of worker.roles) {
        if (serves(profile.role)) continue;
        register(this.#standIn(profile));
        this.#roles.add(profile.role);
      }
    }
  }

  /** Reads the state of the waited-for tasks (`ids`, or all) and settles the finished ones. */
  async poll(ids: readonly number[] = [...this.#waiting.keys()]): Promise<void> {
    if (ids.length === 0) return;
    for (const state of await this.#deps.store.remoteTasks.states(ids)) this.#apply(state);
  }

  /** Stops listening and polling; attempts still waiting are left to the run's next owner. */
  close(): void {
    this.#wakeups.close();
  }

  #standIn(profile: RemoteRole): AgentDefinition {
    return defineAgent({
      role: profile.role,
      displayName: profile.displayName,
      expertise: [...profile.expertise],
      stage: profile.stage as AgentDefinition['stage'],
      concurrency: STAND_IN_CONCURRENCY,
      run: async (task, ctx) => {
        const { store, clock } = this.#deps;
        const state = await store.remoteTasks.dispatch(
          {
            workflowId: task.workflowId,
            taskId: task.id,
            attempt: ctx.attempt,
            role: profile.role,
          },
          {
            description: task.description,
            input: { ...task.input },
            dependencies: ctx.dependencies,
            shared: { ...ctx.shared },
            messages: ctx.messages,
          },
          store.ownerId,
          clock.now(),
        );
        const outcome = await new Promise<NonNullable<RemoteTaskState['result']>>(
          (resolve, reject) => {
            const stop = () => {
              this.#waiting.delete(state.id);
              const reason: unknown = ctx.signal.reason;
              if (reason instanceof TroupeError && CANCELLING.has(reason.code)) {
                store.remoteTasks
                  .cancel(state.id, reason.message)
                  .catch((error) => this.#deps.onError(error, 'cancelling a remote task'));
              }
              reject(reason);
            };
            if (ctx.signal.aborted) {
              stop();
              return;
            }
            ctx.signal.addEventListener('abort', stop, { once: true });
            this.#waiting.set(state.id, {
              progress: (fraction, message) => ctx.progress(fraction, message),
              resolve: (result) => {
                ctx.signal.removeEventListener('abort', stop);
                resolve(result);
              },
              reject: (error) => {
                ctx.signal.removeEventListener('abort', stop);
                reject(error);
              },
              seen: '',
            });
            this.#apply(state);
          },
        );
        if (!outcome.ok) throw revive(outcome.error, task.workflowId, task.id, profile.role);
        if (outcome.sharedUpdates) ctx.updateShared(outcome.sharedUpdates);
        if (outcome.addedTasks) ctx.addTasks(outcome.addedTasks as never[]);
        return outcome.output;
      },
    });
  }

  #apply(state: RemoteTaskState): void {
    const waiter = this.#waiting.get(state.id);
    if (!waiter) return;
    if (state.progress !== null) {
      const seen = `${state.progress}:${state.progressMessage ?? ''}`;
      if (seen !== waiter.seen) {
        waiter.seen = seen;
        waiter.progress(state.progress, state.progressMessage ?? undefined);
      }
    }
    if (state.state === 'completed' || state.state === 'failed') {
      this.#waiting.delete(state.id);
      waiter.resolve(state.result!);
    } else if (state.state === 'cancelled') {
      this.#waiting.delete(state.id);
      waiter.reject(
        new TroupeError('TASK_ABORTED', 'The remote task was cancelled.', { remoteTask: state.id }),
      );
    }
  }
}

/** The worker's error as the executor judges it: a TroupeError keeps its code (so final ones stay final). */
function revive(
  error: { name: string; message: string; code?: string },
  workflowId: string,
  taskId: string,
  agent: string,
): Error {
  if (error.name === 'TroupeError' && error.code) {
    return new TroupeError(error.code as TroupeErrorCode, error.message, {
      workflowId,
      taskId,
      agent,
    });
  }
  return Object.assign(new Error(error.message), { name: error.name });
}
