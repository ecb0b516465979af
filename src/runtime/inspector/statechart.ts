/**
 * Turns a machine's definition (`machine.definition`, XState's own JSON view
 * of its state nodes) into the small tree the page lays out. Targets become
 * key paths, which the page can match against a snapshot's state value
 * without knowing XState's id rules (custom `id`s, `#` prefixes).
 */
import type { StatechartNode, StatechartTransition } from './protocol.js';

/** The part of XState's state node definition read here. */
interface DefinitionNode {
  id: string;
  key: string;
  type: string;
  initial?: { target?: readonly unknown[] };
  states?: Record<string, DefinitionNode>;
  transitions?: readonly DefinitionTransition[];
  invoke?: readonly { src?: unknown; id?: unknown }[];
}

interface DefinitionTransition {
  eventType: string;
  target?: readonly unknown[];
  guard?: unknown;
}

/**
 * The live state node (`machine.root`): its `always` (eventless)
 * transitions are not in the JSON definition, and a chart without them
 * shows states that nothing seems to connect.
 */
interface LiveStateNode {
  states?: Record<string, LiveStateNode>;
  always?: readonly { target?: readonly unknown[]; guard?: unknown }[];
}

/** The event name eventless transitions are drawn with. */
export const ALWAYS_EVENT = 'always';

/** True for logic that has a machine definition (a state machine). */
export function hasDefinition(logic: unknown): logic is { definition: unknown } {
  return (
    typeof logic === 'object' &&
    logic !== null &&
    'definition' in logic &&
    typeof (logic as { definition: unknown }).definition === 'object'
  );
}

/** The statechart of `logic`, or null if it is not a machine or its definition is unreadable. */
export function statechartOf(logic: unknown): StatechartNode | null {
  if (!hasDefinition(logic)) return null;
  try {
    const root = logic.definition as DefinitionNode;
    const live = (logic as { root?: LiveStateNode }).root;
    const paths = new Map<string, string>();
    collectPaths(root, '', paths);
    return convert(root, '', paths, live);
  } catch {
    // A definition we cannot read is drawn as nothing rather than breaking the bridge.
    return null;
  }
}

function collectPaths(node: DefinitionNode, path: string, paths: Map<string, string>): void {
  paths.set(node.id, path);
  for (const [key, child] of Object.entries(node.states ?? {})) {
    collectPaths(child, path ? `${path}.${key}` : key, paths);
  }
}

function convert(
  node: DefinitionNode,
  path: string,
  paths: Map<string, string>,
  live: LiveStateNode | undefined,
): StatechartNode {
  const children = Object.entries(node.states ?? {}).map(([key, child]) =>
    convert(child, path ? `${path}.${key}` : key, paths, live?.states?.[key]),
  );
  const always = (live?.always ?? []).map((t) =>
    transition({ eventType: ALWAYS_EVENT, target: t.target ?? [], guard: t.guard }, paths),
  );
  const initialTarget = node.initial?.target?.[0];
  const initial = initialTarget === undefined ? undefined : resolveTarget(initialTarget, paths);
  return {
    key: node.key,
    path,
    type: nodeType(node.type),
    ...(initial === undefined ? {} : { initial }),
    children,
    transitions: [...(node.transitions ?? []).map((t) => transition(t, paths)), ...always],
    invokes: (node.invoke ?? []).map((i) => (typeof i.src === 'string' ? i.src : String(i.id))),
  };
}

function transition(t: DefinitionTransition, paths: Map<string, string>): StatechartTransition {
  const targets = (t.target ?? [])
    .map((target) => resolveTarget(target, paths))
    .filter((target): target is string => target !== undefined);
  const guard = guardName(t.guard);
  return { event: t.eventType, targets, ...(guard ? { guard } : {}) };
}

function resolveTarget(target: unknown, paths: Map<string, string>): string | undefined {
  if (typeof target === 'string') return paths.get(target.replace(/^#/, ''));
  if (typeof target === 'object' && target !== null && 'id' in target) {
    return paths.get(String((target as { id: unknown }).id));
  }
  return undefined;
}

function guardName(guard: unknown): string | undefined {
  if (guard === undefined || guard === null) return undefined;
  if (typeof guard === 'string') return guard;
  if (typeof guard === 'function') return guard.name || 'guard';
  if (typeof guard === 'object' && 'type' in guard)
    return String((guard as { type: unknown }).type);
  return 'guard';
}

function nodeType(type: string): StatechartNode['type'] {
  switch (type) {
    case 'compound':
    case 'parallel':
    case 'final':
    case 'history':
      return type;
    default:
      return 'atomic';
  }
}

/** Paths of the state nodes active in `value` (the root's path '' included). */
export function activePaths(value: unknown): string[] {
  const out = [''];
  const walk = (v: unknown, prefix: string) => {
    if (typeof v === 'string') {
      out.push(prefix ? `${prefix}.${v}` : v);
      return;
    }
    if (typeof v !== 'object' || v === null) return;
    for (const [key, child] of Object.entries(v)) {
      const path = prefix ? `${prefix}.${key}` : key;
      out.push(path);
      walk(child, path);
    }
  };
  walk(value, '');
  return out;
}
