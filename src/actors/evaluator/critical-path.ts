/**
 * The dependency graph of a finished run and its critical path: the chain of
 * dependent tasks with the largest summed duration. With unlimited workers a
 * run can never be faster than its critical path, so comparing the two shows
 * how much time scheduling (concurrency limits, slow starts) cost.
 */
import type { WorkflowDefinition } from '../../schemas/workflow-definition.js';

/** The timing of one task, as far as it is known. */
export interface TimedTask {
  taskId: string;
  startedAt: number | undefined;
  finishedAt: number | undefined;
  /** Null if the task never ran. */
  durationMs: number | null;
}

export interface DependencyGraph {
  /** Direct dependencies of each task id. */
  deps: ReadonlyMap<string, readonly string[]>;
  source: 'definition' | 'inferred';
  notes: string[];
}

export interface CriticalPath {
  /** Task ids from the first to the last task on the path. */
  path: string[];
  lengthMs: number;
}

/**
 * Dependencies from the definition's `dependsOn` when a definition is given.
 * Without one, they are inferred from timing: tasks are taken in start order
 * and a task is assumed to depend on every task that finished before it
 * started. On a sequential run that is exactly the run's order; on a parallel
 * run it never invents a chain longer than the run itself.
 */
export function dependencyGraph(
  tasks: readonly TimedTask[],
  definition: WorkflowDefinition | undefined,
): DependencyGraph {
  const known = new Set(tasks.map((task) => task.taskId));
  const deps = new Map<string, string[]>();
  const notes: string[] = [];
  if (!definition) {
    for (const task of tasks) deps.set(task.taskId, finishedBefore(task, tasks));
    notes.push(
      'No workflow definition was given, so task dependencies were inferred from timing: tasks taken in start order, each depending on the tasks that finished before it started. Pass { definition } for an exact critical path.',
    );
    return { deps, source: 'inferred', notes };
  }
  const declared = new Map(definition.tasks.map((task) => [task.id, task.dependsOn]));
  const added: string[] = [];
  for (const task of tasks) {
    const dependsOn = declared.get(task.taskId);
    if (dependsOn)
      deps.set(
        task.taskId,
        dependsOn.filter((dep) => known.has(dep)),
      );
    else {
      added.push(task.taskId);
      deps.set(task.taskId, finishedBefore(task, tasks));
    }
  }
  if (added.length > 0) {
    notes.push(
      `Task(s) ${added.map((id) => `"${id}"`).join(', ')} are not in the definition (added while running); their dependencies were inferred from timing.`,
    );
  }
  return { deps, source: 'definition', notes };
}

function finishedBefore(task: TimedTask, tasks: readonly TimedTask[]): string[] {
  const start = task.startedAt;
  if (start === undefined) return [];
  const index = tasks.indexOf(task);
  return tasks
    .filter((other, otherIndex) => {
      if (other.startedAt === undefined || other.finishedAt === undefined) return false;
      // Only tasks earlier in start order (ties broken by position) qualify, so
      // two zero-length tasks at one instant cannot depend on each other.
      const earlier = other.startedAt < start || (other.startedAt === start && otherIndex < index);
      return earlier && other.finishedAt <= start;
    })
    .map((other) => other.taskId);
}

/**
 * The longest duration-weighted path through `deps`. Ties go to the task that
 * comes first in `order` (and to the dependency listed first), so the result
 * is deterministic. Tasks that never ran weigh nothing and are left off the
 * path. Iterative (topological order), so a chain of thousands of tasks cannot
 * overflow the stack; a cycle (impossible in a validated definition) is cut:
 * its tasks count only the dependencies computed before them.
 */
export function longestPath(
  order: readonly string[],
  deps: ReadonlyMap<string, readonly string[]>,
  weight: (taskId: string) => number,
): CriticalPath {
  const known = new Set(order);
  const pending = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const id of order) {
    const own = (deps.get(id) ?? []).filter((dep) => known.has(dep) && dep !== id);
    pending.set(id, own.length);
    for (const dep of own) {
      const list = dependents.get(dep);
      if (list) list.push(id);
      else dependents.set(dep, [id]);
    }
  }
  const best = new Map<string, { length: number; prev: string | undefined }>();
  const settle = (id: string) => {
    let prev: string | undefined;
    let prevLength = 0;
    for (const dep of deps.get(id) ?? []) {
      const length = best.get(dep)?.length ?? 0;
      if (length > prevLength) {
        prev = dep;
        prevLength = length;
      }
    }
    best.set(id, { length: weight(id) + prevLength, prev });
  };
  const ready = order.filter((id) => pending.get(id) === 0);
  for (let i = 0; i < ready.length; i++) {
    const id = ready[i]!;
    settle(id);
    for (const dependent of dependents.get(id) ?? []) {
      const left = pending.get(dependent)! - 1;
      pending.set(dependent, left);
      if (left === 0) ready.push(dependent);
    }
  }
  for (const id of order) if (!best.has(id)) settle(id);

  let end: string | undefined;
  let lengthMs = 0;
  for (const id of order) {
    const length = best.get(id)!.length;
    if (length > lengthMs) {
      end = id;
      lengthMs = length;
    }
  }
  const path: string[] = [];
  const seen = new Set<string>();
  for (let id = end; id !== undefined && !seen.has(id); id = best.get(id)?.prev) {
    seen.add(id);
    if (weight(id) > 0 || path.length > 0) path.push(id);
  }
  return { path: path.reverse(), lengthMs };
}

/**
 * How long each task waited after its dependencies settled (or the run
 * started) before its first attempt began.
 */
export function waitTimes(
  tasks: readonly TimedTask[],
  deps: ReadonlyMap<string, readonly string[]>,
  runStartedAt: number,
): Map<string, number> {
  const finished = new Map(tasks.map((task) => [task.taskId, task.finishedAt]));
  const waits = new Map<string, number>();
  for (const task of tasks) {
    if (task.startedAt === undefined) continue;
    let readyAt = runStartedAt;
    for (const dep of deps.get(task.taskId) ?? []) {
      const at = finished.get(dep);
      if (at !== undefined && at > readyAt) readyAt = at;
    }
    waits.set(task.taskId, Math.max(0, task.startedAt - readyAt));
  }
  return waits;
}
