/**
 * A run's tasks as columns: what a page joining a big run receives instead
 * of one object per task (`run.watch` with `compact`). A 10,000-task fan-out
 * is about a third of the size as a table, so it is serialised, sent and
 * parsed in a third of the time, and the page draws the DAG sooner. Pure
 * functions shared by the server (encode) and the page (decode).
 */
import { taskStatusSchema } from '../../schemas/workflow-result.js';
import type { CompensationView, TaskStatusName, TaskView } from './protocol.js';

/** Status codes of {@link TaskTable.status}. */
export const TASK_STATUSES: readonly TaskStatusName[] = taskStatusSchema.options;

/** What few tasks have, kept per task only where present. */
export interface TaskExtras {
  description?: string;
  progress?: number;
  progressMessage?: string;
  error?: string;
  skipReason?: string;
  compensation?: CompensationView;
}

/** Entry `i` of each column is task `i` of `ids`, in definition order. */
export interface TaskTable {
  ids: string[];
  /** Distinct agents; `agent[i]` is an index into it. */
  agents: string[];
  agent: number[];
  /** Each task's dependencies as indexes into `ids`. */
  dependsOn: number[][];
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

export function encodeTasks(tasks: readonly TaskView[]): TaskTable {
  const index = new Map(tasks.map((task, i) => [task.id, i]));
  const agentIndex = new Map<string, number>();
  const table: TaskTable = {
    ids: [],
    agents: [],
    agent: [],
    dependsOn: [],
    status: [],
    attempts: [],
    startedAt: [],
    finishedAt: [],
    output: [],
    extras: [],
  };
  tasks.forEach((task, i) => {
    let agent = agentIndex.get(task.agent);
    if (agent === undefined) {
      agent = table.agents.push(task.agent) - 1;
      agentIndex.set(task.agent, agent);
    }
    table.ids.push(task.id);
    table.agent.push(agent);
    table.dependsOn.push(task.dependsOn.flatMap((id) => index.get(id) ?? []));
    table.status.push(Math.max(0, TASK_STATUSES.indexOf(task.status)));
    table.attempts.push(task.attempts);
    table.startedAt.push(task.startedAt ?? 0);
    table.finishedAt.push(task.finishedAt ?? 0);
    table.output.push(task.output ?? 0);
    const extras: TaskExtras = {
      ...(task.description ? { description: task.description } : {}),
      ...(task.progress === undefined ? {} : { progress: task.progress }),
      ...(task.progressMessage === undefined ? {} : { progressMessage: task.progressMessage }),
      ...(task.error === undefined ? {} : { error: task.error }),
      ...(task.skipReason === undefined ? {} : { skipReason: task.skipReason }),
      ...(task.compensation === undefined ? {} : { compensation: task.compensation }),
    };
    if (Object.keys(extras).length > 0) table.extras.push([i, extras]);
  });
  return table;
}

export function decodeTasks(table: TaskTable): TaskView[] {
  const extras = new Map(table.extras);
  return table.ids.map((id, i) => {
    const more = extras.get(i);
    const startedAt = table.startedAt[i] ?? 0;
    const finishedAt = table.finishedAt[i] ?? 0;
    const output = table.output[i] ?? 0;
    return {
      id,
      status: TASK_STATUSES[table.status[i] ?? 0] ?? 'pending',
      attempts: table.attempts[i] ?? 0,
      ...(startedAt ? { startedAt } : {}),
      ...(finishedAt ? { finishedAt } : {}),
      ...(output === 0 ? {} : { output }),
      ...more,
      agent: table.agents[table.agent[i] ?? 0] ?? '',
      dependsOn: (table.dependsOn[i] ?? []).map((d) => table.ids[d] ?? ''),
      description: more?.description ?? '',
    };
  });
}
