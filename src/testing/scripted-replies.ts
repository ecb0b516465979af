/**
 * What the OpenAI test server answers: scripted replies and injectable
 * faults, as plain data, built with {@link reply} and {@link fault}.
 */

/** A tool call the scripted model makes. */
export interface ScriptedToolCall {
  name: string;
  /** An object (sent as JSON) or a raw argument string (to test bad JSON). */
  arguments: Record<string, unknown> | string;
  /** @default `call_<n>` */
  id?: string;
}

/** Token counts to report; what is left out is estimated from the text (4 characters a token). */
export interface ScriptedUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
}

/** A normal answer of the model. */
export interface MessageReply {
  type: 'message';
  content?: string | null;
  toolCalls?: ScriptedToolCall[];
  /** Token counts to report; `false`: report none, as some local servers do (no `usage`, streamed or not). */
  usage?: ScriptedUsage | false;
  /** @default 'tool_calls' when there are tool calls, else 'stop' */
  finishReason?: 'stop' | 'length' | 'tool_calls' | 'content_filter';
  /** Characters per content chunk when streaming. @default 8 */
  chunkSize?: number;
  /** Streaming only: send this many chunks, then go silent without ending the response. */
  stallAfterChunks?: number;
  /**
   * Streaming only: how tool-call deltas are numbered. `openai`: an `index`
   * per call; `none`: no `index` at all, only ids (some llama.cpp and vLLM
   * builds); `zero`: every call says `index: 0` (parallel calls of some
   * local servers). @default 'openai'
   */
  toolCallIndex?: 'openai' | 'none' | 'zero';
}

/** An HTTP error status with an OpenAI-style error body. */
export interface ErrorReply {
  type: 'error';
  status: number;
  message?: string;
  headers?: Record<string, string>;
}

/** Never answer; the request stays open until the client gives up or the server closes. */
export interface HangReply {
  type: 'hang';
}

/** A 200 whose body is not valid JSON. */
export interface MalformedReply {
  type: 'malformed';
  body?: string;
}

/** What the test server answers one chat request with: a message, an HTTP error, nothing (hang) or malformed JSON. */
export type ChatReply = MessageReply | ErrorReply | HangReply | MalformedReply;

/** Answers of the embeddings endpoint: vectors are computed from the text unless a fault is scripted. */
export type EmbeddingReply = { type: 'embeddings'; dimensions?: number } | ErrorReply | HangReply;

/** The parts of a chat request a scripted function usually looks at. */
export interface ChatRequestBody {
  model?: string;
  messages?: Array<{
    role: string;
    content?: unknown;
    tool_call_id?: string;
    tool_calls?: unknown;
  }>;
  tools?: Array<{ type: string; function?: { name: string } }>;
  stream?: boolean;
  stream_options?: { include_usage?: boolean };
  response_format?: { type: string; json_schema?: { name?: string; schema?: unknown } };
  [key: string]: unknown;
}

/** Scripted answers: `reply.text`, `reply.json`, `reply.toolCall`, `reply.toolCalls`. */
export const reply = {
  /** The model answers with text. */
  text(content: string, options: Omit<MessageReply, 'type' | 'content'> = {}): MessageReply {
    return { type: 'message', content, ...options };
  },
  /** The model answers with JSON text (what structured output produces). */
  json(value: unknown, options: Omit<MessageReply, 'type' | 'content'> = {}): MessageReply {
    return { type: 'message', content: JSON.stringify(value), ...options };
  },
  /** The model calls one tool. */
  toolCall(
    name: string,
    args: ScriptedToolCall['arguments'],
    options: Omit<MessageReply, 'type' | 'toolCalls'> = {},
  ): MessageReply {
    return { type: 'message', content: null, toolCalls: [{ name, arguments: args }], ...options };
  },
  /** The model calls several tools in one answer. */
  toolCalls(
    calls: ScriptedToolCall[],
    options: Omit<MessageReply, 'type' | 'toolCalls'> = {},
  ): MessageReply {
    return { type: 'message', content: null, toolCalls: calls, ...options };
  },
};

/** Scripted failures: `fault.rateLimit`, `fault.serverError`, `fault.hang`, `fault.stall`, malformed answers. */
export const fault = {
  /** 429 with `retry-after-ms` (and a whole-second `retry-after`), which the openai client honours. */
  rateLimit(options: { retryAfterMs?: number } = {}): ErrorReply {
    const ms = options.retryAfterMs ?? 10;
    return {
      type: 'error',
      status: 429,
      message: 'Rate limit reached (scripted)',
      headers: { 'retry-after-ms': String(ms), 'retry-after': String(Math.ceil(ms / 1000)) },
    };
  },
  /** A server error (500 by default); `retryAfterMs` keeps the client's backoff short in tests. */
  serverError(options: { status?: number; retryAfterMs?: number } = {}): ErrorReply {
    return {
      type: 'error',
      status: options.status ?? 500,
      message: 'Internal server error (scripted)',
      ...(options.retryAfterMs === undefined
        ? {}
        : { headers: { 'retry-after-ms': String(options.retryAfterMs) } }),
    };
  },
  /** Accepts the request and never answers. */
  hang(): HangReply {
    return { type: 'hang' };
  },
  /** A streamed answer that stops after some chunks and never finishes. */
  stall(content: string, afterChunks = 1): MessageReply {
    return { type: 'message', content, stallAfterChunks: afterChunks };
  },
  /** A 200 with a body that is not valid JSON. */
  malformed(body = '{"id": "chatcmpl-broken", "choices": [{"message": '): MalformedReply {
    return { type: 'malformed', body };
  },
  /**
   * A plan that fails the planner's checks: `shape` misses required fields,
   * `role` names an agent that is not registered, `cycle` has tasks that
   * depend on each other (assigned to `role`, which should be registered).
   */
  invalidPlan(kind: 'shape' | 'role' | 'cycle' = 'shape', role = 'backend'): MessageReply {
    const plans = {
      shape: { tasks: [{ id: 'only-an-id' }] },
      role: {
        rationale: 'uses an agent that does not exist',
        tasks: [{ id: 'x', agent: 'astronaut', description: 'fly', dependsOn: [] }],
      },
      cycle: {
        rationale: 'two tasks wait for each other',
        tasks: [
          { id: 'a', agent: role, description: 'a', dependsOn: ['b'] },
          { id: 'b', agent: role, description: 'b', dependsOn: ['a'] },
        ],
      },
    };
    return { type: 'message', content: JSON.stringify(plans[kind]) };
  },
};
