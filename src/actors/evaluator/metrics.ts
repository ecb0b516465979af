/**
 * Pure metric computation over one finished run: no clock, no store, no I/O,
 * so the same result always gives the same numbers.
 */
import type { z } from 'zod';
import type { WorkflowDefinition } from '../../schemas/workflow-definition.js';
import type { TaskResult, WorkflowResult } from '../../schemas/workflow-result.js';
import { dependencyGraph, longestPath, type TimedTask, waitTimes } from './critical-path.js';
import type { AgentStats, PerformanceMetrics, TaskEvaluation } from './evaluation-schema.js';
import { type ProducedWork, producedWork } from './produced-work.js';

/** Zod schemas the outputs of some tasks must match, keyed by task id. */
export type OutputSchemas = Readonly<Record<string, z.ZodType>>;

export interface MetricsInput {
  result: WorkflowResult;
  /** Gives exact dependencies (critical path, waits) and timeouts. */
  definition?: WorkflowDefinition | undefined;
  /** A null-prototype table (see keyed-table.ts): task ids are user data. */
  outputSchemas?: OutputSchemas | undefined;
  /** Smallest time difference that counts (see `WorkflowEvaluatorOptions`). */
  timingResolutionMs: number;
}

/** Everything measurable about a run; the score and advice are built on it. */
export interface RunMetrics {
  tasks: TaskEvaluation[];
  performance: PerformanceMetrics;
  agents: AgentStats[];
  errorRate: number;
  firstAttemptRate: number | null;
  outputsChecked: number;
  outputsValid: number;
  /** Tasks on the longest chain of dependencies that ran, counted (not timed). */
  dependencyLevels: number;
  timingResolutionMs: number;
  notes: string[];
  /** Files, commands and decisions of tool-using agents; absent when no task used tools. */
  work?: ProducedWork;
}

export function computeMetrics({
  result,
  definition,
  outputSchemas = Object.create(null),
  timingResolutionMs,
}: MetricsInput): RunMetrics {
  const results = Object.values(result.tasks);
  const timed = results.map(toTimed);
  const graph = dependencyGraph(timed, definition);
  const durations = new Map(timed.map((task) => [task.taskId, task.durationMs ?? 0]));
  const critical = longestPath(
    timed.map((task) => task.taskId),
    graph.deps,
    (id) => durations.get(id) ?? 0,
  );
  const onPath = new Set(critical.path);
  const ranIds = new Set(timed.filter((task) => task.durationMs !== null).map((t) => t.taskId));
  const levels = longestPath(
    timed.map((task) => task.taskId),
    graph.deps,
    (id) => (ranIds.has(id) ? 1 : 0),
  ).lengthMs;
  const waits =
    graph.source === 'definition' ? waitTimes(timed, graph.deps, result.startedAt) : undefined;
  const notes = [...graph.notes];
  const timeoutOf = timeoutsOf(definition);

  const unknownSchemas = Object.keys(outputSchemas).filter((id) => !(id in result.tasks));
  if (unknownSchemas.length > 0) {
    notes.push(`Output schemas were given for unknown task(s): ${unknownSchemas.join(', ')}.`);
  }

  const tasks = results.map((task, index): TaskEvaluation => {
    const durationMs = timed[index]!.durationMs;
    const timeoutMs = timeoutOf(task.taskId);
    const evaluation: TaskEvaluation = {
      taskId: task.taskId,
      agent: task.agent,
      status: task.status,
      durationMs,
      attempts: task.attempts,
      retries: Math.max(0, task.attempts - 1),
      waitMs: waits ? (waits.get(task.taskId) ?? null) : null,
      timeoutMs,
      timeoutUsage:
        timeoutMs !== null && durationMs !== null && task.attempts === 1
          ? durationMs / timeoutMs
          : null,
      onCriticalPath: onPath.has(task.taskId),
      ...errorFields(task),
    };
    const schema = outputSchemas[task.taskId];
    if (schema && task.status === 'completed') {
      const parsed = schema.safeParse(task.output);
      evaluation.outputValid = parsed.success;
      if (!parsed.success) {
        evaluation.outputIssues = parsed.error.issues.map(
          (issue) => `${issue.path.map(String).join('.') || '(output)'}: ${issue.message}`,
        );
      }
    }
    return evaluation;
  });

  const ran = tasks.filter((task) => task.durationMs !== null).map((task) => task.durationMs!);
  const count = (status: TaskResult['status']) => tasks.filter((t) => t.status === status).length;
  const completedTasks = count('completed');
  const skippedTasks = count('skipped');
  const meant = tasks.length - skippedTasks;
  const totalAttempts = sum(tasks.map((task) => task.attempts));
  const failedAttempts = sum(
    tasks.map((task) => (task.status === 'failed' ? task.attempts : task.retries)),
  );
  const settled = tasks.filter(
    (task) => task.attempts > 0 && (task.status === 'completed' || task.status === 'failed'),
  );
  const busyTimeMs = sum(ran);
  const totalTimeMs = result.totalExecutionTime;
  const peakConcurrency = peakOverlap(timed);
  // Busy for less than the timing resolution, the tasks were near-instant:
  // how busy they kept the slots is clock ticks and dispatch noise.
  const measurable = totalTimeMs > 0 && busyTimeMs >= timingResolutionMs;
  const averageConcurrency = measurable ? busyTimeMs / totalTimeMs : null;
  const checked = tasks.filter((task) => task.outputValid !== undefined);

  const performance: PerformanceMetrics = {
    totalTimeMs,
    taskCount: tasks.length,
    completedTasks,
    failedTasks: count('failed'),
    skippedTasks,
    // A run with nothing to do succeeded exactly when the workflow says so.
    successRate: meant > 0 ? completedTasks / meant : result.success ? 1 : 0,
    meanTaskTimeMs: ran.length > 0 ? busyTimeMs / ran.length : null,
    p95TaskTimeMs: percentile(ran, 0.95),
    totalAttempts,
    totalRetries: sum(tasks.map((task) => task.retries)),
    criticalPathMs: critical.lengthMs,
    criticalPath: critical.path,
    criticalPathSource: graph.source,
    criticalPathRatio: totalTimeMs > 0 && ran.length > 0 ? critical.lengthMs / totalTimeMs : null,
    busyTimeMs,
    peakConcurrency,
    averageConcurrency,
    parallelEfficiency:
      averageConcurrency !== null && peakConcurrency > 0
        ? Math.min(1, averageConcurrency / peakConcurrency)
        : null,
  };

  return {
    tasks,
    performance,
    agents: agentStats(tasks),
    errorRate: totalAttempts > 0 ? failedAttempts / totalAttempts : 0,
    firstAttemptRate:
      settled.length > 0
        ? settled.filter((task) => task.status === 'completed' && task.attempts === 1).length /
          settled.length
        : null,
    outputsChecked: checked.length,
    outputsValid: checked.filter((task) => task.outputValid).length,
    dependencyLevels: levels,
    timingResolutionMs,
    notes,
    ...withWork(producedWork(result)),
  };
}

function withWork(work: ProducedWork | undefined): { work?: ProducedWork } {
  return work ? { work } : {};
}

function toTimed(task: TaskResult): TimedTask {
  const { startedAt, finishedAt } = task;
  const durationMs =
    startedAt !== undefined && finishedAt !== undefined
      ? Math.max(0, finishedAt - startedAt)
      : null;
  return { taskId: task.taskId, startedAt, finishedAt, durationMs };
}

/** Per-attempt timeout of each task: its own, else the workflow default; none without a definition. */
function timeoutsOf(definition: WorkflowDefinition | undefined): (taskId: string) => number | null {
  if (!definition) return () => null;
  const own = new Map(definition.tasks.map((task) => [task.id, task.timeoutMs]));
  return (taskId) => own.get(taskId) ?? definition.defaults.timeoutMs ?? null;
}

function errorFields(task: TaskResult): Pick<TaskEvaluation, 'error' | 'errorCode'> {
  if (!task.error) return {};
  const { code, message } = task.error;
  return code ? { error: `${code}: ${message}`, errorCode: code } : { error: message };
}

/** Per agent, in order of first appearance. */
function agentStats(tasks: readonly TaskEvaluation[]): AgentStats[] {
  const byAgent = new Map<string, AgentStats>();
  for (const task of tasks) {
    let stats = byAgent.get(task.agent);
    if (!stats) {
      stats = {
        agent: task.agent,
        tasks: 0,
        busyMs: 0,
        criticalPathMs: 0,
        waitMs: task.waitMs === null ? null : 0,
        retries: 0,
        failures: 0,
      };
      byAgent.set(task.agent, stats);
    }
    const duration = task.durationMs ?? 0;
    stats.tasks += 1;
    stats.busyMs += duration;
    if (task.onCriticalPath) stats.criticalPathMs += duration;
    if (stats.waitMs !== null && task.waitMs !== null) stats.waitMs += task.waitMs;
    stats.retries += task.retries;
    if (task.status === 'failed') stats.failures += 1;
  }
  return [...byAgent.values()];
}

/**
 * Nearest-rank percentile: the smallest value with at least `p` of the values
 * at or below it. Always one of the inputs, so it is exact for small runs.
 */
export function percentile(values: readonly number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(p * sorted.length));
  return sorted[rank - 1]!;
}

/** Most intervals open at one instant; an interval ending as another starts does not overlap it. */
export function peakOverlap(tasks: readonly TimedTask[]): number {
  const edges: Array<[at: number, delta: number]> = [];
  let anyRan = false;
  for (const task of tasks) {
    if (task.startedAt === undefined || task.finishedAt === undefined) continue;
    anyRan = true;
    // A zero-length task overlaps nothing; sorting its end before its own
    // start would make the count dip below the truth.
    if (task.finishedAt > task.startedAt) edges.push([task.startedAt, 1], [task.finishedAt, -1]);
  }
  edges.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let open = 0;
  let peak = anyRan ? 1 : 0;
  for (const [, delta] of edges) {
    open += delta;
    peak = Math.max(peak, open);
  }
  return peak;
}

function sum(values: readonly number[]): number {
  return values.reduce((total, value) => total + value, 0);
}
