/**
 * The shape check of a workflow definition (its zod schema), fast for large
 * definitions. zod's parse of a task costs about 5 µs, paid by every run for
 * every task: more than a whole task costs to run. Most tasks are plain
 * `{ id, agent, dependsOn, description?, input? }` objects, which are checked
 * here by hand with the very same rules; any other task goes through zod
 * itself. Whenever anything is wrong, the whole definition is parsed by zod
 * again, so an invalid definition gets exactly zod's issues, paths and
 * messages, and a valid one exactly zod's output.
 */
import { z } from 'zod';
import { inspectJson } from './json-value.js';
import {
  IDENTIFIER_PATTERN,
  MAX_DESCRIPTION_LENGTH,
  MAX_IDENTIFIER_LENGTH,
  type TaskDefinition,
  taskDefinitionSchema,
  type WorkflowDefinition,
  workflowDefinitionSchema,
} from './workflow-definition.js';

/** The definition schema with its tasks left unchecked (each is checked below; a failure here is reported by the full schema). */
const definitionShell = workflowDefinitionSchema.extend({ tasks: z.array(z.unknown()).min(1) });

/** The keys of a task the hand-written check covers; a task with any other goes through zod. */
const PLAIN_TASK_KEYS: ReadonlySet<string> = new Set([
  'id',
  'kind',
  'agent',
  'description',
  'input',
  'dependsOn',
]);

function isIdentifier(value: unknown): value is string {
  return (
    typeof value === 'string' &&
    value.length >= 1 &&
    value.length <= MAX_IDENTIFIER_LENGTH &&
    IDENTIFIER_PATTERN.test(value)
  );
}

/** `jsonObjectSchema` in value-check.ts. */
function isJsonObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    inspectJson(value, '').ok
  );
}

/**
 * A plain agent task checked by hand, as `taskDefinitionSchema` outputs it
 * (same keys, same order, same defaults; `input` is the object given, like
 * zod's); undefined when the task is not such a task or is not valid.
 */
function plainTask(value: unknown): TaskDefinition | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const prototype = Object.getPrototypeOf(value);
  if (prototype !== Object.prototype && prototype !== null) return undefined;
  const task = value as Record<string, unknown>;
  for (const key in task) if (!PLAIN_TASK_KEYS.has(key)) return undefined;
  const { id, kind, agent, description, input, dependsOn } = task;
  if (!isIdentifier(id) || !isIdentifier(agent)) return undefined;
  if (kind !== undefined && kind !== 'agent') return undefined;
  if (
    description !== undefined &&
    !(typeof description === 'string' && description.length <= MAX_DESCRIPTION_LENGTH)
  )
    return undefined;
  if (input !== undefined && !isJsonObject(input)) return undefined;
  let dependencies: string[] = [];
  if (dependsOn !== undefined) {
    if (!Array.isArray(dependsOn)) return undefined;
    dependencies = new Array<string>(dependsOn.length);
    for (let i = 0; i < dependsOn.length; i++) {
      const dependency: unknown = dependsOn[i];
      if (!isIdentifier(dependency)) return undefined;
      dependencies[i] = dependency;
    }
  }
  return {
    id,
    kind: 'agent',
    agent,
    description: description ?? '',
    input: input ?? {},
    dependsOn: dependencies,
  };
}

function checkedTask(value: unknown): TaskDefinition | undefined {
  const plain = plainTask(value);
  if (plain) return plain;
  const parsed = taskDefinitionSchema.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

/**
 * `workflowDefinitionSchema.safeParse(input)`, with the same result (data
 * or error), faster for definitions of many plain tasks.
 */
export function parseDefinitionShape(input: unknown): z.ZodSafeParseResult<WorkflowDefinition> {
  const shell = definitionShell.safeParse(input);
  if (shell.success) {
    const given = shell.data.tasks;
    const tasks = new Array<TaskDefinition>(given.length);
    let valid = true;
    for (let i = 0; i < given.length && valid; i++) {
      const task = checkedTask(given[i]);
      if (task) tasks[i] = task;
      else valid = false;
    }
    if (valid) {
      const definition = shell.data as WorkflowDefinition;
      definition.tasks = tasks;
      return { success: true, data: definition };
    }
  }
  return workflowDefinitionSchema.safeParse(input);
}
