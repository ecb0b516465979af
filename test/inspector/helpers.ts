/**
 * Test helpers for the inspector: deferreds that hold tasks where a test
 * wants them, and a WebSocket client that records every frame and lets a
 * test wait for an explicit condition instead of sleeping.
 */
import { get } from 'node:http';
import { afterEach } from 'vitest';
import WebSocket from 'ws';
import { createRuntime, defineAgent, type Runtime } from '../../src/index.js';
import type { ServerFrame, ServerMessage } from '../../src/runtime/inspector/protocol.js';
import type { RuntimeInspectorOptions } from '../../src/runtime/inspector/server.js';

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve: (value: T) => void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * A runtime with agent `hold`, whose tasks wait for `release(taskId)` and
 * return `{ done: taskId, note: input.note }`, and agent `quick`, which
 * returns at once.
 */
export async function heldRuntime(inspector: RuntimeInspectorOptions = { port: 0 }) {
  const gates = new Map<string, Deferred<void>>();
  const gate = (taskId: string) => {
    let d = gates.get(taskId);
    if (!d) {
      d = deferred();
      gates.set(taskId, d);
    }
    return d;
  };
  const started = new Set<string>();
  const rt: Runtime = await createRuntime({
    dataDir: false,
    inspector,
    agents: [
      defineAgent({
        role: 'hold',
        concurrency: 4,
        run: async (task) => {
          started.add(task.id);
          await gate(task.id).promise;
          return { done: task.id, note: task.input.note ?? null };
        },
      }),
      defineAgent({ role: 'quick', run: async (task) => ({ done: task.id }) }),
    ],
  });
  return {
    rt,
    release: (taskId: string) => gate(taskId).resolve(),
    started,
  };
}

export class TestClient {
  readonly messages: ServerMessage[] = [];
  readonly frames: ServerFrame[] = [];
  private waiters: { test: () => boolean; resolve: () => void }[] = [];
  closed: { code: number; reason: string } | undefined;

  private constructor(readonly ws: WebSocket) {
    ws.on('message', (data) => {
      const message = JSON.parse(String(data)) as ServerMessage;
      this.messages.push(message);
      // The Stately endpoint sends bare frames, not our numbered batches.
      if (Array.isArray(message.frames)) this.frames.push(...message.frames);
      this.check();
    });
    ws.on('close', (code, reason) => {
      this.closed = { code, reason: String(reason) };
      this.check();
    });
  }

  static async connect(url: string, headers: Record<string, string> = {}): Promise<TestClient> {
    const ws = new WebSocket(url, { headers });
    const client = new TestClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (req, res) => {
        req.destroy();
        reject(new Error(`HTTP ${res.statusCode}`));
      });
    });
    return client;
  }

  send(message: unknown): void {
    this.ws.send(typeof message === 'string' ? message : JSON.stringify(message));
  }

  /** Resolves when `test` holds for what has arrived; rejects after `ms`. */
  waitFor(test: () => boolean, what: string, ms = 10_000): Promise<void> {
    if (test()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w.resolve !== done);
        reject(new Error(`timed out waiting for ${what}`));
      }, ms);
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      this.waiters.push({ test, resolve: done });
    });
  }

  /** Waits for a frame of `type` that satisfies `test`, and returns it. */
  async frame<K extends ServerFrame['type']>(
    type: K,
    test: (frame: Extract<ServerFrame, { type: K }>) => boolean = () => true,
    ms?: number,
  ): Promise<Extract<ServerFrame, { type: K }>> {
    const find = () =>
      this.frames.find(
        (f): f is Extract<ServerFrame, { type: K }> =>
          f.type === type && test(f as Extract<ServerFrame, { type: K }>),
      );
    await this.waitFor(() => find() !== undefined, `a ${type} frame`, ms);
    return find()!;
  }

  close(): void {
    this.ws.close();
  }

  private check(): void {
    for (const waiter of [...this.waiters]) {
      if (waiter.test()) {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        waiter.resolve();
      }
    }
  }
}

/** `http://host:port/?token=x` -> `ws://host:port/ws?token=x` (or without the token). */
export function wsUrl(pageUrl: string, options: { path?: string; token?: boolean } = {}): string {
  const url = new URL(pageUrl);
  url.protocol = 'ws:';
  url.pathname = options.path ?? '/ws';
  if (options.token === false) url.searchParams.delete('token');
  return url.toString();
}

/** Expects a WebSocket upgrade to be refused; returns the HTTP status. */
export function refusedStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.close();
      reject(new Error(`expected ${url} to be refused`));
    });
    ws.once('unexpected-response', (req, res) => {
      req.destroy();
      resolve(res.statusCode ?? 0);
    });
    ws.once('error', () => undefined);
  });
}

/** The status of a GET with the given headers (fetch cannot set Host). */
export function httpStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    get(url, { headers }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', reject);
  });
}

/**
 * Waits until `test` holds, checking every few milliseconds: for state that
 * changes without a message to the test (server counters). A condition,
 * not a guess at how long something takes.
 */
export async function until(test: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!test()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** What a page shows of one task, as far as truth goes. */
export interface ShownTask {
  status: string;
  attempts: number;
  compensation?: string;
}

/**
 * Folds the run frames a client received (`run.detail`, `run.tasks`,
 * `stored.run`) the way the page's model does: the latest whole run, then
 * each change applied in order.
 */
export function shownTasks(frames: readonly ServerFrame[], workflowId: string) {
  const tasks = new Map<string, ShownTask>();
  const set = (t: {
    id: string;
    status: string;
    attempts: number;
    compensation?: { status: string };
  }) =>
    tasks.set(t.id, {
      status: t.status,
      attempts: t.attempts,
      ...(t.compensation ? { compensation: t.compensation.status } : {}),
    });
  for (const frame of frames) {
    if (
      (frame.type === 'run.detail' || frame.type === 'stored.run') &&
      frame.run.workflowId === workflowId
    ) {
      tasks.clear();
      for (const task of frame.run.tasks) set(task);
    }
    if (frame.type === 'run.tasks' && frame.workflowId === workflowId)
      for (const task of frame.tasks) set(task);
  }
  return Object.fromEntries(tasks);
}

/**
 * For a test file: clients it connects and the runtime it makes are closed
 * after each test. `connect` records a client; `runtime` holds the runtime.
 */
export function useInspectorCleanup() {
  const state: { rt: Runtime | undefined; clients: TestClient[] } = { rt: undefined, clients: [] };
  afterEach(async () => {
    for (const client of state.clients.splice(0)) client.close();
    await state.rt?.close();
    state.rt = undefined;
  });
  return state;
}
