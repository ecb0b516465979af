/**
 * The page's WebSocket: connects to `/ws` with the token from the page URL,
 * applies every frame to the model in order, and reconnects with backoff.
 * A reconnect gets the whole system again (`system` frame), so nothing is
 * patched from a stale state.
 */
import type { ClientMessage, ServerMessage } from '../../src/runtime/inspector/protocol.js';
import type { Model } from './model.js';

const TOKEN_KEY = 'troupe-inspector-token';

export class Connection {
  private ws: WebSocket | undefined;
  private nextId = 1;
  private retryMs = 250;
  private lastSeq = 0;
  /** Sent again after a reconnect: the last `run.watch` and `events.watch`. */
  private readonly subscriptions = new Map<ClientMessage['type'], ClientMessage>();

  constructor(
    private readonly model: Model,
    private readonly onOpen: () => void,
  ) {}

  start(): void {
    const ws = new WebSocket(wsUrl());
    this.ws = ws;
    this.lastSeq = 0;
    ws.onopen = () => {
      this.retryMs = 250;
      this.model.connection = 'open';
      this.model.emit('status');
      for (const message of this.subscriptions.values()) ws.send(JSON.stringify(message));
      this.onOpen();
    };
    ws.onmessage = (event) => this.receive(String(event.data));
    ws.onclose = () => {
      this.model.connection = 'closed';
      this.model.emit('status');
      setTimeout(() => this.start(), this.retryMs);
      this.retryMs = Math.min(this.retryMs * 2, 5_000);
    };
  }

  /** Sends a request; returns its id, which the server's `reply` echoes. */
  send(message: ClientMessage): number {
    const id = this.nextId++;
    const withId = { ...message, id } as ClientMessage;
    if (message.type === 'run.watch' || message.type === 'events.watch') {
      this.subscriptions.set(message.type, withId);
    }
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(withId));
    return id;
  }

  private receive(text: string): void {
    let message: ServerMessage;
    try {
      message = JSON.parse(text) as ServerMessage;
    } catch {
      return;
    }
    if (message.seq !== this.lastSeq + 1) {
      this.model.lastError = `frames out of order: ${this.lastSeq} then ${message.seq}`;
    }
    this.lastSeq = message.seq;
    for (const frame of message.frames) this.model.apply(frame);
  }
}

/** The token from `?token=` (remembered for this tab, then removed from the address bar). */
function token(): string | undefined {
  const params = new URLSearchParams(location.search);
  const fromUrl = params.get('token');
  if (fromUrl) {
    sessionStorage.setItem(TOKEN_KEY, fromUrl);
    params.delete('token');
    const rest = params.toString();
    history.replaceState(null, '', `${location.pathname}${rest ? `?${rest}` : ''}${location.hash}`);
    return fromUrl;
  }
  return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
}

let cachedToken: string | undefined | null = null;

function wsUrl(): string {
  if (cachedToken === null) cachedToken = token();
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const query = cachedToken ? `?token=${encodeURIComponent(cachedToken)}` : '';
  return `${scheme}//${location.host}/ws${query}`;
}
