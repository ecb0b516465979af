/**
 * A worker: a process that serves agent roles for runs owned by other
 * processes, through the PostgreSQL database they share. It claims tasks of
 * its roles (`FOR UPDATE SKIP LOCKED`, each role's running tasks across all
 * workers kept within the role's `concurrency`), runs them with a `ctx` like
 * a local agent's, renews each claim while it runs, and writes the outcome,
 * which counts only while its claim is current (fencing by claim epoch).
 *
 * A killed worker's claims expire after `leaseMs` and another worker claims
 * them again: the task runs again with the same idempotency key
 * (at-least-once). A cancel (or a timeout at the owner) reaches the task
 * through its row and aborts its signal.
 *
 * Its agents message the agents of every process on the database through a
 * communicator of their own (`worker.communicator`, a runtime that owns no
 * runs, on the worker's connections): `ctx.send`, `ctx.request` and
 * `ctx.lock` work as on the owner, and messages to the worker's roles run
 * their `onMessage` here.
 *
 * Invariants: a claim is in `#running` from the moment it is claimed until
 * its outcome was written or refused; claiming never overlaps itself.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { AgentDefinition } from '../../actors/agents/define-agent.js';
import { serializeError, TroupeError } from '../../errors.js';
import { PostgresStore } from '../../store/postgres/postgres-store.js';
import {
  type CancelNotice,
  type ClaimedTask,
  REMOTE_CANCEL_CHANNEL,
  REMOTE_TASK_CHANNEL,
  type RemoteOutcome,
  type RemoteRole,
} from '../../store/postgres/remote-tasks.js';
import type { Communicator } from '../communicator/communicator.js';
import { createRuntime, type Runtime } from '../runtime.js';
import { remoteContext } from './remote-context.js';
import { Wakeups } from './wakeups.js';
import {
  type ResolvedWorkerOptions,
  resolveWorkerOptions,
  type WorkerOptions,
} from './worker-options.js';

interface RunningClaim {
  claim: ClaimedTask;
  controller: AbortController;
  done: Promise<void>;
}

/** What `worker.stats()` returns. */
export interface WorkerStats {
  workerId: string;
  roles: string[];
  /** Tasks running now, by role. */
  running: Record<string, number>;
  /** Outcomes written (and accepted) since the worker started. */
  completed: number;
  /** Outcomes refused because the claim was lost. */
  refused: number;
}

/** Options of {@link AgentWorker.close}. */
export interface WorkerCloseOptions {
  /**
   * Wait for running tasks to finish and write their outcomes; `false` aborts
   * them and queues them again at once for another worker.
   * @default true
   */
  graceful?: boolean;
}

/**
 * Starts a worker serving `agents` for the runs of other processes (see the
 * module notes and docs/workers.md). Resolves once it is registered and
 * listening; the tasks waiting already start right after.
 * @throws TroupeError `INVALID_INPUT` for bad options, `CONFIG_ERROR` if the
 * database cannot be reached.
 */
export async function createWorker(options: WorkerOptions): Promise<AgentWorker> {
  const resolved = resolveWorkerOptions(options);
  const given = resolved.store;
  const store =
    given instanceof PostgresStore
      ? given
      : await PostgresStore.open({ onError: resolved.onError, ...given.postgres });
  const worker = new AgentWorker(resolved, store, !(given instanceof PostgresStore));
  try {
    await worker.start();
  } catch (error) {
    await worker.close({ graceful: false });
    throw error;
  }
  return worker;
}

/** A running worker; made by {@link createWorker}, stopped by `close()`. */
export class AgentWorker {
  readonly workerId: string;
  readonly #options: ResolvedWorkerOptions;
  readonly #store: PostgresStore;
  readonly #ownsStore: boolean;
  readonly #agents: ReadonlyMap<string, AgentDefinition>;
  readonly #wakeups: Wakeups;
  readonly #running = new Map<number, RunningClaim>();
  readonly #startedAt: number;
  #completed = 0;
  #refused = 0;
  #claiming: Promise<void> | undefined;
  #claimAgain = false;
  #closing: Promise<void> | undefined;
  /** The runtime behind {@link communicator}: this worker's agents, no runs of its own. */
  #messaging: Runtime | undefined;

  /** Use {@link createWorker}. */
  constructor(options: ResolvedWorkerOptions, store: PostgresStore, ownsStore: boolean) {
    this.#options = options;
    this.#store = store;
    this.#ownsStore = ownsStore;
    this.#agents = new Map(options.agents.map((agent) => [agent.role, agent]));
    this.workerId =
      options.workerId ?? `worker:${hostname()}:${process.pid}:${randomUUID().slice(0, 8)}`;
    this.#wakeups = new Wakeups(options.clock, options.onError);
    this.#startedAt = options.clock.now();
  }

  /**
   * The communicator of this worker's agents, spanning every process on the
   * database, as `rt.communicator` of a runtime: send, broadcast, request,
   * shared contexts (with `expectedVersion`) and locks.
   * @throws TroupeError `RUNTIME_CLOSED` before `start()` or after `close()`.
   */
  get communicator(): Communicator {
    if (!this.#messaging || this.#closing) {
      throw new TroupeError('RUNTIME_CLOSED', `Worker ${this.workerId} is not running.`, {
        workerId: this.workerId,
      });
    }
    return this.#messaging.communicator;
  }

  /** Registers the worker, starts the heartbeat and the polling, listens, and claims what waits. */
  async start(): Promise<void> {
    const { heartbeatMs, pollMs, agents, clock, onError, communicator } = this.#options;
    // Before claiming: the first task may message at once.
    this.#messaging = await createRuntime({
      store: this.#store.borrow(),
      agents,
      remoteAgents: { enabled: false },
      ownership: { takeover: false },
      autoResume: false,
      communicator,
      clock,
      onError,
    });
    await this.heartbeat();
    this.#wakeups.every(heartbeatMs, 'renewing remote task claims', () => this.heartbeat());
    this.#wakeups.every(pollMs, 'claiming remote tasks', () => this.claim());
    await this.#wakeups.listen(
      this.#store,
      [REMOTE_TASK_CHANNEL, REMOTE_CANCEL_CHANNEL],
      (channel, payload) => {
        if (channel === REMOTE_CANCEL_CHANNEL) {
          // Aborted from the notice: the run may end, and its rows go, before a heartbeat reads the row.
          const { id, reason } = JSON.parse(payload) as CancelNotice;
          const running = this.#running.get(id);
          if (running) this.#cancel(running, reason);
          return;
        }
        if (this.#agents.has(payload)) {
          this.claim().catch((error) => this.#options.onError(error, `handling ${channel}`));
        }
      },
      pollMs,
    );
    // Not awaited: tasks waiting already start once createWorker has resolved,
    // so an agent's code may use the worker (`worker.communicator`).
    this.claim().catch((error) => this.#options.onError(error, 'claiming remote tasks'));
  }

  /** The roles served, with the profile owners give their stand-in agents. */
  roles(): RemoteRole[] {
    return [...this.#agents.values()].map((agent) => ({
      role: agent.role,
      displayName: agent.displayName,
      expertise: agent.expertise,
      stage: agent.stage,
      concurrency: agent.concurrency,
    }));
  }

  /** What runs here now, by role, and how many outcomes were accepted and refused. */
  stats(): WorkerStats {
    const running: Record<string, number> = Object.create(null);
    for (const { claim } of this.#running.values()) {
      running[claim.role] = (running[claim.role] ?? 0) + 1;
    }
    return {
      workerId: this.workerId,
      roles: [...this.#agents.keys()],
      running,
      completed: this.#completed,
      refused: this.#refused,
    };
  }

  /**
   * Claims as many tasks as the roles have free slots here (the claim keeps
   * each role within its limit across all workers) and starts them. Calls
   * made while a claim is under way run once after it.
   */
  claim(): Promise<void> {
    if (this.#closing) return Promise.resolve();
    if (this.#claiming) {
      this.#claimAgain = true;
      return this.#claiming;
    }
    this.#claiming = (async () => {
      try {
        do {
          this.#claimAgain = false;
          await this.#claimOnce();
        } while (this.#claimAgain && !this.#closing);
      } finally {
        this.#claiming = undefined;
      }
    })();
    return this.#claiming;
  }

  /** The owner cancelled a running task: its signal aborts with `TASK_ABORTED`. */
  #cancel({ claim, controller }: RunningClaim, reason: string): void {
    if (controller.signal.aborted) return;
    controller.abort(
      new TroupeError('TASK_ABORTED', `Task "${claim.taskId}" was aborted: ${reason}`, {
        workflowId: claim.workflowId,
        taskId: claim.taskId,
        agent: claim.role,
      }),
    );
  }

  /**
   * Renews the claims of running tasks and the worker's heartbeat: a task
   * whose claim was lost, or that was cancelled, has its signal aborted.
   */
  async heartbeat(): Promise<void> {
    const { clock, leaseMs } = this.#options;
    const sent = [...this.#running.values()];
    const renewed = await this.#store.remoteTasks.renew(
      this.workerId,
      sent.map(({ claim }) => ({ id: claim.id, epoch: claim.epoch })),
      clock.now(),
      leaseMs,
    );
    const claims = new Map(renewed.map((row) => [row.id, row]));
    for (const running of sent) {
      const { claim, controller } = running;
      if (this.#running.get(claim.id) !== running || controller.signal.aborted) continue;
      const where = { workflowId: claim.workflowId, taskId: claim.taskId, agent: claim.role };
      const renewal = claims.get(claim.id);
      if (renewal?.outcome === 'lost') {
        controller.abort(
          new TroupeError(
            'REMOTE_CLAIM_LOST',
            `Worker ${this.workerId} lost its claim on task "${claim.taskId}" of workflow "${claim.workflowId}" (its lease expired); the task's outcome comes from another claim.`,
            where,
          ),
        );
      } else if (renewal?.outcome === 'run_ended' || renewal?.cancelReason) {
        // The cancel notice may be missed, and a cancel ends the run at once,
        // whose end deletes the run's rows: either means the task was aborted.
        this.#cancel(running, renewal.cancelReason ?? 'its run ended');
      }
    }
    await this.#store.remoteTasks.heartbeat(
      {
        workerId: this.workerId,
        host: hostname(),
        pid: process.pid,
        roles: this.roles(),
        startedAt: this.#startedAt,
        running: this.#running.size,
        completed: this.#completed,
      },
      clock.now(),
      leaseMs,
    );
  }

  /**
   * Stops claiming; waits for the running tasks (`graceful`), or aborts them
   * and gives their claims back; removes the worker's row and closes the
   * store if the worker opened it. Idempotent.
   */
  close(options: WorkerCloseOptions = {}): Promise<void> {
    this.#closing ??= this.#close(options.graceful ?? true);
    return this.#closing;
  }

  async #close(graceful: boolean): Promise<void> {
    const { onError } = this.#options;
    await this.#claiming?.catch(() => undefined);
    if (graceful) {
      // Claims stay renewed while the tasks finish.
      await Promise.all([...this.#running.values()].map((running) => running.done));
    }
    this.#wakeups.close();
    if (!graceful) {
      const running = [...this.#running.values()];
      for (const { controller } of running) {
        controller.abort(new TroupeError('RUNTIME_CLOSED', `Worker ${this.workerId} stopped.`));
      }
      await this.#store.remoteTasks
        .release(
          this.workerId,
          running.map(({ claim }) => ({ id: claim.id, epoch: claim.epoch })),
        )
        .catch((error) => onError(error, 'giving back remote task claims'));
    }
    await this.#store.remoteTasks
      .removeWorker(this.workerId)
      .catch((error) => onError(error, 'removing the worker row'));
    await this.#messaging?.close().catch((error) => onError(error, 'closing the communicator'));
    if (this.#ownsStore) await this.#store.close();
  }

  async #claimOnce(): Promise<void> {
    const { clock, leaseMs } = this.#options;
    const busy = this.stats().running;
    let free = this.#options.concurrency - this.#running.size;
    const wants = [];
    for (const agent of this.#agents.values()) {
      const count = Math.min(free, agent.concurrency - (busy[agent.role] ?? 0));
      if (count <= 0) continue;
      wants.push({ role: agent.role, limit: agent.concurrency, count });
      free -= count;
    }
    if (wants.length === 0) return;
    const claimed = await this.#store.remoteTasks.claim(this.workerId, wants, clock.now(), leaseMs);
    for (const claim of claimed) this.#execute(claim);
  }

  #execute(claim: ClaimedTask): void {
    const { clock, onError } = this.#options;
    const agent = this.#agents.get(claim.role)!;
    const controller = new AbortController();
    const progress = progressWriter((fraction, message) =>
      this.#store.remoteTasks
        .progress(claim, fraction, message)
        .catch((error) => onError(error, `writing progress of task "${claim.taskId}"`)),
    );
    const { ctx, effects, end } = remoteContext(claim, {
      signal: controller.signal,
      progress,
      messaging: this.#messaging!.communicator.agentPort,
    });
    const task = {
      id: claim.taskId,
      workflowId: claim.workflowId,
      agent: claim.role,
      description: claim.payload.description,
      input: claim.payload.input,
    };
    const done = Promise.resolve()
      .then(() => agent.run(task, ctx))
      .then(
        (output): RemoteOutcome => {
          // What cannot be stored as JSON fails here, not at the owner.
          const json = JSON.stringify(output ?? null);
          return { ok: true, output: JSON.parse(json), ...effects() };
        },
        (error: unknown): RemoteOutcome => ({ ok: false, error: serializeError(error) }),
      )
      .then(async (outcome) => {
        // Before the outcome: a task that starts because this one ended finds the locks free.
        end();
        // Stopped without finishing: the claim was given back, nothing to write.
        if (this.#closing && controller.signal.aborted) return;
        const accepted = await this.#store.remoteTasks.complete(
          claim,
          this.workerId,
          outcome,
          clock.now(),
        );
        if (accepted) {
          this.#completed++;
          return;
        }
        this.#refused++;
        onError(
          new TroupeError(
            'REMOTE_CLAIM_LOST',
            `Worker ${this.workerId}: the outcome of task "${claim.taskId}" of workflow "${claim.workflowId}" was refused, because its claim expired or another worker claimed the task (or the run ended).`,
            { workflowId: claim.workflowId, taskId: claim.taskId, agent: claim.role },
          ),
          'writing a remote task outcome',
        );
      })
      .catch((error) => onError(error, `writing the outcome of task "${claim.taskId}"`))
      .finally(() => {
        this.#running.delete(claim.id);
        this.claim().catch((error) => onError(error, 'claiming remote tasks'));
      });
    this.#running.set(claim.id, { claim, controller, done });
  }
}

/** Writes the newest progress; calls made while a write is in flight keep only the latest. */
function progressWriter(
  write: (fraction: number, message: string | undefined) => Promise<unknown>,
): (fraction: number, message: string | undefined) => void {
  let next: [number, string | undefined] | undefined;
  let writing = false;
  const flush = async () => {
    writing = true;
    while (next) {
      const [fraction, message] = next;
      next = undefined;
      await write(fraction, message);
    }
    writing = false;
  };
  return (fraction, message) => {
    next = [fraction, message];
    if (!writing) void flush();
  };
}
