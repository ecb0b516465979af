/**
 * Message routing: direct messages, broadcasts, request-response and result
 * handoffs. A message is recorded (sequence number, bounded memory, store)
 * only once its recipients are known to exist; otherwise the sender gets a
 * failure naming the recipient. Nothing is dropped silently.
 */
import type { AgentMessage } from '../../schemas/agent-message.js';
import { type AgentDirectory, type Outbox, recipientRole } from './effects.js';
import { recordMessage } from './mailbox.js';
import { applyUpdate, ensureSlot, handoffKey } from './shared-context.js';
import type { CommunicatorContext } from './types.js';

export const requestTimer = (correlationId: string) => `request:${correlationId}`;

function deliverAll(
  context: CommunicatorContext,
  roles: string[],
  message: AgentMessage,
  out: Outbox,
): void {
  for (const role of roles) out.deliver(role, message);
  context.stats.deliveries += roles.length;
}

/**
 * A direct message. A `response` or `error` whose correlation id names a
 * pending request settles that request instead of being delivered: the
 * requester is waiting for it, not its `onMessage` hook.
 */
export function sendDirect(
  context: CommunicatorContext,
  op: number,
  message: AgentMessage,
  agents: AgentDirectory,
  out: Outbox,
): void {
  if (settleRequest(context, message, out)) {
    out.sent(op);
    return;
  }
  const role = recipientRole(message.to);
  if (!agents.has(role)) {
    out.failed(op, { reason: 'unknown_recipient', to: message.to, known: agents.roles() });
    return;
  }
  const recipients = [role];
  recordMessage(context, message, recipients, out);
  out.deliver(role, message);
  context.stats.deliveries++;
  out.sent(op);
}

/** To every agent but the sender, or to those in the role `groups`. */
export function broadcast(
  context: CommunicatorContext,
  op: number,
  message: AgentMessage,
  groups: string[] | null,
  agents: AgentDirectory,
  out: Outbox,
): void {
  const recipients = agents
    .roles()
    .filter(
      (role) => role !== message.from && (groups === null || groups.some((g) => inGroup(role, g))),
    );
  if (recipients.length === 0) {
    out.failed(op, { reason: 'no_recipients', groups, from: message.from, known: agents.roles() });
    return;
  }
  recordMessage(context, message, recipients, out);
  deliverAll(context, recipients, message, out);
  out.done(op, { kind: 'message', message, recipients });
}

/**
 * A message from another process for local `roles` (a direct message's
 * recipient, or the roles a broadcast reached here): recorded and delivered
 * to those still registered.
 */
export function receive(
  context: CommunicatorContext,
  op: number,
  message: AgentMessage,
  roles: string[],
  agents: AgentDirectory,
  out: Outbox,
): void {
  const recipients = roles.filter((role) => agents.has(role));
  if (recipients.length === 0) {
    out.failed(op, { reason: 'unknown_recipient', to: roles.join(', '), known: agents.roles() });
    return;
  }
  recordMessage(context, message, recipients, out);
  deliverAll(context, recipients, message, out);
  out.done(op, { kind: 'message', message, recipients });
}

/** Role `g` belongs to group `g`, and so do `g:1`, `g:eu`, ... */
function inGroup(role: string, group: string): boolean {
  return role === group || (role.startsWith(group) && role[group.length] === ':');
}

/** Delivers a request and waits for its response until the deadline. */
export function sendRequest(
  context: CommunicatorContext,
  op: number,
  message: AgentMessage,
  timeoutMs: number | null,
  now: number,
  agents: AgentDirectory,
  out: Outbox,
): void {
  const correlationId = message.correlationId ?? message.id;
  if (context.requests[correlationId]) {
    out.failed(op, { reason: 'duplicate_request', correlationId });
    return;
  }
  const role = recipientRole(message.to);
  if (!agents.has(role)) {
    out.failed(op, { reason: 'unknown_recipient', to: message.to, known: agents.roles() });
    return;
  }
  const deadline = timeoutMs === null ? null : now + timeoutMs;
  context.requests[correlationId] = {
    op,
    requestId: message.id,
    correlationId,
    from: message.from,
    to: message.to,
    timeoutMs,
    deadline,
  };
  recordMessage(context, message, [role], out);
  if (deadline !== null) {
    out.arm(
      requestTimer(correlationId),
      { type: 'request.expire', correlationId, now: deadline },
      timeoutMs ?? 0,
    );
  }
  deliverAll(context, [role], message, out);
}

/** Settles the pending request a response answers; false if it answers none. */
function settleRequest(context: CommunicatorContext, message: AgentMessage, out: Outbox): boolean {
  if (message.type !== 'response' && message.type !== 'error') return false;
  const id = message.correlationId;
  const pending = id === undefined ? undefined : context.requests[id];
  if (id === undefined || !pending) return false;
  delete context.requests[id];
  out.cancel(requestTimer(id));
  recordMessage(context, message, [], out);
  if (message.type === 'response') out.done(pending.op, { kind: 'response', response: message });
  else
    out.failed(pending.op, {
      reason: 'request_failed',
      requestId: pending.requestId,
      to: pending.to,
      response: message,
    });
  return true;
}

export function expireRequest(
  context: CommunicatorContext,
  correlationId: string,
  out: Outbox,
): void {
  const pending = context.requests[correlationId];
  if (!pending) return;
  delete context.requests[correlationId];
  out.failed(pending.op, {
    reason: 'request_timeout',
    requestId: pending.requestId,
    to: pending.to,
    timeoutMs: pending.timeoutMs ?? 0,
  });
}

/**
 * Delivers a result handoff and records it in the workflow's shared context
 * under `handoff:<from>-><to>`, in the same step: the receiving agent's next
 * task finds it in `ctx.messages`, and anyone reading the shared context sees it.
 */
export function handOff(
  context: CommunicatorContext,
  op: number,
  message: AgentMessage,
  now: number,
  agents: AgentDirectory,
  out: Outbox,
): void {
  const role = recipientRole(message.to);
  const workflowId = message.workflowId;
  if (!agents.has(role) || workflowId === undefined) {
    out.failed(op, { reason: 'unknown_recipient', to: message.to, known: agents.roles() });
    return;
  }
  recordMessage(context, message, [role], out);
  const slot = ensureSlot(context, workflowId);
  const entry = Object.freeze({
    messageId: message.id,
    from: message.from,
    to: role,
    data: message.payload,
    at: now,
  });
  applyUpdate(
    slot,
    message.from,
    { [handoffKey(message.from, role)]: entry },
    now,
    context.settings.contextHistoryLimit,
  );
  context.stats.updates++;
  out.changed(workflowId);
  deliverAll(context, [role], message, out);
  out.done(op, { kind: 'message', message, recipients: [role] });
}
