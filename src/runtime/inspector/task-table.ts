/**
 * A run's tasks as columns: what a page joining a big run receives instead
 * of one object per task (`run.watch` with `compact`). A 10,000-task fan-out
 * is about a third of the size as a table, so it is serialised, sent and
 * parsed in a third of the time, and the page draws the DAG sooner. Pure
 * functions shared by the server (encode) and the page (decode).
 */
import { TASK_STATUSES as STATUSES } from '../../schemas/task-statuses.js';
import type { CompensationView, TaskDelta, TaskStatusName, TaskView } from './protocol.js';

/** Status codes of {@link TaskTable.status}: indexes in this list. */
export const TASK_STATUSES: readonly TaskStatusName[] = STATUSES;

/** What few tasks have, kept per task only where present. */
export interface TaskExtras {
  description?: string;
  progress?: number;
  progressMessage?: string;
  error?: string;
  skipReason?: string;
  compensation?: CompensationView;
}

/**
 * Tasks' changing fields as columns: entry `i` of each column is task `i`
 * of `ids`. A busy run's changes (`run.tasks` for a page that watches with
 * `compact`) take about a third of the bytes of one object per task.
 */
export interface TaskChanges {
  ids: string[];
  /** Index into {@link TASK_STATUSES}. */
  status: number[];
  attempts: number[];
  /** Epoch ms; 0 when not started or not finished. */
  startedAt: number[];
  finishedAt: number[];
  /** Output preview; 0 when none. */
  output: (string | 0)[];
  /** `[index, extras]` for the tasks that have any. */
  extras: [number, TaskExtras][];
}

/** A whole run's tasks, in definition order: their changing fields plus agents and dependencies. */
export interface TaskTable extends TaskChanges {
  /** Distinct agents; `agent[i]` is an index into it. */
  agents: string[];
  agent: number[];
  /** Each task's dependencies as indexes into `ids`. */
  dependsOn: number[][];
}

/** A task's changing fields, with its description where it has one (a whole run's table keeps it). */
type Described = TaskDelta & { description?: string };

export function encodeChanges(tasks: readonly Described[]): TaskChanges {
  const changes: TaskChanges = {
    ids: [],
    status: [],
    attempts: [],
    startedAt: [],
    finishedAt: [],
    output: [],
    extras: [],
  };
  tasks.forEach((task, i) => {
    changes.ids.push(task.id);
    changes.status.push(Math.max(0, TASK_STATUSES.indexOf(task.status)));
    changes.attempts.push(task.attempts);
    changes.startedAt.push(task.startedAt ?? 0);
    changes.finishedAt.push(task.finishedAt ?? 0);
    changes.output.push(task.output ?? 0);
    const extras: TaskExtras = {
      ...(task.description ? { description: task.description } : {}),
      ...(task.progress === undefined ? {} : { progress: task.progress }),
      ...(task.progressMessage === undefined ? {} : { progressMessage: task.progressMessage }),
      ...(task.error === undefined ? {} : { error: task.error }),
      ...(task.skipReason === undefined ? {} : { skipReason: task.skipReason }),
      ...(task.compensation === undefined ? {} : { compensation: task.compensation }),
    };
    if (Object.keys(extras).length > 0) changes.extras.push([i, extras]);
  });
  return changes;
}

export function decodeChanges(changes: TaskChanges): Described[] {
  const extras = new Map(changes.extras);
  return changes.ids.map((id, i) => {
    const more = extras.get(i);
    const startedAt = changes.startedAt[i] ?? 0;
    const finishedAt = changes.finishedAt[i] ?? 0;
    const output = changes.output[i] ?? 0;
    return {
      id,
      status: TASK_STATUSES[changes.status[i] ?? 0] ?? 'pending',
      attempts: changes.attempts[i] ?? 0,
      ...(startedAt ? { startedAt } : {}),
      ...(finishedAt ? { finishedAt } : {}),
      ...(output === 0 ? {} : { output }),
      ...more,
    };
  });
}

export function encodeTasks(tasks: readonly TaskView[]): TaskTable {
  const index = new Map(tasks.map((task, i) => [task.id, i]));
  const agents: string[] = [];
  const agentIndex = new Map<string, number>();
  const agent = tasks.map((task) => {
    let at = agentIndex.get(task.agent);
    if (at === undefined) {
      at = agents.push(task.agent) - 1;
      agentIndex.set(task.agent, at);
    }
    return at;
  });
  return {
    ...encodeChanges(tasks),
    agents,
    agent,
    dependsOn: tasks.map((task) => task.dependsOn.flatMap((id) => index.get(id) ?? [])),
  };
}

export function decodeTasks(table: TaskTable): TaskView[] {
  return decodeChanges(table).map((task, i) => ({
    ...task,
    agent: table.agents[table.agent[i] ?? 0] ?? '',
    dependsOn: (table.dependsOn[i] ?? []).map((d) => table.ids[d] ?? ''),
    description: task.description ?? '',
  }));
}
