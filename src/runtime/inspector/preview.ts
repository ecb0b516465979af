/**
 * Bounded copies of arbitrary values for the inspector. A workflow context
 * can hold 10,000 tasks and a task output can be megabytes; the page needs a
 * glimpse, and making the glimpse must cost a bounded amount whatever the
 * input, so every walk here stops after a fixed number of nodes.
 */
import type { JsonPreview } from './protocol.js';

export interface PreviewLimits {
  /** Nesting below which objects are summarised. @default 3 */
  depth: number;
  /** Keys shown per object. @default 20 */
  keys: number;
  /** Items shown per array. @default 10 */
  items: number;
  /** Characters kept per string. @default 200 */
  chars: number;
  /** Values visited in all. @default 200 */
  nodes: number;
}

export const DEFAULT_PREVIEW_LIMITS: PreviewLimits = {
  depth: 3,
  keys: 20,
  items: 10,
  chars: 200,
  nodes: 200,
};

/** A JSON-safe, bounded copy of `value`; cut parts are marked with `…`. */
export function previewJson(value: unknown, limits: Partial<PreviewLimits> = {}): JsonPreview {
  const l = { ...DEFAULT_PREVIEW_LIMITS, ...limits };
  const budget = { nodes: l.nodes };
  return walk(value, l, 0, budget, new Set());
}

/** `previewJson` as text of at most `chars` characters. */
export function previewText(value: unknown, chars = 240): string {
  if (value === undefined) return '';
  if (typeof value === 'string') return clip(value, chars);
  const text = JSON.stringify(previewJson(value, { chars: Math.min(chars, 200) }));
  return clip(text ?? '', chars);
}

export function clip(text: string, chars: number): string {
  return text.length <= chars ? text : `${text.slice(0, Math.max(0, chars - 1))}…`;
}

function walk(
  value: unknown,
  l: PreviewLimits,
  depth: number,
  budget: { nodes: number },
  seen: Set<object>,
): JsonPreview {
  budget.nodes--;
  switch (typeof value) {
    case 'string':
      return clip(value, l.chars);
    case 'number':
      return Number.isFinite(value) ? value : String(value);
    case 'boolean':
      return value;
    case 'bigint':
      return `${value}n`;
    case 'undefined':
      return null;
    case 'function':
      return `[function ${value.name || 'anonymous'}]`;
    case 'symbol':
      return value.toString();
  }
  if (value === null) return null;
  const object = value as object;
  if (seen.has(object)) return '[cycle]';
  const special = describeSpecial(object);
  if (special !== undefined) return special;
  if (Array.isArray(object)) {
    if (depth >= l.depth || budget.nodes <= 0) return `[array(${object.length})]`;
    seen.add(object);
    const out: JsonPreview[] = [];
    const shown = Math.min(object.length, l.items);
    for (let i = 0; i < shown && budget.nodes > 0; i++) {
      out.push(walk(object[i], l, depth + 1, budget, seen));
    }
    if (out.length < object.length) out.push(`… ${object.length - out.length} more`);
    seen.delete(object);
    return out;
  }
  const keys = Object.keys(object);
  if (depth >= l.depth || budget.nodes <= 0) return `{object(${keys.length} keys)}`;
  seen.add(object);
  const out: { [key: string]: JsonPreview } = {};
  let shown = 0;
  for (const key of keys) {
    if (shown >= l.keys || budget.nodes <= 0) break;
    const shownValue = walk((object as Record<string, unknown>)[key], l, depth + 1, budget, seen);
    // A value's own "__proto__" key (JSON.parse makes one) is defined, not assigned: assigning would set the prototype and lose it.
    if (key === '__proto__')
      Object.defineProperty(out, key, {
        value: shownValue,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    else out[key] = shownValue;
    shown++;
  }
  if (shown < keys.length) out['…'] = `${keys.length - shown} more keys`;
  seen.delete(object);
  return out;
}

/** Values JSON would mangle or that must not be walked (actor refs hold the whole system). */
function describeSpecial(object: object): JsonPreview | undefined {
  if (object instanceof Date) {
    return Number.isNaN(object.getTime()) ? 'Invalid Date' : object.toISOString();
  }
  if (object instanceof Error) return { name: object.name, message: clip(object.message, 500) };
  if (object instanceof Map) return `[Map(${object.size})]`;
  if (object instanceof Set) return `[Set(${object.size})]`;
  if (ArrayBuffer.isView(object)) return `[${object.constructor.name}(${object.byteLength} bytes)]`;
  if (object instanceof Promise) return '[Promise]';
  if (isActorRef(object)) return `[actor ${object.id}]`;
  return undefined;
}

function isActorRef(object: object): object is { id: string } {
  const o = object as { sessionId?: unknown; send?: unknown; id?: unknown };
  return typeof o.sessionId === 'string' && typeof o.send === 'function';
}
