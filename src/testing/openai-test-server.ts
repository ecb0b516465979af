import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  answerParts,
  base64Floats,
  completionChunks,
  completionJson,
  embeddingOf,
} from './completion-bodies.js';
import type {
  ChatReply,
  ChatRequestBody,
  EmbeddingReply,
  ErrorReply,
  MessageReply,
} from './scripted-replies.js';

/** The endpoints the test server tells apart when counting requests. */
export type Endpoint = 'chat' | 'embeddings' | 'models' | 'other';

/** One request the server received. */
export interface RecordedRequest {
  /** 1-based, over all endpoints. */
  index: number;
  endpoint: Endpoint;
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  /** The parsed JSON body, or undefined. */
  body: unknown;
  /** True once the client closed the connection before the answer was complete. */
  aborted: boolean;
  /** Epoch ms the request arrived (for checking the client's backoff). */
  at: number;
}

/** What a scripted function sees. */
export interface ChatCall {
  body: ChatRequestBody;
  /** 1-based count of chat requests, this one included. */
  callNumber: number;
  headers: IncomingHttpHeaders;
}

/** One step of the chat script: an answer, or a function of the request that returns one. */
export type ChatStep = ChatReply | ((call: ChatCall) => ChatReply | Promise<ChatReply>);

/** Options of {@link startOpenAiTestServer}. */
export interface OpenAiTestServerOptions {
  /** Chat answers, used one per request in order. @default [] */
  chat?: ChatStep[];
  /** Embeddings answers in order; once used up, vectors are computed from the text. @default [] */
  embeddings?: EmbeddingReply[];
  /** Answers chat requests once the queue is empty. @default none: an empty queue answers 500 (not retried) naming the request */
  onChat?: (call: ChatCall) => ChatReply | Promise<ChatReply>;
  /** Listed by GET /v1/models. @default ['test-model', 'test-embedding'] */
  models?: string[];
  /** Length of computed embedding vectors. @default 8 */
  embeddingDimensions?: number;
  /** When set, requests without `Authorization: Bearer <apiKey>` get 401. @default any key accepted */
  apiKey?: string;
  /**
   * Answer chat requests for a model not in `models` with 404 "model not
   * found", as Ollama and vLLM do (llama.cpp's server answers for any name).
   * @default false
   */
  rejectUnknownModels?: boolean;
}

/** A running OpenAI-compatible test server (`startOpenAiTestServer`). */
export interface OpenAiTestServer {
  /** Base URL for the openai client, ending in `/v1`. */
  readonly url: string;
  /** Every request so far, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Requests so far to one endpoint (default: chat completions). */
  calls(endpoint?: Endpoint): number;
  /** Requests the client abandoned before their answer was complete. */
  aborted(): number;
  /** Appends chat answers to the queue. */
  enqueue(...steps: ChatStep[]): this;
  /** Appends embeddings answers (usually faults) to their queue. */
  enqueueEmbeddings(...steps: EmbeddingReply[]): this;
  /** Chat answers still queued. */
  pending(): number;
  /** Resolves once `count` requests reached `endpoint`; rejects after `timeoutMs`. */
  waitForCalls(count: number, endpoint?: Endpoint, timeoutMs?: number): Promise<void>;
  /** Resolves once `count` requests were abandoned by the client; rejects after `timeoutMs`. */
  waitForAborted(count: number, timeoutMs?: number): Promise<void>;
  /** Closes every connection (hung ones too) and stops listening. */
  close(): Promise<void>;
}

/**
 * Starts an HTTP server on 127.0.0.1 (a free port) that speaks enough of the
 * OpenAI API for troupe's LLM layer: POST /v1/chat/completions (tool calls,
 * `stream: true` over SSE with usage, `response_format`), POST /v1/embeddings
 * (float or base64) and GET /v1/models. Answers come from a script, so tests
 * are deterministic and need no network; faults (429, 500, hangs, malformed
 * JSON, invalid plans) are scripted the same way (see `fault`).
 *
 * @example
 * ```ts
 * const server = await startOpenAiTestServer({ chat: [reply.text('hello')] });
 * const openai = new OpenAI({ baseURL: server.url, apiKey: 'test' });
 * ```
 */
export async function startOpenAiTestServer(
  options: OpenAiTestServerOptions = {},
): Promise<OpenAiTestServer> {
  const chatQueue: ChatStep[] = [...(options.chat ?? [])];
  const embeddingQueue: EmbeddingReply[] = [...(options.embeddings ?? [])];
  const models = options.models ?? ['test-model', 'test-embedding'];
  const dimensions = options.embeddingDimensions ?? 8;
  const requests: RecordedRequest[] = [];
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const check of [...waiters]) check();
  };
  const count = (endpoint: Endpoint) => requests.filter((r) => r.endpoint === endpoint).length;

  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const path = (req.url ?? '/').split('?')[0]!;
    const record: RecordedRequest = {
      index: requests.length + 1,
      endpoint: endpointOf(req.method ?? 'GET', path),
      method: req.method ?? 'GET',
      path,
      headers: req.headers,
      body: parseJson(text),
      aborted: false,
      at: Date.now(),
    };
    requests.push(record);
    res.on('close', () => {
      if (res.writableFinished) return;
      record.aborted = true;
      notify();
    });
    notify();
    try {
      if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) {
        sendError(res, { type: 'error', status: 401, message: 'Incorrect API key (test server)' });
        return;
      }
      switch (record.endpoint) {
        case 'chat':
          await answerChat(res, record, count('chat'));
          return;
        case 'embeddings':
          answerEmbeddings(res, record);
          return;
        case 'models':
          sendJson(res, 200, {
            object: 'list',
            data: models.map((id) => ({
              id,
              object: 'model',
              created: 0,
              owned_by: 'troupe-test',
            })),
          });
          return;
        default:
          sendError(res, {
            type: 'error',
            status: 404,
            message: `No route ${record.method} ${path} (test server)`,
          });
      }
    } catch (error) {
      sendError(res, {
        type: 'error',
        status: 500,
        message: `test server: ${(error as Error).message}`,
      });
    }
  });

  async function answerChat(res: ServerResponse, record: RecordedRequest, callNumber: number) {
    const body = (record.body ?? {}) as ChatRequestBody;
    if (options.rejectUnknownModels && !models.includes(body.model ?? '')) {
      sendError(res, {
        type: 'error',
        status: 404,
        message: `model "${body.model}" not found, try pulling it first (test server)`,
      });
      return;
    }
    const call: ChatCall = { body, callNumber, headers: record.headers };
    const step = chatQueue.shift();
    const scripted: ChatReply | undefined =
      typeof step === 'function' ? await step(call) : (step ?? (await options.onChat?.(call)));
    if (!scripted) {
      sendError(res, {
        type: 'error',
        status: 500,
        message: `test server: no scripted answer left for chat request #${callNumber}`,
        headers: { 'x-should-retry': 'false' },
      });
      return;
    }
    if (scripted.type === 'hang') return;
    if (scripted.type === 'error') {
      sendError(res, scripted);
      return;
    }
    if (scripted.type === 'malformed') {
      const broken = scripted.body ?? '{';
      if (body.stream) {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.end(`data: ${broken}\n\n`);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(broken);
      }
      return;
    }
    sendMessage(res, scripted, body, callNumber);
  }

  function answerEmbeddings(res: ServerResponse, record: RecordedRequest) {
    const scripted = embeddingQueue.shift();
    if (scripted?.type === 'hang') return;
    if (scripted?.type === 'error') {
      sendError(res, scripted);
      return;
    }
    const body = (record.body ?? {}) as {
      input?: unknown;
      model?: string;
      encoding_format?: string;
    };
    const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')];
    const size = scripted?.dimensions ?? dimensions;
    const base64 = body.encoding_format === 'base64';
    const tokens = inputs.reduce((sum, input) => sum + Math.max(1, Math.ceil(input.length / 4)), 0);
    sendJson(res, 200, {
      object: 'list',
      model: body.model ?? 'test-embedding',
      data: inputs.map((input, index) => {
        const vector = embeddingOf(input, size);
        return { object: 'embedding', index, embedding: base64 ? base64Floats(vector) : vector };
      }),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  const waitFor = (done: () => boolean, what: string, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (done()) {
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(
          new Error(`openai test server: timed out after ${timeoutMs} ms waiting for ${what}`),
        );
      }, timeoutMs);
      const check = () => {
        if (!done()) return;
        clearTimeout(timer);
        waiters.delete(check);
        resolve();
      };
      waiters.add(check);
    });

  const api: OpenAiTestServer = {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    calls: (endpoint = 'chat') => count(endpoint),
    aborted: () => requests.filter((r) => r.aborted).length,
    enqueue(...steps) {
      chatQueue.push(...steps);
      return api;
    },
    enqueueEmbeddings(...steps) {
      embeddingQueue.push(...steps);
      return api;
    },
    pending: () => chatQueue.length,
    waitForCalls: (n, endpoint = 'chat', timeoutMs = 5000) =>
      waitFor(() => count(endpoint) >= n, `${n} ${endpoint} request(s)`, timeoutMs),
    waitForAborted: (n, timeoutMs = 5000) =>
      waitFor(() => api.aborted() >= n, `${n} abandoned request(s)`, timeoutMs),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  return api;
}

function sendMessage(
  res: ServerResponse,
  scripted: MessageReply,
  body: ChatRequestBody,
  callNumber: number,
) {
  const parts = answerParts(scripted, body, callNumber);
  if (!body.stream) {
    sendJson(res, 200, completionJson(parts));
    return;
  }
  const chunks = completionChunks(
    parts,
    scripted.chunkSize ?? 8,
    body.stream_options?.include_usage === true,
    scripted.toolCallIndex,
  );
  res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
  const stallAt = scripted.stallAfterChunks;
  for (const [index, chunk] of chunks.entries()) {
    // A stalled stream keeps the connection open and silent, as a stuck server would.
    if (stallAt !== undefined && index >= stallAt) return;
    res.write(`data: ${JSON.stringify(chunk)}\n\n`);
  }
  res.end('data: [DONE]\n\n');
}

function sendError(res: ServerResponse, scripted: ErrorReply) {
  sendJson(
    res,
    scripted.status,
    {
      error: {
        message: scripted.message ?? `HTTP ${scripted.status} (scripted)`,
        type: scripted.status === 429 ? 'rate_limit_exceeded' : 'server_error',
        code: null,
        param: null,
      },
    },
    scripted.headers,
  );
}

function sendJson(
  res: ServerResponse,
  status: number,
  value: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(value));
}

function endpointOf(method: string, path: string): Endpoint {
  if (method === 'POST' && path === '/v1/chat/completions') return 'chat';
  if (method === 'POST' && path === '/v1/embeddings') return 'embeddings';
  if (method === 'GET' && path === '/v1/models') return 'models';
  return 'other';
}

function parseJson(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
