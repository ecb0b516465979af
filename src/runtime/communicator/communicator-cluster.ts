/**
 * The communicator across processes, when the runtime's store is
 * PostgreSQL. Each process is an endpoint: a row with the roles of the
 * agents it runs itself (stand-ins of remote agents excluded), renewed every
 * `heartbeatMs`.
 *
 * Routing: a message to an agent this process runs stays in this process
 * (the local communicator, unchanged); one to a role that another live
 * endpoint serves becomes a row of `troupe_messages` naming that role, leased
 * (`FOR UPDATE SKIP LOCKED`, for `messageLeaseMs`) by one process serving
 * it, which records and delivers it as if it was sent there, and deletes the
 * row once the message is in the mailbox and the store. A process killed in
 * between leaves the row to be taken again when the lease runs out, marked
 * `redelivered` (at-least-once, the same message id). A broadcast
 * writes one row per remote role it reaches. A request's row carries this
 * endpoint as `reply_to`: the responder's answer comes back as a row naming
 * this endpoint, and settles the request waiting here, whose timeout runs on
 * the injected clock. Rows are written with a `NOTIFY`; each endpoint
 * `LISTEN`s and also polls every `pollMs` as the safety net.
 *
 * Shared contexts and locks live in the database too (see
 * cluster-contexts.ts and cluster-locks.ts).
 */
import { TroupeError } from '../../errors.js';
import { recipientRole, scopeOf } from '../../machines/communicator/index.js';
import { type AgentMessage, parseStoredMessage } from '../../schemas/agent-message.js';
import {
  type ClaimedMessage,
  LOCK_CHANNEL,
  MESSAGE_CHANNEL,
  type PostgresCommunicatorRows,
} from '../../store/postgres/communicator-rows.js';
import type { PostgresStore } from '../../store/postgres/postgres-store.js';
import type { Clock } from '../clock.js';
import { Wakeups } from '../workers/wakeups.js';
import { ClusterContexts } from './cluster-contexts.js';
import { ClusterLocks } from './cluster-locks.js';
import type { ResolvedCommunicatorClusterOptions } from './cluster-options.js';
import { closedError, failureError } from './communicator-errors.js';
import type { CommunicatorLink } from './communicator-link.js';

export interface CommunicatorClusterDeps {
  store: PostgresStore;
  clock: Clock;
  options: ResolvedCommunicatorClusterOptions;
  link: CommunicatorLink;
  /** Roles of the agents this process runs itself. */
  roles(): string[];
  /** Whether this process runs the agent `role` itself (the per-message check). */
  serves(role: string): boolean;
  onError(error: unknown, context: string): void;
}

/** A request of this process waiting for its answer from another process. */
interface RemoteRequest {
  message: AgentMessage;
  timeoutMs: number | null;
  timer: unknown;
  resolve(response: AgentMessage): void;
  reject(error: unknown): void;
}

/** Where the answer to a request from another process goes. */
interface ReplyRoute {
  endpoint: string;
  deadline: number | null;
}

/** Rows taken per statement. */
const CLAIM_BATCH = 100;

/** The message as its recipient sees it: marked when a process took it before. */
function redelivery(message: AgentMessage, row: ClaimedMessage): AgentMessage {
  if (row.deliveries < 2) return message;
  return Object.freeze({ ...message, redelivered: true, deliveries: row.deliveries });
}

const isAnswer = (message: AgentMessage) => message.type === 'response' || message.type === 'error';

export class CommunicatorCluster {
  readonly contexts: ClusterContexts;
  readonly locks: ClusterLocks;
  readonly #deps: CommunicatorClusterDeps;
  readonly #rows: PostgresCommunicatorRows;
  readonly #endpoint: string;
  readonly #wakeups: Wakeups;
  readonly #requests = new Map<string, RemoteRequest>();
  readonly #replies = new Map<string, ReplyRoute>();
  #draining: Promise<void> | undefined;
  /** The last heartbeat queued: one at a time, so an older list of roles never lands last. */
  #beating: Promise<void> = Promise.resolve();
  #drainAgain = false;
  #started = false;
  #closed = false;

  constructor(deps: CommunicatorClusterDeps) {
    this.#deps = deps;
    this.#rows = deps.store.communicator;
    this.#endpoint = deps.store.ownerId;
    this.#wakeups = new Wakeups(deps.clock, deps.onError);
    this.contexts = new ClusterContexts(
      this.#rows,
      deps.link.store,
      deps.clock,
      () => deps.link.state.settings.contextHistoryLimit,
    );
    this.locks = new ClusterLocks(this.#rows, deps.clock, deps.options.pollMs);
  }

  /** This process's endpoint id (its store's owner id). */
  get endpoint(): string {
    return this.#endpoint;
  }

  /** Announces this process's roles, then listens and polls for its messages. */
  async start(): Promise<void> {
    const { options, store } = this.#deps;
    await this.#beat();
    this.#started = true;
    this.#wakeups.every(options.heartbeatMs, 'communicator heartbeat', () => this.#beat());
    this.#wakeups.every(options.pollMs, 'taking messages from other processes', () =>
      this.#drain(),
    );
    await this.#wakeups.listen(
      store,
      [MESSAGE_CHANNEL, LOCK_CHANNEL],
      (channel, payload) => {
        if (channel === LOCK_CHANNEL) this.locks.released(payload);
        else if (payload === this.#endpoint || this.#deps.serves(payload)) {
          this.#drain().catch((error) => this.#report(error, 'taking messages'));
        }
      },
      options.pollMs,
    );
    // Messages queued before this process listened.
    await this.#drain();
  }

  /** Agents were added here: other processes learn it now rather than at the next heartbeat. */
  rolesChanged(): void {
    if (!this.#started || this.#closed) return;
    this.#beat().catch((error) => this.#report(error, 'communicator heartbeat'));
  }

  /**
   * Sends a direct message: back to the process whose request it answers,
   * here if an agent here is its recipient, else to the process serving
   * the recipient. `local` sends it here (also what reports an unknown
   * recipient).
   */
  async send(message: AgentMessage, local: () => Promise<AgentMessage>): Promise<AgentMessage> {
    const route = isAnswer(message) ? this.#replies.get(message.correlationId ?? '') : undefined;
    if (route) {
      this.#replies.delete(message.correlationId!);
      await this.#rows.sendToEndpoint(route.endpoint, message, this.#deps.clock.now());
      return message;
    }
    if (this.#isHere(message)) return local();
    const sent = await this.#rows.sendToRole({
      self: this.#endpoint,
      role: recipientRole(message.to),
      message,
      replyTo: null,
      deadline: null,
      now: this.#deps.clock.now(),
    });
    return sent ? message : this.#unknownAnywhere(local);
  }

  /**
   * Sends a request to an agent of another process and waits for its answer
   * until `timeoutMs` (null: no limit) on the injected clock; a recipient
   * here, or one no process serves, goes to `local`.
   * @throws TroupeError `REQUEST_TIMEOUT`, `REQUEST_FAILED`, `INVALID_MESSAGE` (a correlation id already waiting).
   */
  async request(
    message: AgentMessage,
    timeoutMs: number | null,
    local: () => Promise<AgentMessage>,
  ): Promise<AgentMessage> {
    const role = recipientRole(message.to);
    if (this.#deps.serves(role)) return local();
    const correlationId = message.correlationId ?? message.id;
    if (this.#requests.has(correlationId) || this.#deps.link.state.requests[correlationId]) {
      throw failureError({ reason: 'duplicate_request', correlationId });
    }
    const { clock } = this.#deps;
    const now = clock.now();
    const answer = new Promise<AgentMessage>((resolve, reject) => {
      const timer =
        timeoutMs === null
          ? undefined
          : clock.setTimeout(() => {
              this.#requests.delete(correlationId);
              reject(
                failureError({
                  reason: 'request_timeout',
                  requestId: message.id,
                  to: message.to,
                  timeoutMs,
                }),
              );
            }, timeoutMs);
      this.#requests.set(correlationId, { message, timeoutMs, timer, resolve, reject });
    });
    // It may time out while the row is being written, before anyone awaits it.
    answer.catch(() => undefined);
    let sent: boolean;
    try {
      sent = await this.#rows.sendToRole({
        self: this.#endpoint,
        role,
        message,
        replyTo: this.#endpoint,
        deadline: timeoutMs === null ? null : now + timeoutMs,
        now,
      });
    } catch (error) {
      this.#forget(correlationId);
      throw error;
    }
    if (sent) return answer;
    this.#forget(correlationId);
    return this.#unknownAnywhere(local);
  }

  /**
   * Sends here a message no other process takes; if nobody here takes it
   * either, the error lists the roles of every process.
   */
  async #unknownAnywhere<T>(local: () => Promise<T>): Promise<T> {
    try {
      return await local();
    } catch (error) {
      if (!(error instanceof TroupeError && error.code === 'UNKNOWN_RECIPIENT')) throw error;
      const { agent, known } = error.context as { agent: string; known: string[] };
      const remote = await this.#rows.remoteRoles(this.#endpoint, this.#deps.clock.now());
      const every = [...new Set([...known, ...remote])].sort();
      throw failureError({ reason: 'unknown_recipient', to: agent, known: every });
    }
  }

  /**
   * Sends a broadcast to the agents of other processes (each role once,
   * roles served here left to `local`), then here. Resolves with every role
   * reached; fails as `local` does only if no process had a recipient.
   */
  async broadcast(
    message: AgentMessage,
    groups: string[] | null,
    local: () => Promise<string[]>,
  ): Promise<string[]> {
    const remote = await this.#rows.broadcast({
      self: this.#endpoint,
      message,
      groups,
      exclude: [...this.#deps.roles(), message.from],
      now: this.#deps.clock.now(),
    });
    try {
      // A worker's role is also a stand-in agent here, which the local broadcast reaches too.
      return [...new Set([...(await local()), ...remote])];
    } catch (error) {
      if (remote.length > 0 && error instanceof TroupeError && error.code === 'UNKNOWN_RECIPIENT') {
        return remote;
      }
      throw error;
    }
  }

  /** Stops listening and polling, removes this endpoint, and rejects what waits with `RUNTIME_CLOSED`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#wakeups.close();
    this.locks.close();
    for (const [correlationId, request] of this.#requests) {
      this.#forget(correlationId);
      request.reject(closedError('request'));
    }
    if (this.#started) {
      await this.#rows
        .removeEndpoint(this.#endpoint)
        .catch((error) => this.#report(error, 'removing the communicator endpoint'));
    }
  }

  /** A direct message whose recipient runs here, or that answers a request waiting here. */
  #isHere(message: AgentMessage): boolean {
    if (this.#deps.serves(recipientRole(message.to))) return true;
    const id = message.correlationId;
    return (
      isAnswer(message) && id !== undefined && this.#deps.link.state.requests[id] !== undefined
    );
  }

  /** Queues a heartbeat after the one in flight; it reads the roles when it runs. */
  #beat(): Promise<void> {
    const beat = this.#beating.then(() => this.#heartbeat());
    this.#beating = beat.catch(() => undefined);
    return beat;
  }

  async #heartbeat(): Promise<void> {
    const { clock, options } = this.#deps;
    const now = clock.now();
    await this.#rows.heartbeat(this.#endpoint, this.#deps.roles(), now, options.endpointTtlMs);
    await this.#rows.sweep(now);
    for (const [correlationId, route] of this.#replies) {
      if (route.deadline !== null && route.deadline <= now) this.#replies.delete(correlationId);
    }
  }

  /** Takes this process's messages until none is left; one drain at a time. */
  #drain(): Promise<void> {
    if (this.#draining) {
      this.#drainAgain = true;
      return this.#draining;
    }
    const { clock, options } = this.#deps;
    const run = async () => {
      do {
        this.#drainAgain = false;
        for (;;) {
          if (this.#closed) return;
          const rows = await this.#rows.claim({
            endpointId: this.#endpoint,
            roles: this.#deps.roles(),
            limit: CLAIM_BATCH,
            now: clock.now(),
            leaseMs: options.messageLeaseMs,
          });
          await this.#rows.ack(this.#endpoint, await this.#accept(rows));
          if (rows.length < CLAIM_BATCH) break;
        }
      } while (this.#drainAgain);
    };
    this.#draining = run().finally(() => {
      this.#draining = undefined;
    });
    return this.#draining;
  }

  /**
   * Delivers taken rows in order (the rows of one broadcast, same message,
   * together) and resolves with the ids of the rows done with: delivered to
   * the agents' mailboxes and recorded in the store, answers settled, and
   * rows nobody wants. A row whose delivery failed keeps its lease, and is
   * taken again when it runs out.
   */
  async #accept(rows: readonly ClaimedMessage[]): Promise<number[]> {
    const now = this.#deps.clock.now();
    const done: number[] = [];
    const deliveries: Promise<void>[] = [];
    let i = 0;
    while (i < rows.length) {
      const row = rows[i]!;
      const roles = row.role === null ? [] : [row.role];
      const ids = [row.id];
      let j = i + 1;
      const id = (row.message as { id?: unknown } | null)?.id;
      while (j < rows.length && rows[j]!.role !== null && row.role !== null) {
        const next = rows[j]!;
        if ((next.message as { id?: unknown } | null)?.id !== id) break;
        roles.push(next.role!);
        ids.push(next.id);
        j++;
      }
      i = j;
      let message: AgentMessage;
      try {
        message = redelivery(parseStoredMessage(row.message, `troupe_messages/${row.id}`), row);
      } catch (error) {
        this.#report(error, 'reading a message from another process');
        done.push(...ids);
        continue;
      }
      if (row.role !== null && (row.deadline === null || row.deadline > now)) {
        deliveries.push(
          this.#deliver(message, roles, row).then((delivered) => {
            if (delivered) done.push(...ids);
          }),
        );
        continue;
      }
      if (row.role === null) this.#settle(message);
      // else: a request whose requester stopped waiting; nobody wants its answer.
      done.push(...ids);
    }
    if (deliveries.length === 0) return done;
    await Promise.all(deliveries);
    // Acknowledged once what the agents received is in the store too.
    await this.#deps.link.writer.flushed();
    return done;
  }

  /** Puts the message in the agents' mailboxes; false (reported) if it could not. */
  async #deliver(message: AgentMessage, roles: string[], row: ClaimedMessage): Promise<boolean> {
    const { link, clock } = this.#deps;
    if (message.type === 'request' && row.replyTo !== null) {
      const correlationId = message.correlationId ?? message.id;
      this.#replies.set(correlationId, { endpoint: row.replyTo, deadline: row.deadline });
    }
    try {
      await link.submit('receive', scopeOf(message), (op) => ({
        type: 'message.receive',
        op,
        message,
        roles,
        now: clock.now(),
      }));
      return true;
    } catch (error) {
      this.#report(error, `delivering message "${message.id}" from another process`);
      return false;
    }
  }

  /** An answer to a request of this process: settles it (a late one is dropped). */
  #settle(response: AgentMessage): void {
    const correlationId = response.correlationId;
    const request = correlationId === undefined ? undefined : this.#requests.get(correlationId);
    if (!request || !isAnswer(response)) return;
    this.#forget(correlationId!);
    if (response.type === 'response') {
      request.resolve(response);
      return;
    }
    request.reject(
      failureError({
        reason: 'request_failed',
        requestId: request.message.id,
        to: request.message.to,
        response,
      }),
    );
  }

  #forget(correlationId: string): void {
    const request = this.#requests.get(correlationId);
    if (!request) return;
    this.#requests.delete(correlationId);
    if (request.timer !== undefined) this.#deps.clock.clearTimeout(request.timer);
  }

  #report(error: unknown, context: string): void {
    if (this.#closed) return;
    if (error instanceof TroupeError && error.code === 'RUNTIME_CLOSED') return;
    this.#deps.onError(error, context);
  }
}
