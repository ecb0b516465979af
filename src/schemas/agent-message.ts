/**
 * The message agents exchange through the communicator, validated with zod at
 * the facade so that everything inside the actor system is known to be well
 * formed, plain JSON and frozen (see `json-value.ts`).
 */
import { z } from 'zod';
import { TroupeError } from '../errors.js';
import { formatJsonIssue, inspectJson, type JsonValue } from './json-value.js';
import { formatZodIssues } from './validate.js';
import { checkValue, type SizeLimit } from './value-check.js';

/** The kinds of message, as in the seed's `MessageType`. */
export const MESSAGE_TYPES = [
  'task_assignment',
  'result_handoff',
  'request',
  'response',
  'notification',
  'error',
] as const;
/** Kinds of agent messages: task_assignment, result_handoff, request, response, notification, error. */
export type MessageType = (typeof MESSAGE_TYPES)[number];

/** A validated message: every field checked, the payload a frozen JSON value. */
export interface AgentMessage {
  readonly id: string;
  /** The sender: an agent role or any other party (`user`, `orchestrator`, ...). */
  readonly from: string;
  /** An agent role (or agent id `agent:<role>`) for direct messages; `*` for broadcasts. */
  readonly to: string;
  readonly type: MessageType;
  readonly payload: JsonValue;
  /** Ties a `response` (or `error`) to the `request` it answers. */
  readonly correlationId?: string;
  /** Epoch milliseconds, from the runtime's clock. */
  readonly timestamp: number;
  readonly workflowId?: string;
  /**
   * Set on a message from another process that reaches its recipient again
   * (its process died after taking it, before delivering it): at-least-once
   * delivery. The id is the original's. See docs/communicator-postgres.md.
   */
  readonly redelivered?: true;
  /** With `redelivered`: how many times a process took the message, this one included. */
  readonly deliveries?: number;
}

/** What callers pass to `sendMessage`; the communicator fills in the rest. */
export interface AgentMessageInput {
  /** Unique message id. @default a generated id */
  id?: string;
  from: string;
  to: string;
  type: MessageType;
  /** Any JSON value; it is copied and frozen on the way in. @default {} */
  payload?: unknown;
  /** Required on `response` messages: the id (or correlation id) of the request answered. */
  correlationId?: string;
  /** Epoch milliseconds. @default the runtime clock's current time */
  timestamp?: number;
  /** The workflow the message belongs to; it is stored and restored with that workflow. */
  workflowId?: string;
}

const LONE_SURROGATE = /\p{Cs}/u;

const text = z.string().min(1, 'must not be empty').max(1_000, 'must be at most 1000 characters');

/** Same rule as the store's key segments (`assertId`): a workflow id becomes part of a key. */
export const workflowIdSchema = text.refine(
  (id) => !id.includes('/') && !LONE_SURROGATE.test(id),
  "must not contain '/' or unpaired UTF-16 surrogates",
);

const inputSchema = z.strictObject({
  id: text.optional(),
  from: text,
  to: text,
  type: z.enum(MESSAGE_TYPES),
  payload: z.unknown().optional(),
  correlationId: text.optional(),
  timestamp: z.number().finite().nonnegative().optional(),
  workflowId: workflowIdSchema.optional(),
});

/** A stored message as read back from the store: every field must be there. */
export const storedAgentMessageSchema = inputSchema.extend({
  id: text,
  timestamp: z.number().finite().nonnegative(),
  payload: z.unknown(),
  redelivered: z.literal(true).optional(),
  deliveries: z.number().int().min(2).optional(),
});

const EMPTY_PAYLOAD: JsonValue = Object.freeze({});

/** What {@link parseAgentMessage} fills in. */
export interface MessageDefaults {
  now: number;
  createId: () => string;
  /** The size limit of the payload. @default none */
  limit?: SizeLimit;
}

/**
 * Validates a message and returns it complete and frozen.
 * @param api the public method being called, named in the error.
 * @throws TroupeError `INVALID_MESSAGE` listing every bad field; `INVALID_VALUE`
 * (with the path) when the payload is not plain JSON; `VALUE_TOO_LARGE` over the limit.
 */
export function parseAgentMessage(
  input: unknown,
  api: string,
  defaults: MessageDefaults,
): AgentMessage {
  const parsed = inputSchema.safeParse(input);
  if (!parsed.success) throw invalidMessage(api, input, formatZodIssues(parsed.error, 'message'));
  const data = parsed.data;
  if (data.type === 'response' && data.correlationId === undefined) {
    throw invalidMessage(api, input, [
      'message.correlationId: a response must name the request it answers',
    ]);
  }
  const payload =
    data.payload === undefined
      ? EMPTY_PAYLOAD
      : checkValue(data.payload, {
          subject: `${api}: message${data.id === undefined ? '' : ` "${data.id}"`} from "${data.from}"`,
          root: 'message.payload',
          freeze: true,
          ...(defaults.limit ? { limit: defaults.limit } : {}),
          ...(data.workflowId === undefined ? {} : { context: { workflowId: data.workflowId } }),
        });
  const message: {
    -readonly [K in keyof AgentMessage]: AgentMessage[K];
  } = {
    id: data.id ?? defaults.createId(),
    from: data.from,
    to: data.to,
    type: data.type,
    payload,
    timestamp: data.timestamp ?? defaults.now,
  };
  // Absent rather than `undefined`, so the stored JSON and the live object agree.
  if (data.correlationId !== undefined) message.correlationId = data.correlationId;
  if (data.workflowId !== undefined) message.workflowId = data.workflowId;
  return Object.freeze(message);
}

/**
 * Reads a message back from the store.
 * @throws TroupeError `STORE_CORRUPT` naming the key when it is not a valid message.
 */
export function parseStoredMessage(value: unknown, key: string): AgentMessage {
  const parsed = storedAgentMessageSchema.safeParse(value);
  const issues = parsed.success ? [] : formatZodIssues(parsed.error, 'message');
  const payload = parsed.success
    ? inspectJson(parsed.data.payload, 'message.payload', { freeze: true })
    : undefined;
  if (payload && !payload.ok) issues.push(formatJsonIssue(payload.issue));
  if (!parsed.success || !payload?.ok) {
    throw new TroupeError(
      'STORE_CORRUPT',
      `Cannot read message ${JSON.stringify(key)} in store collection 'messages': ${issues.join('; ')}. Other records are unaffected; delete this record or restore it from a backup.`,
      { collection: 'messages', key, issues },
    );
  }
  return Object.freeze({ ...parsed.data, payload: payload.value });
}

function invalidMessage(api: string, input: unknown, issues: string[]): TroupeError {
  const id =
    typeof input === 'object' && input !== null ? (input as { id?: unknown }).id : undefined;
  const subject = typeof id === 'string' ? `message "${id}"` : 'message';
  return new TroupeError(
    'INVALID_MESSAGE',
    `${api}: invalid ${subject}:\n  - ${issues.join('\n  - ')}`,
    { issues },
  );
}

/** What `request()` takes: a message whose type, if given, is `request`. */
export type RequestMessageInput = Omit<AgentMessageInput, 'type'> & { type?: 'request' };

/** A message an agent sends: `from` is the agent's role. */
export type OutgoingMessage = Omit<AgentMessageInput, 'from'>;

/** A request an agent sends: `from` is the agent's role. */
export type OutgoingRequest = Omit<RequestMessageInput, 'from'>;

/** Options of `request()`. */
export interface RequestOptions {
  /** Milliseconds to wait for the response; `Infinity` waits as long as it takes. @default 30_000 */
  timeout?: number;
}
