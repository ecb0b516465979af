/**
 * Run ownership across processes sharing one PostgreSQL store: every run
 * has one owner at a time, holding a lease (owner id, epoch, expiry) that it
 * renews by heartbeat. The store fences every write of a run on the owner's
 * epoch (see PostgresStore), so a process that was frozen, cut off or slow
 * can never write into a run another process took over; it hears so (from a
 * refused write or from its heartbeat) and stops the run locally with
 * `RUN_OWNERSHIP_LOST`.
 *
 * Each process also sweeps for runs whose lease expired (their owner died)
 * and recovers them with the ordinary checkpoint + journal replay, and
 * carries out the pause, resume and cancel commands other processes queue
 * for the runs it owns (`LISTEN/NOTIFY` wakes it; polling is the safety net).
 *
 * Invariants: a run is live here only while `held` has its lease; every
 * timer step finishes before the next is scheduled (no overlapping sweeps).
 */
import type pg from 'pg';
import { TroupeError } from '../../errors.js';
import type { WorkflowEvent } from '../../machines/workflow/events.js';
import type { JsonValue } from '../../schemas/json-value.js';
import {
  type ClaimedLease,
  COMMAND_CHANNEL,
  type HeldLease,
  type ParkedRun,
  type RunCommand,
} from '../../store/postgres/leases.js';
import type { PostgresStore } from '../../store/postgres/postgres-store.js';
import type { Clock } from '../clock.js';
import type { OwnershipPort, WorkflowEngine } from '../workflow/workflow-engine.js';
import { ownerLabel } from './owner-label.js';
import type { ResolvedOwnershipOptions } from './ownership-options.js';

export interface RunOwnershipDeps {
  store: PostgresStore;
  options: ResolvedOwnershipOptions;
  clock: Clock;
  /** Read on use: the engine is built with this object as its port. */
  engine: () => WorkflowEngine;
  onError: (error: unknown, context: string) => void;
}

/**
 * This process's share of run ownership on PostgreSQL: it holds a lease per
 * run it owns (renewed by heartbeat), sweeps for runs whose lease expired and
 * takes them over, and carries out the commands other processes queue for
 * its runs. Made by `createRuntime` with a PostgreSQL store (`rt.ownership`).
 */
export class RunOwnership implements OwnershipPort {
  readonly ownerId: string;
  readonly #deps: RunOwnershipDeps;
  /** Leases of the runs live (or going live) in this process. */
  readonly #held = new Map<string, HeldLease>();
  readonly #timers = new Set<unknown>();
  /** Runs this process's sweep claimed and is recovering. */
  readonly #takingOver = new Set<string>();
  #listener: pg.PoolClient | undefined;
  #closed = false;
  /** The command poll waiting to start, and the last one started (see pollCommands). */
  #nextPoll: Promise<void> | undefined;
  #lastPoll: Promise<void> = Promise.resolve();
  #unsubscribe: (() => void) | undefined;

  constructor(deps: RunOwnershipDeps) {
    this.#deps = deps;
    this.ownerId = deps.store.ownerId;
  }

  get #leases() {
    return this.#deps.store.leases;
  }

  /** Starts the heartbeat, the takeover sweep and the command listener. */
  async start(): Promise<void> {
    const { options } = this.#deps;
    this.#unsubscribe = this.#deps.store.onOwnershipLost((workflowId) => this.#lost(workflowId));
    this.#every(options.heartbeatMs, 'renewing run leases', () => this.heartbeat());
    this.#every(options.commandPollMs, 'polling run commands', () => this.pollCommands());
    await this.#listen();
    if (options.takeover) {
      this.#every(options.sweepMs, 'taking over runs', () => this.sweep());
      await this.sweep().catch((error) => this.#deps.onError(error, 'taking over runs'));
    }
  }

  /** {@inheritDoc OwnershipPort.acquire} */
  async acquire(workflowId: string, kind: 'new' | 'recover'): Promise<void> {
    // Taken by this process's sweep, which then recovers the run.
    if (this.#held.has(workflowId)) return;
    const { clock, options } = this.#deps;
    const lease =
      kind === 'new'
        ? await this.#leases.create(workflowId, this.ownerId, clock.now(), options.leaseMs)
        : await this.#leases.acquire(workflowId, this.ownerId, clock.now(), options.leaseMs);
    if (lease) {
      this.#hold(lease);
      return;
    }
    if (kind === 'new') {
      throw new TroupeError(
        'INVALID_INPUT',
        `A workflow run with id "${workflowId}" already exists; choose another workflowId.`,
        { workflowId },
      );
    }
    const current = await this.#leases.get(workflowId);
    const holder =
      current?.state === 'recovery_failed'
        ? 'it is parked as recovery_failed (see rt.ownership.parked())'
        : `process ${current?.owner ?? 'unknown'} owns it until ${new Date(current?.expiresAt ?? 0).toISOString()}`;
    throw new TroupeError(
      'RUN_OWNED_ELSEWHERE',
      `Cannot recover workflow "${workflowId}" here: ${holder}. Send it commands with engine.pause/resume/cancel from any process; it is taken over automatically if its owner dies.`,
      { workflowId, ...(current ? { owner: current.owner } : {}) },
    );
  }

  /** {@inheritDoc OwnershipPort.release} */
  release(workflowId: string): void {
    const lease = this.#drop(workflowId);
    if (!lease) return;
    this.#leases
      .release(lease, this.ownerId)
      .catch((error) => this.#deps.onError(error, `releasing the lease of "${workflowId}"`));
  }

  /** {@inheritDoc OwnershipPort.abandon} */
  abandon(workflowId: string): void {
    if (!this.#drop(workflowId)) return;
    // A takeover records the failure (and ends the lease) itself.
    if (this.#takingOver.has(workflowId)) return;
    this.#leases
      .expire(this.ownerId, [workflowId])
      .catch((error) => this.#deps.onError(error, `giving up the lease of "${workflowId}"`));
  }

  /** {@inheritDoc OwnershipPort.forward} */
  async forward(workflowId: string, event: WorkflowEvent): Promise<void> {
    const command = commandOf(event);
    if (!command) throw new Error(`${event.type} cannot be sent to another process`);
    const lease = await this.#leases.get(workflowId);
    if (!lease) {
      throw new TroupeError(
        'WORKFLOW_NOT_FOUND',
        `No live workflow run "${workflowId}" in any process; a stored one can be resumed with engine.recover().`,
        { workflowId },
      );
    }
    await this.#leases.sendCommand(workflowId, command, this.#deps.clock.now());
  }

  /** {@inheritDoc OwnershipPort.holds} */
  holds(workflowId: string): boolean {
    return this.#held.has(workflowId);
  }

  /** {@inheritDoc OwnershipPort.lostError} */
  lostError(workflowId: string): TroupeError {
    return new TroupeError(
      'RUN_OWNERSHIP_LOST',
      `Workflow "${workflowId}" was taken over by another process (this one stopped renewing its lease in time); it was stopped here and its writes were refused. Its result comes from the new owner.`,
      { workflowId, owner: this.ownerId },
    );
  }

  /** Runs parked as `recovery_failed`, with the reason of their last failed recovery. */
  parked(): Promise<ParkedRun[]> {
    return this.#leases.parked();
  }

  /**
   * Lets a parked run be taken over again (by the next sweep of any process),
   * after its cause was fixed. Returns whether it was parked.
   */
  unpark(workflowId: string): Promise<boolean> {
    return this.#leases.unpark(workflowId);
  }

  /** Who runs each run, by this process's clock (see {@link ownerLabel}); for listings. */
  async owners(): Promise<(workflowId: string, ended: boolean) => string> {
    const leases = await this.#leases.all();
    const now = this.#deps.clock.now();
    return (workflowId, ended) => ownerLabel(leases.get(workflowId), ended, now);
  }

  /** Ids of the runs whose lease this process holds. */
  owned(): string[] {
    return [...this.#held.keys()];
  }

  /** Renews the leases held; a run whose lease another process took is stopped here. */
  async heartbeat(): Promise<void> {
    const sent = new Map(this.#held);
    if (sent.size === 0) return;
    const { clock, options } = this.#deps;
    const renewed = await this.#leases.renew(
      this.ownerId,
      [...sent.keys()],
      clock.now(),
      options.leaseMs,
    );
    const still = new Map(renewed.map((lease) => [lease.workflowId, lease.epoch]));
    for (const [workflowId, lease] of sent) {
      // Only a lease unchanged since the query was sent can be judged by it.
      if (this.#held.get(workflowId) !== lease) continue;
      if (still.get(workflowId) !== lease.epoch) this.#lost(workflowId);
    }
  }

  /** Takes over runs whose lease expired and recovers them; returns the ids taken. */
  async sweep(): Promise<string[]> {
    const { clock, options } = this.#deps;
    const claimed = await this.#leases.sweep(
      this.ownerId,
      clock.now(),
      options.leaseMs,
      options.sweepLimit,
    );
    for (const lease of claimed) void this.#takeOver(lease);
    return claimed.map((lease) => lease.workflowId);
  }

  /**
   * Carries out the commands queued for runs owned here. Polls never overlap
   * (a wake-up during a poll queues one more), and a command is deleted only
   * once carried out, so one taken by a process that dies is carried out by
   * the run's next owner.
   */
  pollCommands(): Promise<void> {
    if (!this.#nextPoll) {
      this.#nextPoll = this.#lastPoll.then(() => {
        this.#nextPoll = undefined;
        return this.#applyCommands();
      });
      this.#lastPoll = this.#nextPoll.catch(() => undefined);
    }
    return this.#nextPoll;
  }

  async #applyCommands(): Promise<void> {
    if (this.#held.size === 0) return;
    for (const { id, workflowId, command } of await this.#leases.pendingCommands(this.ownerId)) {
      // Kept queued until the run is live here.
      if (this.#takingOver.has(workflowId)) continue;
      try {
        const engine = this.#deps.engine();
        if (command.type === 'pause') await engine.pause(workflowId);
        else if (command.type === 'resume') await engine.resume(workflowId);
        else if (command.type === 'signal') {
          await engine.signal(workflowId, command.name, command.payload);
        } else {
          const { reason, compensate } = command;
          await engine.cancel(workflowId, { reason, compensate });
        }
      } catch (error) {
        this.#deps.onError(error, `applying ${command.type} to workflow "${workflowId}"`);
      }
      await this.#leases.commandDone(id);
    }
  }

  /**
   * Stops the timers and ends the leases still held, so other processes take
   * those runs over at once instead of after `leaseMs`.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) this.#deps.clock.clearTimeout(timer);
    this.#timers.clear();
    this.#unsubscribe?.();
    this.#listener?.release(true);
    const runs = [...this.#held.keys()];
    for (const workflowId of runs) this.#drop(workflowId);
    if (runs.length > 0) {
      await this.#leases
        .expire(this.ownerId, runs)
        .catch((error) => this.#deps.onError(error, 'ending leases at close'));
    }
  }

  async #takeOver(lease: ClaimedLease): Promise<void> {
    const { options, onError } = this.#deps;
    const { workflowId, attempts } = lease;
    const park = attempts >= options.maxRecoveryAttempts;
    if (attempts > options.maxRecoveryAttempts) {
      // Its owners kept dying before it recovered: it may be what kills them.
      await this.#leases
        .failed(lease, this.ownerId, `taken over ${attempts - 1} times without recovering`, true)
        .catch((error) => onError(error, `parking workflow "${workflowId}"`));
      return;
    }
    this.#hold(lease);
    this.#takingOver.add(workflowId);
    try {
      const handle = await this.#deps.engine().recover(workflowId);
      if (handle && this.#held.get(workflowId) === lease) {
        await this.#leases.recovered(lease, this.ownerId);
      }
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      await this.#leases
        .failed(lease, this.ownerId, reason, park)
        .catch((failure) => onError(failure, `recording the failed recovery of "${workflowId}"`));
      onError(error, `taking over workflow "${workflowId}"`);
    } finally {
      this.#takingOver.delete(workflowId);
    }
  }

  #hold(lease: HeldLease): void {
    this.#held.set(lease.workflowId, lease);
    this.#deps.store.fence(lease.workflowId, lease.epoch);
  }

  #drop(workflowId: string): HeldLease | undefined {
    const lease = this.#held.get(workflowId);
    this.#held.delete(workflowId);
    this.#deps.store.unfence(workflowId);
    return lease;
  }

  #lost(workflowId: string): void {
    this.#held.delete(workflowId);
    // Not unfenced: journal writes of the run still queued here must not land in the new owner's run.
    this.#deps.store.refuse(workflowId);
    this.#deps.engine().stopLocally(workflowId, this.lostError(workflowId));
  }

  /** Runs `step` every `ms`, each run after the previous finished. */
  #every(ms: number, context: string, step: () => Promise<unknown>): void {
    const { clock, onError } = this.#deps;
    const schedule = () => {
      if (this.#closed) return;
      const timer = clock.setTimeout(() => {
        this.#timers.delete(timer);
        step()
          .catch((error) => {
            if (!this.#closed) onError(error, context);
          })
          .finally(schedule);
      }, ms);
      this.#timers.add(timer);
    };
    schedule();
  }

  /** `LISTEN` on a dedicated connection; a lost one is replaced by the next poll's reconnect. */
  async #listen(): Promise<void> {
    if (this.#closed || this.#deps.store.closed) return;
    const client = await this.#deps.store.connect();
    this.#listener = client;
    client.on('notification', () => {
      this.pollCommands().catch((error) => this.#deps.onError(error, 'polling run commands'));
    });
    client.on('error', () => {
      // The server went away; polling carries on, and LISTEN is set up again.
      client.release(true);
      if (this.#listener === client) this.#listener = undefined;
      this.#deps.clock.setTimeout(() => {
        this.#listen().catch(() => undefined);
      }, this.#deps.options.commandPollMs);
    });
    await client.query(`LISTEN ${COMMAND_CHANNEL}`);
  }
}

function commandOf(event: WorkflowEvent): RunCommand['command'] | undefined {
  switch (event.type) {
    case 'workflow.pause':
      return { type: 'pause' };
    case 'workflow.resume':
      return { type: 'resume' };
    case 'workflow.cancel':
      return { type: 'cancel', reason: event.reason, compensate: event.compensate === true };
    case 'wait.signal':
      return { type: 'signal', name: event.name, payload: event.payload as JsonValue };
    default:
      return undefined;
  }
}
