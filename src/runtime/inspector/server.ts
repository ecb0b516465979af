/**
 * The inspector's HTTP server: the page, its bundle, a Stately bridge page,
 * and two WebSocket endpoints, `/ws` (our protocol) and `/stately`
 * (`@statelyai/inspect` frames). See docs/inspector.md.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { TroupeError } from '../../errors.js';
import { type HubOptions, type InspectedRuntime, InspectorHub } from './hub.js';
import { parseInspectorServerOptions } from './inspector-options.js';
import { loadPageAssets } from './page-assets.js';
import type { InspectorStats } from './protocol.js';
import {
  type AccessPolicy,
  checkHost,
  checkOrigin,
  isLoopbackHost,
  presentedToken,
  tokenMatches,
} from './security.js';
import { statelyBridgeHtml } from './stately-page.js';

/** Options of `createInspectorServer`. */
export interface InspectorServerOptions {
  /** TCP port; 0 picks a free one (read it from `url`). */
  port: number;
  /** Address to listen on. Anything but loopback requires the token. @default '127.0.0.1' */
  host?: string;
  /**
   * Secret for controls and for non-loopback access. When controls are on or
   * the host is not loopback and none is given, a random one is made; `url`
   * carries it. @default none
   */
  token?: string;
  /** Lets clients with the token pause, resume and cancel runs. @default false */
  controls?: boolean;
  /** The runtime to inspect. */
  runtime: InspectedRuntime;
  /** Browser origins allowed besides the page's own (e.g. a dev server). @default [] */
  allowedOrigins?: readonly string[];
  /**
   * Batch window: the shortest gap between two batches of changes. While a
   * live run of more than 2,000 tasks is watched the gap grows with its size
   * (size / 40 ms, up to 250 ms; `batchGapMs` in run-watch.ts). @default 50
   */
  batchMs?: number;
  /** Most timeline events per batch; older events in a busy window are skipped and counted. @default 250 */
  maxEventsPerBatch?: number;
  /** Timeline events kept for late joiners. @default 2000 */
  ringSize?: number;
  /** Largest frame a client may send; bigger ones are dropped and counted. @default 65536 */
  maxClientFrameBytes?: number;
}

/** `RuntimeOptions.inspector`: the inspector server of a runtime. */
export interface RuntimeInspectorOptions {
  /** TCP port; 0 picks a free one (read it from `rt.inspector.url`). */
  port: number;
  /** Address to listen on; any other than loopback requires the token. @default '127.0.0.1' */
  host?: string;
  /** Secret for controls and non-loopback access. @default a random one when needed, else none */
  token?: string;
  /** Shows pause, resume and cancel to pages opened with the token. @default false */
  controls?: boolean;
}

/** A running inspector server (`rt.inspector`). */
export interface InspectorServer {
  /** The page's address, with `?token=` when a token is required for anything. */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Counters: clients, frames and events sent, dropped and skipped. */
  stats(): InspectorStats;
  /** Sends pending changes now instead of at the end of the batch window (for tests). */
  flush(): void;
  /** Disconnects every client and stops listening. */
  close(): Promise<void>;
}

/** A connection refused (frames over this are cut by `ws` itself, which closes the socket). */
const HARD_MAX_PAYLOAD = 1024 * 1024;

/**
 * Starts the inspector's HTTP and WebSocket server for a runtime (what
 * `createRuntime({ inspector })` does). Loopback only unless a token is set.
 *
 * @throws TroupeError `INVALID_INPUT` for options of the wrong shape (see
 * inspector-options.ts), `CONFIG_ERROR` for a port it cannot listen on.
 */
export async function createInspectorServer(
  given: InspectorServerOptions,
): Promise<InspectorServer> {
  const options = parseInspectorServerOptions(given);
  const host = options.host ?? '127.0.0.1';
  const loopback = isLoopbackHost(host);
  const controls = options.controls ?? false;
  const token =
    options.token ?? (controls || !loopback ? randomBytes(18).toString('base64url') : undefined);
  const policy: AccessPolicy = { loopback, token, allowedOrigins: options.allowedOrigins ?? [] };
  const hubOptions: HubOptions = {
    batchMs: options.batchMs ?? 50,
    maxEventsPerBatch: options.maxEventsPerBatch ?? 250,
    ringSize: options.ringSize ?? 2_000,
    maxClientFrameBytes: options.maxClientFrameBytes ?? 65_536,
    maxBufferedBytes: 16 * 1024 * 1024,
  };
  // Fail early (and before listening) if the page cannot be served.
  await loadPageAssets();
  const hub = new InspectorHub(options.runtime, hubOptions);
  // Loaded here, not at import: only a runtime that is inspected needs WebSockets.
  const { WebSocketServer } = await import('ws');
  const wss = new WebSocketServer({ noServer: true, maxPayload: HARD_MAX_PAYLOAD });
  const http = createServer((req, res) => {
    serve(req, res, policy).catch(() => {
      if (!res.headersSent) res.writeHead(500).end('inspector error');
    });
  });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const path = new URL(req.url ?? '/', 'http://inspector.invalid').pathname;
    const authed = tokenMatches(token, presentedToken(req));
    const refusal =
      path !== '/ws' && path !== '/stately'
        ? '404 Not Found'
        : checkHost(req, policy) || checkOrigin(req, policy)
          ? '403 Forbidden'
          : !loopback && !authed
            ? '401 Unauthorized'
            : undefined;
    if (refusal) {
      hub.countRejectedConnection();
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      if (path === '/stately') hub.addStatelyClient(ws);
      else hub.addClient(ws, controls && authed);
    });
  });

  await new Promise<void>((resolve, reject) => {
    http.once('error', (error) => {
      hub.close();
      reject(
        new TroupeError(
          'CONFIG_ERROR',
          `The inspector could not listen on ${host}:${options.port}: ${error.message}. Choose another port (0 picks a free one).`,
          {},
          { cause: error },
        ),
      );
    });
    http.listen(options.port, host, () => resolve());
  });
  const address = http.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const url = `http://${urlHost(host)}:${port}/${token ? `?token=${encodeURIComponent(token)}` : ''}`;
  let closing: Promise<void> | undefined;

  return {
    url,
    port,
    host,
    stats: () => hub.stats(),
    flush: () => hub.flush(),
    close() {
      closing ??= new Promise<void>((resolve) => {
        hub.close();
        wss.close();
        http.close(() => resolve());
        http.closeAllConnections();
      });
      return closing;
    },
  };
}

async function serve(
  req: IncomingMessage,
  res: ServerResponse,
  policy: AccessPolicy,
): Promise<void> {
  const hostRefusal = checkHost(req, policy);
  if (hostRefusal) {
    res.writeHead(403, { 'Content-Type': 'text/plain' }).end(hostRefusal);
    return;
  }
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.writeHead(405, { Allow: 'GET' }).end();
    return;
  }
  const path = new URL(req.url ?? '/', 'http://inspector.invalid').pathname;
  const common = {
    'X-Content-Type-Options': 'nosniff',
    // The page URL may carry the token: never send it on as a referrer.
    'Referrer-Policy': 'no-referrer',
    'Cache-Control': 'no-store',
  };
  if (path === '/stately') {
    res
      .writeHead(200, {
        ...common,
        'Content-Type': 'text/html; charset=utf-8',
        'Content-Security-Policy':
          "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self' https://stately.ai; frame-src https://stately.ai",
      })
      .end(statelyBridgeHtml());
    return;
  }
  const assets = await loadPageAssets();
  const files: Record<string, [string, string]> = {
    '/': ['text/html; charset=utf-8', assets.html],
    '/index.html': ['text/html; charset=utf-8', assets.html],
    '/inspector.js': ['text/javascript; charset=utf-8', assets.js],
    '/inspector.css': ['text/css; charset=utf-8', assets.css],
    '/answer-check.js': ['text/javascript; charset=utf-8', assets.answerCheck],
    '/elk-worker.js': ['text/javascript; charset=utf-8', assets.elkWorker],
  };
  const file = files[path];
  if (!file) {
    res.writeHead(404, { ...common, 'Content-Type': 'text/plain' }).end('not found');
    return;
  }
  // The files hold no data, only code: cache them, revalidated by content
  // hash, so a reload costs a 304 and the browser keeps its compiled code.
  const etag = assets.etags[path];
  const cached = {
    'Cache-Control': 'no-cache',
    ...(etag ? { ETag: etag } : {}),
  };
  if (etag && req.headers['if-none-match'] === etag) {
    res.writeHead(304, { ...common, ...cached }).end();
    return;
  }
  res
    .writeHead(200, {
      ...common,
      ...cached,
      'Content-Type': file[0],
      'Content-Security-Policy':
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; worker-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
    })
    .end(req.method === 'HEAD' ? undefined : file[1]);
}

function urlHost(host: string): string {
  if (host === '0.0.0.0' || host === '::') return '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}
