/**
 * Fan-outs drawn as one node: tasks named `<prefix><number>` (`fetch-1` ..
 * `fetch-40`) with the same agent and the same dependencies become a group
 * that shows its members' statuses and expands on demand. A 40-way fan-out
 * then takes one box, and a 10,000-task fan-out can still be drawn as a graph.
 */
import type { TaskView } from '../../src/runtime/inspector/protocol.js';

/** Fewest members that make a group. */
export const MIN_GROUP = 4;

export interface DagNode {
  /** A task id, or `group:<key>`. */
  id: string;
  group: boolean;
  /** Task ids inside (one for a task). */
  members: string[];
  /** What the box says: the task id, or `fetch-1..fetch-40`. */
  label: string;
  /** Node ids this node depends on. */
  dependsOn: string[];
  /** The group's key, for expanding it. */
  key?: string;
}

export interface DagShape {
  nodes: DagNode[];
  /** Node id of each task. */
  nodeOf: Map<string, string>;
}

export function groupTasks(tasks: Iterable<TaskView>, expanded: ReadonlySet<string>): DagShape {
  const byKey = new Map<string, { task: TaskView; n: number }[]>();
  const keyOf = new Map<string, string>();
  const all: TaskView[] = [];
  for (const task of tasks) {
    all.push(task);
    const digits = trailingDigits(task.id);
    if (digits === 0) continue;
    const cut = task.id.length - digits;
    const key = `${task.id.slice(0, cut)}\u0000${task.agent}\u0000${dependencyKey(task.dependsOn)}`;
    keyOf.set(task.id, key);
    let list = byKey.get(key);
    if (!list) {
      list = [];
      byKey.set(key, list);
    }
    list.push({ task, n: Number(task.id.slice(cut)) });
  }
  const nodeOf = new Map<string, string>();
  const nodes: DagNode[] = [];
  const made = new Set<string>();
  for (const task of all) {
    const key = keyOf.get(task.id);
    const members = key === undefined ? undefined : byKey.get(key);
    if (key !== undefined && members && members.length >= MIN_GROUP && !expanded.has(key)) {
      const id = `group:${key}`;
      nodeOf.set(task.id, id);
      if (made.has(id)) continue;
      made.add(id);
      const sorted = [...members].sort((a, b) => a.n - b.n);
      nodes.push({
        id,
        group: true,
        key,
        members: sorted.map((m) => m.task.id),
        label: `${sorted[0]!.task.id}..${sorted[sorted.length - 1]!.task.id}`,
        dependsOn: task.dependsOn,
      });
      continue;
    }
    nodeOf.set(task.id, task.id);
    nodes.push({
      id: task.id,
      group: false,
      members: [task.id],
      label: task.id,
      dependsOn: task.dependsOn,
    });
  }
  for (const node of nodes) {
    const deps = new Set<string>();
    for (const dep of node.dependsOn) {
      const target = nodeOf.get(dep);
      if (target !== undefined && target !== node.id) deps.add(target);
    }
    node.dependsOn = [...deps];
  }
  return { nodes, nodeOf };
}

/** How many digits end `id` (a regular expression per task showed in profiles of 10,000-task runs). */
function trailingDigits(id: string): number {
  let i = id.length;
  while (i > 0) {
    const code = id.charCodeAt(i - 1);
    if (code < 48 || code > 57) break;
    i--;
  }
  return id.length - i;
}

function dependencyKey(dependsOn: readonly string[]): string {
  if (dependsOn.length <= 1) return dependsOn[0] ?? '';
  return [...dependsOn].sort().join('\u0001');
}
