/**
 * The agent side of the communicator, run by the agent's executor (the
 * side-effecting half of an agent): the `onMessage` hook for each delivered
 * message, automatic answers to requests, and the `send`/`request` helpers of
 * `run`'s and `onMessage`'s contexts.
 *
 * A request always gets an answer: the hook's return value as a `response`,
 * or an `error` message when the hook throws, returns something that is not
 * JSON, or the agent has no hook at all. So a requester waits for its timeout
 * only when the recipient really hangs.
 */
import { serializeError, TroupeError } from '../../errors.js';
import type {
  AgentMessage,
  AgentMessageInput,
  OutgoingMessage,
  OutgoingRequest,
  RequestMessageInput,
  RequestOptions,
} from '../../schemas/agent-message.js';
import type { AgentDefinition, AgentMessageContext } from './define-agent.js';

export type ReplyOutcome = { ok: true; payload: unknown } | { ok: false; error: unknown };

/** What an executor needs from the communicator (the runtime passes `rt.communicator.agentPort`). */
export interface AgentMessaging {
  /** Messages of a workflow delivered to `role` so far, oldest first (async only while the workflow loads). */
  inbox(
    role: string,
    workflowId: string,
  ): readonly AgentMessage[] | Promise<readonly AgentMessage[]>;
  send(message: AgentMessageInput): Promise<AgentMessage>;
  request(message: RequestMessageInput, options?: RequestOptions): Promise<AgentMessage>;
  /** Takes a workflow's lock for `owner` (see `Communicator.acquireLock`). */
  acquireLock(
    workflowId: string,
    key: string,
    owner: string,
    options: { ttlMs: number; timeout: number },
  ): Promise<unknown>;
  /** Releases a lock `owner` holds. */
  releaseLock(workflowId: string, key: string, owner: string): Promise<void>;
  /** Answers `request` from `from`: a `response`, or an `error` message. */
  reply(request: AgentMessage, from: string, outcome: ReplyOutcome): Promise<AgentMessage>;
  /** Errors nobody awaits (a throwing hook for a notification) go to the runtime's `onError`. */
  reportError(error: unknown, context: string): void;
}

/** Runs `agent.onMessage` for each delivered message, in order, and answers requests. */
export function deliverMessages(
  agent: AgentDefinition | undefined,
  role: string,
  messages: readonly AgentMessage[],
  port: AgentMessaging,
): void {
  // Consecutive messages of one workflow share one hook context.
  let ctx: AgentMessageContext | undefined;
  for (const message of messages) {
    if (ctx === undefined || ctx.workflowId !== message.workflowId) {
      ctx = messageContext(port, role, message.workflowId);
    }
    deliverMessage(agent, role, message, port, ctx);
  }
}

function deliverMessage(
  agent: AgentDefinition | undefined,
  role: string,
  message: AgentMessage,
  port: AgentMessaging,
  ctx: AgentMessageContext,
): void {
  const isRequest = message.type === 'request';
  const hook = agent?.onMessage;
  if (!hook) {
    // Not lost: it is in the history and in the inbox that `run` sees as ctx.messages.
    if (isRequest) {
      const error = new TroupeError(
        'REQUEST_FAILED',
        `Agent "${role}" has no onMessage hook, so it cannot answer request "${message.id}". Give its defineAgent() an onMessage.`,
        { agent: role },
      );
      answer(port, role, message, { ok: false, error });
    }
    return;
  }
  const failed = (error: unknown) => {
    if (isRequest) answer(port, role, message, { ok: false, error });
    else port.reportError(error, `agent "${role}" onMessage (message "${message.id}")`);
  };
  let result: unknown;
  try {
    result = hook(message, ctx);
  } catch (error) {
    failed(error);
    return;
  }
  // Synchronous hooks cost no promise: most notifications are handled this way.
  if (isThenable(result)) {
    result.then(
      (payload) => isRequest && answer(port, role, message, { ok: true, payload }),
      failed,
    );
  } else if (isRequest) {
    answer(port, role, message, { ok: true, payload: result });
  }
}

/** `send` and `request` bound to an agent's role and (by default) a workflow. */
export function messageContext(
  port: AgentMessaging | undefined,
  role: string,
  workflowId: string | undefined,
): AgentMessageContext {
  const fill = <T extends { workflowId?: string }>(message: T) => ({
    ...message,
    ...(workflowId !== undefined && message.workflowId === undefined ? { workflowId } : {}),
    from: role,
  });
  return {
    role,
    workflowId,
    send: (message: OutgoingMessage) => (port ? port.send(fill(message)) : noCommunicator(role)),
    request: (message: OutgoingRequest, options?: RequestOptions) =>
      port ? port.request(fill(message), options) : noCommunicator(role),
  };
}

function answer(
  port: AgentMessaging,
  role: string,
  request: AgentMessage,
  outcome: ReplyOutcome,
): void {
  port.reply(request, role, outcome).catch((error: unknown) => {
    // A return value that is not JSON still owes the requester an answer.
    if (outcome.ok && error instanceof TroupeError && error.code === 'INVALID_MESSAGE') {
      answer(port, role, request, { ok: false, error });
      return;
    }
    port.reportError(error, `agent "${role}" answering request "${request.id}"`);
  });
}

function noCommunicator(role: string): Promise<never> {
  return Promise.reject(
    new TroupeError(
      'CONFIG_ERROR',
      `Agent "${role}" cannot send messages: its executor was created without a communicator (pass \`messaging\` to createAgentExecutor).`,
      { agent: role },
    ),
  );
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

/** The payload of an `error` answer: what went wrong, without the stack. */
export function errorPayload(error: unknown): { name: string; message: string; code?: string } {
  const { name, message, code } = serializeError(error);
  return code === undefined ? { name, message } : { name, message, code };
}
