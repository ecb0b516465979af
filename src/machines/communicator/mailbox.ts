/**
 * Recent messages per scope, bounded in memory. The store keeps every
 * message; this is what agents' `ctx.messages` and the inspector read. The
 * array is trimmed in chunks (once it holds twice the limit) so that a
 * message costs O(1) amortised instead of a shift of the whole array.
 */
import type { AgentMessage } from '../../schemas/agent-message.js';
import { NO_WORKFLOW } from '../../store/keys.js';
import type { Outbox } from './effects.js';
import type { CommunicatorContext, Mailbox, StoredMessage } from './types.js';

/**
 * Numbers per millisecond with `clockSequence`: room for 1,000 messages a
 * millisecond before the numbers run ahead of the clock, and `timestamp *
 * 1000` stays a safe integer (16 digits, the width of a key's number) until
 * the year 2255.
 */
const CLOCK_SEQUENCE_PER_MS = 1_000;

/** The scope a message is stored under: its workflow, or `_`. */
export function scopeOf(message: AgentMessage): string {
  return message.workflowId ?? NO_WORKFLOW;
}

export function ensureMailbox(context: CommunicatorContext, scope: string): Mailbox {
  let box = context.mailboxes[scope];
  if (!box) {
    box = { seq: 0, recent: [] };
    context.mailboxes[scope] = box;
  }
  return box;
}

/** Gives the message the next sequence number of its scope, keeps it and asks for it to be stored. */
export function recordMessage(
  context: CommunicatorContext,
  message: AgentMessage,
  recipients: string[],
  out: Outbox,
): StoredMessage {
  const scope = scopeOf(message);
  const box = ensureMailbox(context, scope);
  box.seq = context.settings.clockSequence
    ? Math.max(box.seq + 1, Math.floor(message.timestamp) * CLOCK_SEQUENCE_PER_MS)
    : box.seq + 1;
  const stored: StoredMessage = { seq: box.seq, message, recipients };
  box.recent.push(stored);
  const limit = context.settings.messageHistoryLimit;
  if (box.recent.length >= 2 * limit) box.recent.splice(0, box.recent.length - limit);
  context.stats.messages++;
  out.recorded(stored);
  return stored;
}

/** The last `messageHistoryLimit` messages of a scope, oldest first. */
export function recentMessages(context: CommunicatorContext, scope: string): StoredMessage[] {
  const recent = context.mailboxes[scope]?.recent ?? [];
  return recent.slice(Math.max(0, recent.length - context.settings.messageHistoryLimit));
}

/** Messages of a scope delivered to `role`, oldest first. */
export function inboxOf(context: CommunicatorContext, scope: string, role: string): AgentMessage[] {
  const inbox: AgentMessage[] = [];
  for (const stored of recentMessages(context, scope)) {
    if (stored.recipients.includes(role)) inbox.push(stored.message);
  }
  return inbox;
}
