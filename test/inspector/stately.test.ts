/**
 * Stately compatibility: `@statelyai/inspect`'s own WebSocket receiver reads
 * the runtime's actors from `/stately`, and its WebSocket inspector (another
 * XState app) can send frames through the same endpoint.
 */
import { createWebSocketInspector, createWebSocketReceiver } from '@statelyai/inspect';
import { afterEach, describe, expect, it } from 'vitest';
import { createActor, createMachine } from 'xstate';
import type { Runtime } from '../../src/index.js';
import { STATELY_FORMAT_VERSION } from '../../src/runtime/inspector/index.js';
import { heldRuntime, TestClient, until, wsUrl } from './helpers.js';

let rt: Runtime | undefined;
const cleanups: (() => void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await rt?.close();
  rt = undefined;
});

interface StatelyEvent {
  type: string;
  sessionId: string;
  name?: string;
  definition?: string;
  snapshot?: { value?: unknown; status?: string };
  _version?: string;
}

function collect(url: string) {
  const events: StatelyEvent[] = [];
  const waiters: (() => void)[] = [];
  const receiver = createWebSocketReceiver({ server: url });
  const subscription = receiver.subscribe((event: StatelyEvent) => {
    events.push(event);
    for (const wake of waiters.splice(0)) wake();
  });
  cleanups.push(() => subscription.unsubscribe());
  const seen = (test: () => boolean, what: string) =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), 10_000);
      const check = () => {
        if (test()) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });
  return { events, seen };
}

describe('Stately compatibility', () => {
  it("serves the system to @statelyai/inspect's receiver in its frame format", async () => {
    const held = await heldRuntime();
    rt = held.rt;
    const { events, seen } = collect(wsUrl(rt.inspector!.url, { path: '/stately' }));
    await seen(() => events.some((e) => e.name === 'agent:hold'), 'the agent actor');
    const agent = events.find((e) => e.name === 'agent:hold')!;
    expect(agent).toMatchObject({ type: '@xstate.actor', _version: STATELY_FORMAT_VERSION });
    expect(JSON.parse(agent.definition!)).toMatchObject({ id: 'agent', initial: 'idle' });

    const handle = await rt.engine.start(
      { name: 's', tasks: [{ id: 'a', agent: 'hold' }] },
      { workflowId: 'stately-run' },
    );
    await seen(() => events.some((e) => e.name === 'workflow:stately-run'), 'the run actor');
    await seen(
      () => events.some((e) => e.type === '@xstate.event' && e.sessionId === agent.sessionId),
      'an event to the agent',
    );
    held.release('a');
    await handle.result;
    const run = events.find((e) => e.name === 'workflow:stately-run')!;
    await seen(
      () =>
        events.some(
          (e) =>
            e.type === '@xstate.snapshot' &&
            e.sessionId === run.sessionId &&
            e.snapshot?.value === 'completed',
        ),
      'the run completed',
    );
  });

  it('relays frames from a Stately inspector in another app to Stately clients', async () => {
    rt = (await heldRuntime()).rt;
    const url = wsUrl(rt.inspector!.url, { path: '/stately' });
    const { events, seen } = collect(url);
    await seen(() => events.some((e) => e.name === 'troupe'), 'the runtime actors');
    const inspector = createWebSocketInspector({ url });
    const app = createActor(createMachine({ id: 'elsewhere', initial: 'on', states: { on: {} } }), {
      inspect: inspector.inspect,
    });
    app.start();
    cleanups.push(() => {
      app.stop();
      inspector.stop();
    });
    await seen(
      () => events.some((e) => e.type === '@xstate.actor' && e.name === 'elsewhere'),
      'the other app',
    );

    // Garbage on the Stately endpoint is dropped and counted, not relayed.
    const raw = await TestClient.connect(url);
    cleanups.push(() => raw.close());
    raw.send('{"type":"not-xstate"}');
    raw.send('][');
    await until(() => rt!.inspector!.stats().malformedFrames === 2, 'two malformed frames');
  });
});
