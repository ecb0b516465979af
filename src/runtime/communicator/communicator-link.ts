/**
 * The connection between the `rt.communicator` facade and the communicator
 * actor: operation numbers and their promises, lazy loading of scopes from
 * the store, and the actor's emitted events (results, writes, notices).
 *
 * Invariants:
 * - Every operation sent to the actor carries an `op` number; the actor
 *   settles each in an `ops.settled` event, and {@link close} rejects
 *   whatever is still open, so every promise settles.
 * - Direct messages sent during one microtask go to the actor as one
 *   `messages.send` event (XState's cost is per event). Any other operation
 *   or read first sends the messages gathered so far, so the actor sees
 *   every operation in call order.
 * - Scopes (a workflow, or `_` for messages of no workflow) are read from the
 *   store the first time they are touched. Operations on a loading scope wait
 *   in arrival order, so a scope's operations reach the actor in call order.
 *   A scope is read only after the writes queued before are in the store, so
 *   its last sequence number is never stale.
 * - Finished workflows leave memory (not the store) unless they hold locks;
 *   the next operation on one loads it again.
 */
import type { AnyActorRef, Subscription } from 'xstate';
import { TroupeError } from '../../errors.js';
import {
  COMMUNICATOR_SYSTEM_ID,
  type CommunicatorActorRef,
  type CommunicatorContext,
  type CommunicatorEmitted,
  type CommunicatorEvent,
  type OpResult,
  scopeOf,
  toRecord,
} from '../../machines/communicator/index.js';
import type { AgentMessage } from '../../schemas/agent-message.js';
import type { Store } from '../../store/store.js';
import type { Clock } from '../clock.js';
import { EventBus } from '../event-bus.js';
import { closedError, failureError } from './communicator-errors.js';
import { CommunicatorWriter, loadScope } from './communicator-store.js';

/** The runtime's root actor as the communicator sees it. */
export interface CommunicatorHost {
  system: { get(systemId: string): AnyActorRef | undefined };
  on(type: 'workflow.ended', listener: (event: { workflowId: string }) => void): Subscription;
}

export interface CommunicatorLinkDeps {
  host: CommunicatorHost;
  store: Store;
  clock: Clock;
  onError: (error: unknown, context: string) => void;
  /** This process's id, added to the keys of the messages it records, on a store other processes write too. @default none */
  writerId?: string;
}

/** What `rt.communicator.on()` reports. */
export type CommunicatorNotice =
  | { type: 'message'; message: AgentMessage; recipients: readonly string[] }
  | { type: 'lock.expired'; workflowId: string; key: string; owner: string; expiresAt: number };

interface Pending {
  resolve(value: never): void;
  reject(error: unknown): void;
  /** Turns the result into the promise's value, read in the same step; default: {@link resultValue}. */
  map?: (result: OpResult) => unknown;
  /** What a `sent` op resolves with: the message, which the caller already built. */
  value?: AgentMessage;
}

interface Waiting {
  run(): void;
  fail(error: unknown): void;
}

export class CommunicatorLink {
  readonly writer: CommunicatorWriter;
  readonly bus: EventBus<CommunicatorNotice>;
  readonly #ref: CommunicatorActorRef;
  /** The runtime's store, where the communicator's records live. */
  readonly store: Store;
  readonly #clock: Clock;
  readonly #pending = new Map<number, Pending>();
  readonly #loaded = new Set<string>();
  readonly #loading = new Map<string, Waiting[]>();
  readonly #subscriptions: Subscription[] = [];
  /** Direct messages waiting for the end of the microtask. */
  #outbox: { op: number; message: AgentMessage }[] = [];
  #outboxQueued = false;
  #nextOp = 1;
  #closed = false;

  /** @throws TroupeError `CONFIG_ERROR` if the host has no communicator actor. */
  constructor(deps: CommunicatorLinkDeps) {
    const ref = deps.host.system.get(COMMUNICATOR_SYSTEM_ID) as CommunicatorActorRef | undefined;
    if (!ref) {
      throw new TroupeError(
        'CONFIG_ERROR',
        `No actor with system id "${COMMUNICATOR_SYSTEM_ID}": the root machine must invoke the communicator machine (createCommunicatorMachine) with that system id.`,
      );
    }
    this.#ref = ref;
    this.store = deps.store;
    this.#clock = deps.clock;
    this.bus = new EventBus((error) => deps.onError(error, 'communicator listener'));
    this.writer = new CommunicatorWriter(
      deps.store,
      (workflowId) => {
        const slot = this.state.workflows[workflowId];
        return slot ? toRecord(slot) : undefined;
      },
      (error) => {
        // A storage failure is reported once, by the runtime's store.
        if (!(error instanceof TroupeError && error.code === 'STORE_WRITE_FAILED')) {
          deps.onError(error, 'communicator store write');
        }
      },
      deps.writerId,
    );
    this.#subscriptions.push(
      ref.on('*', (event) => this.#onEmitted(event)),
      ref.subscribe({ error: (error) => this.#failAll(error) }),
      deps.host.on('workflow.ended', ({ workflowId }) => this.#unloadLater(workflowId)),
    );
  }

  /** The actor's live context: read it, copy what you keep, never change it. */
  get state(): CommunicatorContext {
    return this.#ref.getSnapshot().context;
  }

  get closed(): boolean {
    return this.#closed;
  }

  isLoaded(scope: string): boolean {
    return this.#loaded.has(scope);
  }

  /** Queues a direct message (the hot path: no closure beyond the promise's). */
  send(message: AgentMessage): Promise<AgentMessage> {
    if (this.#closed) return Promise.reject(closedError('sendMessage'));
    return new Promise<AgentMessage>((resolve, reject) => {
      const op = this.#nextOp++;
      this.#pending.set(op, { resolve, reject, value: message });
      const scope = scopeOf(message);
      if (this.#loaded.has(scope)) this.#queue(op, message);
      else {
        this.#whenLoaded(scope, {
          run: () => this.#queue(op, message),
          fail: (error) => this.#abandon(op, error),
        });
      }
    });
  }

  /** Sends an operation once its scope is loaded; settles with `map` of its result. */
  submit<T>(
    api: string,
    scope: string,
    event: (op: number, now: number) => CommunicatorEvent,
    map?: (result: OpResult) => T,
  ): Promise<T> {
    if (this.#closed) return Promise.reject(closedError(api));
    return new Promise<T>((resolve, reject) => {
      const op = this.#nextOp++;
      this.#pending.set(op, map ? { resolve, reject, map } : { resolve, reject });
      this.#whenLoaded(scope, {
        run: () => this.#send(event(op, this.#clock.now())),
        fail: (error) => this.#abandon(op, error),
      });
    });
  }

  /** Runs `read` once the scope is loaded, after every operation submitted before. */
  read<T>(api: string, scope: string, read: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(closedError(api));
    return new Promise<T>((resolve, reject) =>
      this.#whenLoaded(scope, {
        run: () => {
          this.#flushOutbox();
          resolve(read());
        },
        fail: reject,
      }),
    );
  }

  /** Reads the live state now, after sending the messages gathered so far. */
  readNow<T>(read: () => T): T {
    this.#flushOutbox();
    return read();
  }

  /** Rejects open operations with `RUNTIME_CLOSED` and writes what is recorded. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const subscription of this.#subscriptions) subscription.unsubscribe();
    this.#failAll(closedError('close'));
    await this.writer.flushed();
  }

  #whenLoaded(scope: string, waiting: Waiting): void {
    if (this.#loaded.has(scope)) {
      waiting.run();
      return;
    }
    const queue = this.#loading.get(scope);
    if (queue) {
      queue.push(waiting);
      return;
    }
    const waiters = [waiting];
    this.#loading.set(scope, waiters);
    const limit = this.state.settings.messageHistoryLimit;
    this.writer
      .flushed()
      .then(() => loadScope(this.store, scope, limit))
      .then(
        (loaded) => {
          if (this.#loading.get(scope) !== waiters) return; // failed by close() meanwhile
          this.#loading.delete(scope);
          this.#send({ type: 'scope.load', scope, ...loaded, now: this.#clock.now() });
          this.#loaded.add(scope);
          for (const w of waiters) w.run();
        },
        (error: unknown) => {
          if (this.#loading.get(scope) !== waiters) return;
          this.#loading.delete(scope);
          for (const w of waiters) w.fail(error);
        },
      );
  }

  #queue(op: number, message: AgentMessage): void {
    this.#outbox.push({ op, message });
    if (this.#outboxQueued) return;
    this.#outboxQueued = true;
    queueMicrotask(this.#flushOutbox);
  }

  readonly #flushOutbox = (): void => {
    this.#outboxQueued = false;
    if (this.#outbox.length === 0 || this.#closed) return;
    const batch = this.#outbox;
    this.#outbox = [];
    this.#ref.send({ type: 'messages.send', batch, now: this.#clock.now() });
  };

  /** Every event goes through here: gathered messages first, so the actor sees call order. */
  #send(event: CommunicatorEvent): void {
    this.#flushOutbox();
    this.#ref.send(event);
  }

  #abandon(op: number, error: unknown): void {
    const pending = this.#pending.get(op);
    this.#pending.delete(op);
    pending?.reject(error);
  }

  #onEmitted(event: CommunicatorEmitted): void {
    switch (event.type) {
      case 'ops.settled':
        for (const op of event.sent) {
          const pending = this.#pending.get(op);
          this.#pending.delete(op);
          (pending?.resolve as ((value: unknown) => void) | undefined)?.(pending?.value);
        }
        for (const { op, result } of event.done) {
          const pending = this.#pending.get(op);
          if (!pending) continue;
          this.#pending.delete(op);
          (pending.resolve as (value: unknown) => void)(
            pending.map ? pending.map(result) : resultValue(result),
          );
        }
        for (const { op, failure } of event.failed) this.#abandon(op, failureError(failure));
        return;
      case 'messages.recorded':
        this.writer.messages(event.stored);
        if (this.bus.has('message')) {
          for (const { message, recipients } of event.stored) {
            this.bus.emit({ type: 'message', message, recipients });
          }
        }
        return;
      case 'workflows.changed':
        for (const workflowId of event.workflowIds) this.writer.changed(workflowId);
        return;
      case 'lock.expired':
        this.bus.emit(event);
        return;
      case 'scope.unloaded':
        this.#loaded.delete(event.scope);
        return;
    }
  }

  #unloadLater(workflowId: string): void {
    if (!this.#loaded.has(workflowId)) return;
    void this.writer.flushed().then(
      () => {
        if (this.#closed) return;
        // Gathered messages first: one of them may still change this workflow.
        this.#flushOutbox();
        // Unwritten changes are read from memory when their batch is written: keep them there.
        const busy =
          !this.#loaded.has(workflowId) ||
          this.#loading.has(workflowId) ||
          this.writer.hasPending(workflowId);
        if (!busy) this.#ref.send({ type: 'scope.unload', scope: workflowId });
      },
      () => undefined,
    ); // after a failed write the scope stays loaded; the failure is reported
  }

  #failAll(error: unknown): void {
    this.#outbox = [];
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const { reject } of pending) reject(error);
    const loading = [...this.#loading.values()].flat();
    this.#loading.clear();
    for (const { fail } of loading) fail(error);
  }
}

/** The natural value of a result: what the promise of its operation resolves with. */
function resultValue(result: OpResult): unknown {
  switch (result.kind) {
    case 'message':
      return result.message;
    case 'response':
      return result.response;
    case 'lock':
      return result.lease;
    case 'context':
    case 'released':
      return undefined;
  }
}
