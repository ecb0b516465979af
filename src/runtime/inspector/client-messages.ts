/**
 * Parsing of what clients send. Anything that is not a known request (bad
 * JSON, wrong fields, too big) comes back as a reason, never as an exception:
 * a bad frame is counted and answered, and the connection and the runtime
 * carry on.
 */
import { z } from 'zod';
import type { ClientMessage } from './protocol.js';

const id = z.number().int().nonnegative().optional();
const workflowId = z.string().min(1).max(500);

const clientMessageSchema = z.discriminatedUnion('type', [
  z.strictObject({
    id,
    type: z.literal('run.watch'),
    workflowId: workflowId.nullable(),
    compact: z.boolean().optional(),
  }),
  z.strictObject({
    id,
    type: z.literal('events.watch'),
    perBatch: z.number().int().nonnegative().optional(),
  }),
  z.strictObject({ id, type: z.literal('definition.get'), logicId: z.number().int().positive() }),
  z.strictObject({ id, type: z.literal('stored.list') }),
  z.strictObject({ id, type: z.literal('stored.get'), workflowId }),
  z.strictObject({
    id,
    type: z.literal('checkpoint.get'),
    workflowId,
    seq: z.number().int().nonnegative(),
  }),
  z.strictObject({
    id,
    type: z.literal('control'),
    action: z.enum(['pause', 'resume', 'cancel']),
    workflowId,
  }),
  z.strictObject({
    id,
    type: z.literal('task.get'),
    workflowId,
    taskId: z.string().min(1).max(500),
    seq: z.number().int().nonnegative().optional(),
  }),
  z.strictObject({ id, type: z.literal('fork'), workflowId, seq: z.number().int().nonnegative() }),
  z.strictObject({ id, type: z.literal('replay'), workflowId }),
  // The payload is checked by engine.signal (plain JSON, the wait's schema).
  z.strictObject({
    id,
    type: z.literal('signal'),
    workflowId,
    name: z.string().min(1).max(500),
    payload: z.unknown(),
  }),
]);

export type ParsedClientMessage =
  | { ok: true; message: ClientMessage }
  | { ok: false; reason: 'oversized' | 'malformed'; detail: string; id?: number };

export function parseClientMessage(data: string, maxBytes: number): ParsedClientMessage {
  // Length in UTF-16 units bounds the byte length from below; check bytes only when close.
  if (data.length > maxBytes || Buffer.byteLength(data) > maxBytes) {
    return { ok: false, reason: 'oversized', detail: `frame over ${maxBytes} bytes` };
  }
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return { ok: false, reason: 'malformed', detail: 'not JSON' };
  }
  const parsed = clientMessageSchema.safeParse(json);
  if (parsed.success) return { ok: true, message: parsed.data as ClientMessage };
  const requestId = (json as { id?: unknown } | null)?.id;
  const issue = parsed.error.issues[0];
  return {
    ok: false,
    reason: 'malformed',
    detail: issue ? `${issue.path.join('.') || 'frame'}: ${issue.message}` : 'unknown request',
    ...(typeof requestId === 'number' ? { id: requestId } : {}),
  };
}
