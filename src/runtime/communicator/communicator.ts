/**
 * `rt.communicator`: the typed facade over the communicator actor (system id
 * `communicator`). It validates input (zod; JSON payloads and values copied
 * and frozen), turns each call into one event for the actor, and each answer
 * into a settled promise or a `TroupeError` (see `communicator-link.ts` for
 * the bookkeeping and `communicator-store.ts` for persistence).
 *
 * Every method that returns a promise reports bad input by rejecting it,
 * never by throwing.
 */
import type { AgentMessaging } from '../../actors/agents/message-delivery.js';
import { errorPayload } from '../../actors/agents/message-delivery.js';
import { TroupeError } from '../../errors.js';
import {
  type ContextChange,
  handoffKey,
  inboxOf,
  type LockLease,
  type OpResult,
  recipientRole,
  type SharedContext,
  scopeOf,
} from '../../machines/communicator/index.js';
import {
  type AgentMessage,
  type AgentMessageInput,
  parseAgentMessage,
  type RequestMessageInput,
  type RequestOptions,
} from '../../schemas/agent-message.js';
import { functionSchema } from '../../schemas/arguments.js';
import { DEFAULT_VALUE_LIMITS, type ResolvedValueLimits } from '../../schemas/limits.js';
import { checkValueObject, type SizeLimit } from '../../schemas/value-check.js';
import type { Store } from '../../store/store.js';
import type { Clock } from '../clock.js';
import type { ListenerFor } from '../event-bus.js';
import { CommunicatorCluster, type CommunicatorClusterDeps } from './communicator-cluster.js';
import { closedError } from './communicator-errors.js';
import {
  broadcastOptionsSchema,
  checkName,
  checkWorkflowId,
  communicatorArgument,
  historyOptionsSchema,
  invalid,
  lockOptionsSchema,
  objectArgument,
  requestOptionsSchema,
  updateOptionsSchema,
} from './communicator-input.js';
import {
  type CommunicatorHost,
  CommunicatorLink,
  type CommunicatorNotice,
} from './communicator-link.js';
import {
  type BroadcastOptions,
  type CommunicatorOptions,
  type HistoryOptions,
  type LockOptions,
  type ResolvedCommunicatorOptions,
  resolveCommunicatorOptions,
  type UpdateOptions,
} from './communicator-options.js';
import { readHistory } from './communicator-store.js';

export interface CommunicatorDeps {
  host: CommunicatorHost;
  store: Store;
  clock: Clock;
  onError: (error: unknown, context: string) => void;
  options?: CommunicatorOptions;
  /** Size limits of payloads and updates. @default DEFAULT_VALUE_LIMITS */
  limits?: Pick<ResolvedValueLimits, 'maxMessageBytes' | 'maxSharedUpdateBytes'>;
  /**
   * With a PostgreSQL store: the communicator spans every process on the
   * database (messages to their agents, shared contexts and locks in the
   * database; see communicator-cluster.ts). @default this process only
   */
  cluster?: Pick<CommunicatorClusterDeps, 'store' | 'options' | 'roles' | 'serves'>;
}

/** What `broadcast` returns: the message id and the agents it was delivered to. */
export interface BroadcastReceipt {
  message: AgentMessage;
  /** Roles it was delivered to. */
  recipients: readonly string[];
}

/** A lock as `getLocks` reports it. */
export interface LockInfo extends LockLease {
  /** Owners waiting for it, first in line first. */
  waiting: string[];
}

type Result<K extends OpResult['kind']> = Extract<OpResult, { kind: K }>;

/** The agent communicator (`rt.communicator`): messages, broadcasts, request-response, versioned shared contexts, locks with leases, handoffs and history, all in one actor and stored. See docs/communicator.md. */
export class Communicator {
  /** The port agent executors use: inbox, send, request, answers to requests. */
  readonly agentPort: AgentMessaging;
  readonly #link: CommunicatorLink;
  /** Set with a PostgreSQL store: what crosses processes goes through it. */
  readonly #cluster: CommunicatorCluster | undefined;
  readonly #store: Store;
  readonly #clock: Clock;
  readonly #options: ResolvedCommunicatorOptions;
  readonly #messageLimit: SizeLimit;
  readonly #updateLimit: SizeLimit;

  constructor(deps: CommunicatorDeps) {
    // Processes on one PostgreSQL store record messages in the same scopes: keys carry the process.
    this.#link = new CommunicatorLink(
      deps.cluster ? { ...deps, writerId: deps.cluster.store.ownerId } : deps,
    );
    this.#cluster = deps.cluster
      ? new CommunicatorCluster({
          ...deps.cluster,
          link: this.#link,
          clock: deps.clock,
          onError: deps.onError,
        })
      : undefined;
    this.#store = deps.store;
    this.#clock = deps.clock;
    this.#options = resolveCommunicatorOptions(deps.options);
    const limits = deps.limits ?? DEFAULT_VALUE_LIMITS;
    this.#messageLimit = {
      name: 'maxMessageBytes',
      max: limits.maxMessageBytes,
      raise: 'createRuntime({ limits: { maxMessageBytes } })',
    };
    this.#updateLimit = {
      name: 'maxSharedUpdateBytes',
      max: limits.maxSharedUpdateBytes,
      raise: 'createRuntime({ limits: { maxSharedUpdateBytes } })',
    };
    this.agentPort = {
      inbox: (role, workflowId) => {
        const read = () => inboxOf(this.#link.state, workflowId, role);
        return this.#link.isLoaded(workflowId)
          ? this.#link.readNow(read)
          : this.#link.read('inbox', workflowId, read);
      },
      send: (message) => this.sendMessage(message),
      request: (message, options) => this.request(message, options),
      acquireLock: (workflowId, key, owner, options) =>
        this.acquireLock(workflowId, key, owner, options),
      releaseLock: (workflowId, key, owner) => this.releaseLock(workflowId, key, owner),
      reply: (request, from, outcome) =>
        this.sendMessage({
          from,
          to: request.from,
          type: outcome.ok ? 'response' : 'error',
          correlationId: request.correlationId ?? request.id,
          payload: outcome.ok ? (outcome.payload ?? null) : errorPayload(outcome.error),
          ...(request.workflowId === undefined ? {} : { workflowId: request.workflowId }),
        }),
      reportError: (error, context) => {
        // Hooks still running while the runtime closes are not worth a report.
        if (!(error instanceof TroupeError && error.code === 'RUNTIME_CLOSED')) {
          deps.onError(error, context);
        }
      },
    };
  }

  /**
   * Sends a message to one agent (`to`: its role, or its agent id
   * `agent:<role>`). Resolves with the message as recorded once it is in the
   * agent's mailbox; its `onMessage` hook runs right after.
   * @throws TroupeError `INVALID_MESSAGE` listing each bad field, `UNKNOWN_RECIPIENT` naming `to`.
   */
  async sendMessage(message: AgentMessageInput): Promise<AgentMessage> {
    const parsed = this.#parse(message, 'sendMessage');
    if (this.#cluster === undefined) return this.#link.send(parsed);
    return this.#cluster.send(parsed, () => this.#link.send(parsed));
  }

  /**
   * With a PostgreSQL store: announces this process's agents to the others
   * and starts taking the messages they send them. `createRuntime` calls it.
   */
  async start(): Promise<void> {
    await this.#cluster?.start();
  }

  /** Agents were registered: with a PostgreSQL store, other processes learn their roles now. */
  rolesChanged(): void {
    this.#cluster?.rolesChanged();
  }

  /**
   * Sends one message to every agent but the sender, or to the role group(s)
   * in `options.role`. `message.to` may be left out (it is recorded as `*`).
   * @throws TroupeError `UNKNOWN_RECIPIENT` when no agent is reached.
   */
  async broadcast(
    message: Omit<AgentMessageInput, 'to'> & { to?: '*' },
    options: BroadcastOptions = {},
  ): Promise<BroadcastReceipt> {
    const input = communicatorArgument('broadcast', 'message', objectArgument, message);
    const { role } = communicatorArgument('broadcast', 'options', broadcastOptionsSchema, options);
    const parsed = this.#parse({ ...input, to: input.to ?? '*' }, 'broadcast');
    if (parsed.to !== '*') {
      throw invalid(
        'broadcast',
        'message.to: must be "*" or left out; use options.role for a group',
      );
    }
    const groups = role === undefined ? null : [role].flat();
    const local = () =>
      this.#link.submit(
        'broadcast',
        scopeOf(parsed),
        (op, now) => ({ type: 'message.broadcast', op, message: parsed, groups, now }),
        // A copy: the array is also the history's record of who got the message.
        (result) => [...(result as Result<'message'>).recipients],
      );
    const recipients = this.#cluster
      ? await this.#cluster.broadcast(parsed, groups, local)
      : await local();
    return { message: parsed, recipients };
  }

  /**
   * Sends a `request` and resolves with the recipient's `response` message.
   * The correlation id defaults to the message id.
   * @throws TroupeError `REQUEST_TIMEOUT` naming the recipient, `REQUEST_FAILED`
   * when it answered with an error, `UNKNOWN_RECIPIENT`, `INVALID_MESSAGE`.
   */
  async request(message: RequestMessageInput, options: RequestOptions = {}): Promise<AgentMessage> {
    const input = communicatorArgument('request', 'message', objectArgument, message);
    const valid = communicatorArgument('request', 'options', requestOptionsSchema, options);
    const parsed = this.#parse({ ...input, type: input.type ?? 'request' }, 'request');
    if (parsed.type !== 'request') {
      throw invalid('request', 'message.type: must be "request" or left out');
    }
    const timeout = valid.timeout ?? this.#options.requestTimeoutMs;
    const timeoutMs = timeout === Infinity ? null : timeout;
    const local = () =>
      this.#link.submit<AgentMessage>('request', scopeOf(parsed), (op, now) => ({
        type: 'request.send',
        op,
        message: parsed,
        timeoutMs,
        now,
      }));
    return this.#cluster ? this.#cluster.request(parsed, timeoutMs, local) : local();
  }

  /** The workflow's shared context: version 0 and empty `data` before the first update. */
  async getSharedContext(workflowId: string): Promise<SharedContext> {
    checkWorkflowId('getSharedContext', workflowId);
    if (this.#cluster) return this.#clusterCall('getSharedContext').contexts.get(workflowId);
    return this.#link.read('getSharedContext', workflowId, () => this.#sharedCopy(workflowId));
  }

  /** The last values of one shared-context key, oldest first (bounded per key). */
  async getContextHistory(workflowId: string, key: string): Promise<ContextChange[]> {
    checkWorkflowId('getContextHistory', workflowId);
    checkName('getContextHistory', 'key', key);
    if (this.#cluster) {
      return this.#clusterCall('getContextHistory').contexts.history(workflowId, key);
    }
    return this.#link.read('getContextHistory', workflowId, () =>
      (this.#link.state.workflows[workflowId]?.history[key] ?? []).map((change) => ({ ...change })),
    );
  }

  /**
   * Merges `updates` (top-level keys) into the workflow's shared context and
   * bumps its version. With `expectedVersion`, fails unless nobody wrote
   * since that version (optimistic concurrency: read, compute, write, retry).
   * @throws TroupeError `VERSION_CONFLICT` with both versions in its context.
   */
  async updateSharedContext(
    workflowId: string,
    role: string,
    updates: Record<string, unknown>,
    options: UpdateOptions = {},
  ): Promise<SharedContext> {
    checkWorkflowId('updateSharedContext', workflowId);
    checkName('updateSharedContext', 'role', role);
    const { expectedVersion } = communicatorArgument(
      'updateSharedContext',
      'options',
      updateOptionsSchema,
      options,
    );
    if (typeof updates !== 'object' || updates === null || Array.isArray(updates)) {
      throw invalid('updateSharedContext', 'updates: must be a plain object of keys to set');
    }
    if (Object.keys(updates).length === 0)
      throw invalid('updateSharedContext', 'updates: must have a key');
    const frozen = checkValueObject(updates, {
      subject: `communicator.updateSharedContext("${workflowId}") by "${role}"`,
      root: 'updates',
      freeze: true,
      limit: this.#updateLimit,
      context: { workflowId },
    });
    if (this.#cluster) {
      return this.#clusterCall('updateSharedContext').contexts.update(
        workflowId,
        role,
        frozen,
        expectedVersion ?? null,
      );
    }
    return this.#link.submit(
      'updateSharedContext',
      workflowId,
      (op, now) => ({
        type: 'context.update',
        op,
        workflowId,
        role,
        updates: frozen,
        expectedVersion: expectedVersion ?? null,
        now,
      }),
      // Read in the same step as the update: this is the context at that version.
      () => this.#sharedCopy(workflowId),
    );
  }

  /**
   * Takes the lock `key` of a workflow for `owner`, waiting behind earlier
   * callers (first come, first served) for at most `timeout`. The lock is
   * taken back `ttlMs` after it was granted, so a crashed holder blocks nobody.
   * @throws TroupeError `LOCK_TIMEOUT` naming the holder, `LOCK_ALREADY_HELD`.
   */
  async acquireLock(
    workflowId: string,
    key: string,
    owner: string,
    options: LockOptions = {},
  ): Promise<LockLease> {
    checkWorkflowId('acquireLock', workflowId);
    checkName('acquireLock', 'key', key);
    checkName('acquireLock', 'owner', owner);
    const valid = communicatorArgument('acquireLock', 'options', lockOptionsSchema, options);
    const ttlMs = valid.ttlMs ?? this.#options.lockTtlMs;
    const timeout = valid.timeout ?? this.#options.lockTimeoutMs;
    if (this.#cluster) {
      const locks = this.#clusterCall('acquireLock').locks;
      return locks.acquire(workflowId, key, owner, ttlMs, timeout === Infinity ? null : timeout);
    }
    return this.#link.submit('acquireLock', workflowId, (op, now) => ({
      type: 'lock.acquire',
      op,
      workflowId,
      key,
      owner,
      ttlMs,
      timeoutMs: timeout === Infinity ? null : timeout,
      now,
    }));
  }

  /**
   * Releases a lock `owner` holds; the first waiter gets it.
   * @throws TroupeError `LOCK_NOT_HELD` naming the actual holder (also when the lease ran out).
   */
  async releaseLock(workflowId: string, key: string, owner: string): Promise<void> {
    checkWorkflowId('releaseLock', workflowId);
    checkName('releaseLock', 'key', key);
    checkName('releaseLock', 'owner', owner);
    if (this.#cluster)
      return this.#clusterCall('releaseLock').locks.release(workflowId, key, owner);
    return this.#link.submit('releaseLock', workflowId, (op, now) => ({
      type: 'lock.release',
      op,
      workflowId,
      key,
      owner,
      now,
    }));
  }

  /**
   * Runs `fn` holding the lock, and releases it however `fn` ends.
   * @throws what `fn` throws; else `LOCK_NOT_HELD` if the lease ran out before
   * `fn` finished (someone else may have held the lock meanwhile: raise `ttlMs`).
   */
  async withLock<T>(
    workflowId: string,
    key: string,
    owner: string,
    fn: (lease: LockLease) => T | Promise<T>,
    options: LockOptions = {},
  ): Promise<T> {
    communicatorArgument('withLock', 'fn', functionSchema(), fn);
    const lease = await this.acquireLock(workflowId, key, owner, options);
    let result: T;
    try {
      result = await fn(lease);
    } catch (error) {
      // fn's error is the one that matters; a lost lease adds nothing to it.
      await this.releaseLock(workflowId, key, owner).catch(() => undefined);
      throw error;
    }
    try {
      await this.releaseLock(workflowId, key, owner);
    } catch (cause) {
      if (!(cause instanceof TroupeError && cause.code === 'LOCK_NOT_HELD')) throw cause;
      throw new TroupeError(
        'LOCK_NOT_HELD',
        `withLock("${workflowId}", "${key}"): the lease of "${owner}" (ttlMs ${lease.expiresAt - lease.acquiredAt}) ran out before fn finished, so someone else may have held the lock meanwhile. Raise ttlMs.`,
        { workflowId, key, owner },
        { cause },
      );
    }
    return result;
  }

  /** The workflow's held locks, each with its waiters. */
  async getLocks(workflowId: string): Promise<LockInfo[]> {
    checkWorkflowId('getLocks', workflowId);
    if (this.#cluster) return this.#clusterCall('getLocks').locks.list(workflowId);
    return this.#link.read('getLocks', workflowId, () =>
      Object.entries(this.#link.state.workflows[workflowId]?.locks ?? {}).map(([key, lock]) => ({
        workflowId,
        key,
        owner: lock.owner,
        acquiredAt: lock.acquiredAt,
        expiresAt: lock.expiresAt,
        waiting: lock.waiters.map((waiter) => waiter.owner),
      })),
    );
  }

  /**
   * Hands `resultData` from one agent to another: a `result_handoff` message,
   * recorded in the same step in the shared context under
   * `handoff:<from>-><to>`, so the receiving agent's next task sees it in
   * `ctx.messages`, and readers of the shared context see it too.
   */
  async handoffResult(
    from: string,
    to: string,
    workflowId: string,
    resultData: unknown,
  ): Promise<AgentMessage> {
    checkWorkflowId('handoffResult', workflowId);
    const parsed = this.#parse(
      { from, to, type: 'result_handoff', payload: resultData, workflowId },
      'handoffResult',
    );
    if (this.#cluster) return this.#clusterHandoff(this.#cluster, parsed, workflowId);
    return this.#link.submit('handoffResult', workflowId, (op, now) => ({
      type: 'handoff.send',
      op,
      message: parsed,
      now,
    }));
  }

  /**
   * The newest `limit` recorded messages that match, oldest first. Read from
   * the store, so complete; memory keeps only the latest of each workflow.
   */
  async getMessageHistory(options: HistoryOptions = {}): Promise<AgentMessage[]> {
    const valid = communicatorArgument(
      'getMessageHistory',
      'options',
      historyOptionsSchema,
      options,
    );
    if (this.#link.closed) throw closedError('getMessageHistory');
    await this.#link.writer.flushed();
    return readHistory(this.#store, { ...valid, limit: valid.limit ?? 100 });
  }

  /** Listens to recorded messages (`message`) or to leases that ran out (`lock.expired`). */
  on<K extends CommunicatorNotice['type']>(
    type: K,
    listener: ListenerFor<CommunicatorNotice, K>,
  ): () => void {
    return this.#link.bus.on(type, listener);
  }

  /** Resolves once everything recorded so far is in the store. */
  flush(): Promise<void> {
    return this.#link.writer.flushed();
  }

  /** Rejects pending calls with `RUNTIME_CLOSED` and writes what is recorded. `rt.close()` calls it. */
  async close(): Promise<void> {
    await this.#cluster?.close();
    await this.#link.close();
  }

  /** The cluster, once the runtime is known to be open. */
  #clusterCall(api: string): CommunicatorCluster {
    if (this.#link.closed) throw closedError(api);
    return this.#cluster!;
  }

  /**
   * A handoff across processes: the message goes where its recipient runs,
   * then the shared context (in the database) records it. Two steps, not
   * one as in a single process: a reader may see the message first.
   */
  async #clusterHandoff(
    cluster: CommunicatorCluster,
    message: AgentMessage,
    workflowId: string,
  ): Promise<AgentMessage> {
    await cluster.send(message, () => this.#link.send(message));
    const to = recipientRole(message.to);
    const entry = Object.freeze({
      messageId: message.id,
      from: message.from,
      to,
      data: message.payload,
      at: message.timestamp,
    });
    await cluster.contexts.update(
      workflowId,
      message.from,
      { [handoffKey(message.from, to)]: entry },
      null,
    );
    return message;
  }

  #parse(input: unknown, api: string): AgentMessage {
    if (this.#link.closed) throw closedError(api);
    return parseAgentMessage(input, api, {
      now: this.#clock.now(),
      createId: this.#options.createId,
      limit: this.#messageLimit,
    });
  }

  #sharedCopy(workflowId: string): SharedContext {
    const shared = this.#link.state.workflows[workflowId]?.shared;
    if (!shared) return { version: 0, data: {}, updatedBy: null, updatedAt: null };
    // Values are frozen, so a shallow copy of `data` is a consistent, safe snapshot.
    return { ...shared, data: { ...shared.data } };
  }
}
