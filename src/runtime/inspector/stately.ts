/**
 * The `@statelyai/inspect` WebSocket frame format (0.7): one JSON object per
 * WebSocket message, `@xstate.actor` / `@xstate.event` / `@xstate.snapshot`,
 * each with `sessionId`, `rootId`, `_version` and `createdAt`. This is what
 * `createWebSocketInspector` sends and `createWebSocketReceiver` (and the
 * Stately inspector behind `@statelyai/inspect/server`'s bridge page)
 * reads. Snapshots carry the same bounded context previews as our own
 * frames, so a big run does not flood a Stately client either.
 */
import type { CollectedEvent } from './bridge.js';
import { previewJson } from './preview.js';
import type { ActorInfo } from './protocol.js';

/** The `@statelyai/inspect` version whose format this follows. */
export const STATELY_FORMAT_VERSION = '0.7.2';

export type StatelyFrame = Record<string, unknown> & { type: `@xstate.${string}` };

export function statelyActorFrame(
  info: ActorInfo,
  rootId: string,
  definition: string | undefined,
): StatelyFrame {
  return {
    type: '@xstate.actor',
    name: info.name,
    sessionId: info.sessionId,
    rootId,
    ...(info.parentId ? { parentId: info.parentId } : {}),
    id: null,
    definition: definition ?? JSON.stringify({ id: info.name }),
    snapshot: statelySnapshot(info),
    createdAt: String(Date.now()),
    _version: STATELY_FORMAT_VERSION,
  };
}

export function statelySnapshotFrame(
  info: ActorInfo,
  rootId: string,
  eventType: string,
): StatelyFrame {
  return {
    type: '@xstate.snapshot',
    sessionId: info.sessionId,
    rootId,
    id: null,
    event: { type: eventType },
    snapshot: statelySnapshot(info),
    createdAt: String(Date.now()),
    _version: STATELY_FORMAT_VERSION,
  };
}

export function statelyEventFrame(event: CollectedEvent, rootId: string): StatelyFrame {
  const payload =
    typeof event.payload === 'object' && event.payload !== null && !Array.isArray(event.payload)
      ? event.payload
      : { type: event.timeline.type };
  return {
    type: '@xstate.event',
    sessionId: event.targetId,
    ...(event.sourceId ? { sourceId: event.sourceId } : {}),
    rootId,
    id: null,
    event: payload,
    createdAt: String(Math.round(event.timeline.at)),
    _version: STATELY_FORMAT_VERSION,
  };
}

function statelySnapshot(info: ActorInfo): Record<string, unknown> {
  return {
    status: info.status,
    ...(info.value === undefined ? {} : { value: info.value }),
    context: info.run ? { ...info.run, ...(asObject(info.summary) ?? {}) } : (info.summary ?? {}),
    children: {},
  };
}

/**
 * The machine definition as `@statelyai/inspect` sends it: its config as a
 * JSON string, functions replaced by their names, bounded in depth.
 */
export function statelyDefinition(logic: unknown): string | undefined {
  const config = (logic as { config?: unknown } | undefined)?.config;
  if (typeof config !== 'object' || config === null) return undefined;
  return JSON.stringify(
    previewJson(config, { depth: 12, keys: 200, items: 200, chars: 500, nodes: 5_000 }),
  );
}

/**
 * A frame from a Stately client (`createWebSocketInspector` pointed at us),
 * or undefined if it is not one: JSON, an object, a `@xstate.*` type and a
 * string `sessionId`.
 */
export function parseStatelyFrame(data: string): StatelyFrame | undefined {
  let json: unknown;
  try {
    json = JSON.parse(data);
  } catch {
    return undefined;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return undefined;
  const frame = json as { type?: unknown; sessionId?: unknown };
  if (typeof frame.type !== 'string' || !frame.type.startsWith('@xstate.')) return undefined;
  if (typeof frame.sessionId !== 'string') return undefined;
  return json as StatelyFrame;
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : undefined;
}
