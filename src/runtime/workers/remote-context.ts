/**
 * The `ctx` a worker's agent gets for a claimed task: the same fields as a
 * local agent's. What crosses processes through the task's row works as
 * locally: the signal (aborted on cancel, timeout at the owner, or a lost
 * claim), progress (written to the row, the owner relays it), the idempotency
 * key, the attempt, dependencies, the shared context and the messages
 * delivered when the task was dispatched; `updateShared` and `addTasks` travel
 * with the result. `ctx.step` runs its function (a worker keeps no journal).
 * `send`, `request` and `lock` go through the worker's communicator, which
 * spans every process on the database, as on the owner. What needs the
 * owner's live run (durable waits, child runs) fails with `REMOTE_UNSUPPORTED`.
 */
import type { AgentRunContext } from '../../actors/agents/define-agent.js';
import { type AgentMessaging, messageContext } from '../../actors/agents/message-delivery.js';
import { TaskLocks } from '../../actors/agents/task-locks.js';
import { TroupeError } from '../../errors.js';
import type { AgentMessage } from '../../schemas/agent-message.js';
import type { ClaimedTask } from '../../store/postgres/remote-tasks.js';

/** What the worker does with the calls of one attempt. */
export interface RemoteContextPort {
  signal: AbortSignal;
  /** Writes the latest progress (a write in flight is followed by the newest one only). */
  progress(fraction: number, message: string | undefined): void;
  /** The worker's communicator, for `send`, `request` and `lock`. */
  messaging: AgentMessaging;
}

/** The context, and what the attempt handed over besides its output. */
export interface RemoteContext {
  ctx: AgentRunContext;
  effects(): { sharedUpdates?: Record<string, unknown>; addedTasks?: unknown[] };
  /** The attempt ended: releases the locks it took. */
  end(): void;
}

export function remoteContext(claim: ClaimedTask, port: RemoteContextPort): RemoteContext {
  const { workflowId, taskId, role } = claim;
  const where = { workflowId, taskId, agent: role };
  let sharedUpdates: Record<string, unknown> | undefined;
  let addedTasks: unknown[] | undefined;
  const unsupported = (call: string) =>
    Promise.reject(
      new TroupeError(
        'REMOTE_UNSUPPORTED',
        `Agent "${role}" in task "${taskId}" of workflow "${workflowId}" runs on a worker, where ctx.${call} is not available (it needs the run's live actor in its owner process); run this role in the owner's runtime, or hand values over with the task's output and ctx.updateShared.`,
        { ...where, call },
      ),
    );
  const locks = new TaskLocks(port.messaging, workflowId, role, taskId);
  const { send, request } = messageContext(port.messaging, role, workflowId);
  const invalid = (path: string, reason: string) =>
    new TroupeError('INVALID_VALUE', `Agent "${role}" in task "${taskId}": ${path}: ${reason}.`, {
      ...where,
      path,
      issues: [`${path}: ${reason}`],
    });
  const ctx: AgentRunContext = {
    signal: port.signal,
    idempotencyKey: `${workflowId}:${taskId}`,
    attempt: claim.attempt,
    dependencies: claim.payload.dependencies,
    shared: Object.freeze({ ...claim.payload.shared }),
    messages: claim.payload.messages as readonly AgentMessage[],
    // Live events need the owner's event bus, which a remote worker does not reach.
    emit: () => undefined,
    progress: (fraction, message) => {
      if (typeof fraction !== 'number' || !Number.isFinite(fraction)) {
        throw invalid('progress(fraction)', 'must be a finite number between 0 and 1');
      }
      if (message !== undefined && typeof message !== 'string') {
        throw invalid('progress(message)', 'must be a string');
      }
      port.progress(Math.min(1, Math.max(0, fraction)), message);
    },
    updateShared: (updates) => {
      if (typeof updates !== 'object' || updates === null || Array.isArray(updates)) {
        throw invalid('updateShared(updates)', 'must be an object');
      }
      // A JSON copy: the agent may change its object after the call.
      sharedUpdates = { ...sharedUpdates, ...JSON.parse(JSON.stringify(updates)) };
    },
    addTasks: (tasks) => {
      if (!Array.isArray(tasks)) throw invalid('addTasks(tasks)', 'must be an array');
      addedTasks = [...(addedTasks ?? []), ...JSON.parse(JSON.stringify(tasks))];
    },
    send,
    request,
    lock: (key, options) => locks.take(key, options),
    waitFor: () => unsupported('waitFor'),
    sleep: () => unsupported('sleep'),
    sleepUntil: () => unsupported('sleepUntil'),
    startChild: () => unsupported('startChild'),
    step: async (_name, fn) => fn(),
  };
  return {
    ctx,
    effects: () => ({
      ...(sharedUpdates ? { sharedUpdates } : {}),
      ...(addedTasks ? { addedTasks } : {}),
    }),
    end: () => locks.releaseAll(),
  };
}
