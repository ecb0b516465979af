import type { z } from 'zod';
import { TroupeError } from '../errors.js';
import { referencedGuards, referencedTasks } from './condition.js';
import { parseDefinitionShape } from './definition-shape.js';
import {
  type TaskDefinition,
  taskDefinitionSchema,
  type WorkflowDefinition,
} from './workflow-definition.js';

/** What a definition is checked against besides its own shape. */
export interface DefinitionRegistry {
  /** Roles of the registered agents; unchecked when omitted (the evaluator knows no agents). */
  roles?: ReadonlySet<string>;
  /** Names of the registered condition guards; unchecked when omitted. */
  guards?: ReadonlySet<string>;
  /** Names of the registered workflows (child runs by name); unchecked when omitted. */
  workflows?: ReadonlySet<string>;
}

/**
 * Parses and checks a workflow definition: its shape (zod), then the graph
 * (duplicate ids, dangling or self dependencies, cycles, conditions reading
 * tasks that are not upstream) and the registry (unknown roles and guards).
 * Every problem found is reported at once, each naming the field.
 *
 * @throws TroupeError `INVALID_DEFINITION` with `context.issues`.
 */
export function validateDefinition(
  input: unknown,
  registry: DefinitionRegistry,
): WorkflowDefinition {
  const parsed = parseDefinitionShape(input);
  if (!parsed.success) throw definitionError(formatZodIssues(parsed.error));
  const issues = checkTasks(parsed.data.tasks, registry, new Map());
  if (issues.length > 0) throw definitionError(issues, parsed.data.name);
  return parsed.data;
}

/**
 * Checks tasks added to a running workflow: they may depend on existing tasks
 * and on each other, never the other way round, so a cycle can only form among
 * the new tasks, and it is reported like any other.
 */
export function validateAddedTasks(
  input: unknown,
  existing: ReadonlyMap<string, TaskDefinition>,
  registry: DefinitionRegistry,
): TaskDefinition[] {
  const parsed = taskDefinitionSchema.array().min(1).safeParse(input);
  if (!parsed.success) throw definitionError(formatZodIssues(parsed.error, 'addedTasks'));
  const issues = checkTasks(parsed.data, registry, existing, 'addedTasks');
  if (issues.length > 0) throw definitionError(issues);
  return parsed.data;
}

function checkTasks(
  tasks: readonly TaskDefinition[],
  registry: DefinitionRegistry,
  existing: ReadonlyMap<string, TaskDefinition>,
  root = 'tasks',
): string[] {
  const issues: string[] = [];
  const byId = new Map<string, TaskDefinition>();
  tasks.forEach((task, index) => {
    if (byId.has(task.id) || existing.has(task.id)) {
      issues.push(`${root}[${index}].id: duplicate task id "${task.id}"`);
    }
    byId.set(task.id, task);
  });
  const { roles } = registry;
  tasks.forEach((task, index) => {
    const at = `${root}[${index}]`;
    if (task.kind === 'workflow') issues.push(...checkChild(task, registry, at));
    else if (task.kind !== 'agent') {
      // A person answers: no agent.
    } else if (roles && !roles.has(task.agent)) {
      const known = [...roles].sort().join(', ') || '(none registered)';
      issues.push(`${at}.agent: unknown agent role "${task.agent}"; known roles: ${known}`);
    }
    task.dependsOn.forEach((dep, d) => {
      if (dep === task.id)
        issues.push(`${at}.dependsOn[${d}]: task "${task.id}" depends on itself`);
      else if (!byId.has(dep) && !existing.has(dep)) {
        issues.push(`${at}.dependsOn[${d}]: unknown task "${dep}"`);
      }
    });
    if (task.condition && registry.guards) {
      for (const guard of referencedGuards(task.condition)) {
        if (!registry.guards.has(guard)) {
          const known = [...registry.guards].sort().join(', ') || '(none registered)';
          issues.push(`${at}.condition: unknown guard "${guard}"; known guards: ${known}`);
        }
      }
    }
  });
  if (issues.length > 0) return issues;

  const cycle = isAcyclic(byId) ? undefined : findCycle(byId);
  if (cycle) return [`${root}: dependency cycle ${cycle.join(' -> ')}`];

  tasks.forEach((task, index) => {
    if (!task.condition) return;
    const upstream = ancestors(task.id, byId, existing);
    for (const ref of referencedTasks(task.condition)) {
      if (!upstream.has(ref)) {
        issues.push(
          `${root}[${index}].condition: reads task "${ref}", which is not upstream of "${task.id}" (add it to dependsOn)`,
        );
      }
    }
  });
  return issues;
}

/** A `workflow` task's child: a registered name, or an inline definition valid on its own. */
function checkChild(task: TaskDefinition, registry: DefinitionRegistry, at: string): string[] {
  const child = task.workflow!;
  if (child.name !== undefined) {
    if (!registry.workflows || registry.workflows.has(child.name)) return [];
    const known = [...registry.workflows].sort().join(', ') || '(none registered)';
    return [`${at}.workflow.name: unknown workflow "${child.name}"; registered: ${known}`];
  }
  try {
    validateDefinition(child.definition, registry);
    return [];
  } catch (error) {
    const nested = (error as TroupeError).context?.issues ?? [(error as Error).message];
    return nested.map((issue) => `${at}.workflow.definition.${issue}`);
  }
}

/**
 * Whether the dependencies form no cycle (Kahn's algorithm: tasks whose
 * dependencies are all done are done, until none is left). Iterative, with
 * no closure or path per task: the check of every definition, while the
 * search below, which names the cycle, runs only when there is one.
 */
function isAcyclic(tasks: ReadonlyMap<string, TaskDefinition>): boolean {
  const waitingOn = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  const done: string[] = [];
  for (const [id, task] of tasks) {
    let count = 0;
    for (const dep of task.dependsOn) {
      if (!tasks.has(dep)) continue;
      count++;
      const list = dependents.get(dep);
      if (list) list.push(id);
      else dependents.set(dep, [id]);
    }
    waitingOn.set(id, count);
    if (count === 0) done.push(id);
  }
  for (let i = 0; i < done.length; i++) {
    for (const dependent of dependents.get(done[i]!) ?? []) {
      const left = waitingOn.get(dependent)! - 1;
      waitingOn.set(dependent, left);
      if (left === 0) done.push(dependent);
    }
  }
  return done.length === tasks.size;
}

/** Depth-first search with colours; returns the ids on the first cycle found, closed. */
function findCycle(tasks: ReadonlyMap<string, TaskDefinition>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const path: string[] = [];
  const visit = (id: string): string[] | undefined => {
    const mark = state.get(id);
    if (mark === 'done') return undefined;
    if (mark === 'visiting') return [...path.slice(path.indexOf(id)), id];
    state.set(id, 'visiting');
    path.push(id);
    for (const dep of tasks.get(id)?.dependsOn ?? []) {
      if (!tasks.has(dep)) continue;
      const found = visit(dep);
      if (found) return found;
    }
    path.pop();
    state.set(id, 'done');
    return undefined;
  };
  for (const id of tasks.keys()) {
    const found = visit(id);
    // The walk follows dependsOn edges; print the cycle in execution order.
    if (found) return found.reverse();
  }
  return undefined;
}

function ancestors(
  id: string,
  tasks: ReadonlyMap<string, TaskDefinition>,
  existing: ReadonlyMap<string, TaskDefinition>,
): Set<string> {
  const seen = new Set<string>();
  const stack = [...(tasks.get(id)?.dependsOn ?? [])];
  while (stack.length > 0) {
    const next = stack.pop()!;
    if (seen.has(next)) continue;
    seen.add(next);
    stack.push(...((tasks.get(next) ?? existing.get(next))?.dependsOn ?? []));
  }
  return seen;
}

export function formatZodIssues(error: z.ZodError, root?: string): string[] {
  return error.issues.map((issue) => {
    let path = root ?? '';
    for (const key of issue.path) {
      path += typeof key === 'number' ? `[${key}]` : path ? `.${String(key)}` : String(key);
    }
    return `${path || '(root)'}: ${issue.message}`;
  });
}

function definitionError(issues: string[], name?: string): TroupeError {
  const subject = name ? `workflow "${name}"` : 'workflow definition';
  return new TroupeError(
    'INVALID_DEFINITION',
    `Invalid ${subject}:\n  - ${issues.join('\n  - ')}`,
    { issues },
  );
}
