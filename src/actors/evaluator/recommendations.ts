/**
 * Advice derived from the numbers of one run. Every recommendation names the
 * task or agent it is about, says what was measured, and what to do. Order is
 * fixed (failures first, then outputs, retries, timeouts, the critical path,
 * bottlenecks) and follows task order within a kind, so equal runs give equal
 * advice.
 */
import type { Recommendation, TaskEvaluation } from './evaluation-schema.js';
import { formatDuration, formatPercent } from './format.js';
import type { RunMetrics } from './metrics.js';

/** A single attempt that used at least this share of its timeout gets a warning. */
export const TIMEOUT_WARNING_USAGE = 0.8;
/** A task taking at least this share of the critical path dominates it. */
export const CRITICAL_TASK_SHARE = 0.5;
/** An agent whose tasks waited at least this share of the run's wall time is a bottleneck. */
export const BOTTLENECK_WAIT_SHARE = 0.1;
/**
 * An agent doing at least this share of the critical path (over 2+ tasks) is a
 * bottleneck. High on purpose: in a sequential workflow some agent always does
 * most of the path, and that alone is not worth a warning.
 */
export const BOTTLENECK_PATH_SHARE = 0.75;

export function recommend(metrics: RunMetrics): Recommendation[] {
  const { tasks } = metrics;
  return [
    ...tasks.filter((task) => task.status === 'failed').map(failed),
    ...tasks.filter((task) => task.outputValid === false).map(invalidOutput),
    ...tasks.filter((task) => task.status === 'completed' && task.retries > 0).map(retried),
    ...tasks.flatMap(timeout),
    ...criticalPath(metrics),
    ...bottleneck(metrics),
  ];
}

function who(task: TaskEvaluation): string {
  return `Task "${task.taskId}" (agent "${task.agent}")`;
}

function about(task: TaskEvaluation): Pick<Recommendation, 'taskId' | 'agent'> {
  return { taskId: task.taskId, agent: task.agent };
}

function failed(task: TaskEvaluation): Recommendation {
  const cause = task.error ? `: ${task.error}` : '';
  const advice =
    task.attempts > 1
      ? `It failed on all ${task.attempts} attempts, so the cause is unlikely to be transient; fix the task's input or the agent.`
      : 'Fix the cause; if the failure is transient, give the task a retry policy (retry.maxAttempts).';
  return {
    kind: 'task-failed',
    ...about(task),
    message: `${who(task)} failed${cause}. ${advice}`,
  };
}

function invalidOutput(task: TaskEvaluation): Recommendation {
  const issues = task.outputIssues?.slice(0, 3).join('; ') ?? 'unknown issue';
  return {
    kind: 'invalid-output',
    ...about(task),
    message: `${who(task)} returned output that does not match its declared schema (${issues}). Make the agent produce the declared shape, or correct the schema.`,
  };
}

function retried(task: TaskEvaluation): Recommendation {
  const plural = task.retries === 1 ? 'retry' : 'retries';
  const last = task.error ? ` (last error: ${task.error})` : '';
  return {
    kind: 'retries',
    ...about(task),
    message: `${who(task)} succeeded only on attempt ${task.attempts} (${task.retries} ${plural})${last}. Find the cause of the transient failures: each retry costs time and hides flakiness.`,
  };
}

function timeout(task: TaskEvaluation): Recommendation[] {
  const limit = task.timeoutMs === null ? '' : ` of ${formatDuration(task.timeoutMs)}`;
  if (task.errorCode === 'TASK_TIMEOUT') {
    return [
      {
        kind: 'timeout',
        ...about(task),
        message: `${who(task)} hit its timeout${limit}. Raise timeoutMs if the work is legitimately slow, or split the task.`,
      },
    ];
  }
  if (task.timeoutUsage !== null && task.timeoutUsage >= TIMEOUT_WARNING_USAGE) {
    return [
      {
        kind: 'timeout',
        ...about(task),
        message: `${who(task)} used ${formatPercent(task.timeoutUsage)} of its ${formatDuration(task.timeoutMs ?? 0)} timeout. It will start failing on a slower day: raise timeoutMs or make it faster.`,
      },
    ];
  }
  return [];
}

/**
 * Timing advice needs times above the timing resolution: a 1 ms task is
 * "100% of a 1 ms critical path" on one run and nothing on the next.
 */
function criticalPath({ tasks, performance, timingResolutionMs }: RunMetrics): Recommendation[] {
  if (tasks.length < 2 || performance.criticalPathMs < Math.max(timingResolutionMs, 1)) return [];
  let top: TaskEvaluation | undefined;
  for (const task of tasks) {
    if (task.onCriticalPath && (task.durationMs ?? 0) > (top?.durationMs ?? 0)) top = task;
  }
  if (!top || top.durationMs === null) return [];
  const share = top.durationMs / performance.criticalPathMs;
  if (share < CRITICAL_TASK_SHARE) return [];
  return [
    {
      kind: 'critical-path',
      ...about(top),
      message: `${who(top)} takes ${formatPercent(share)} of the critical path (${formatDuration(top.durationMs)} of ${formatDuration(performance.criticalPathMs)}). Making it faster, or splitting it into parts that can run in parallel, shortens the whole run the most.`,
    },
  ];
}

function bottleneck({
  tasks,
  agents,
  performance,
  timingResolutionMs,
}: RunMetrics): Recommendation[] {
  // Only waits of at least the timing resolution count: a few ms per task is
  // the runtime's dispatch, not a queue for a slot.
  const queued = new Map<string, { waitMs: number; tasks: string[] }>();
  for (const task of tasks) {
    if (task.waitMs === null || task.waitMs <= 0 || task.waitMs < timingResolutionMs) continue;
    const entry = queued.get(task.agent) ?? { waitMs: 0, tasks: [] };
    entry.waitMs += task.waitMs;
    entry.tasks.push(`"${task.taskId}"`);
    queued.set(task.agent, entry);
  }
  let waiting: { agent: string; waitMs: number; tasks: string[] } | undefined;
  for (const [agent, entry] of queued) {
    if (entry.waitMs > (waiting?.waitMs ?? 0)) waiting = { agent, ...entry };
  }
  if (
    waiting &&
    performance.totalTimeMs > 0 &&
    waiting.waitMs / performance.totalTimeMs >= BOTTLENECK_WAIT_SHARE
  ) {
    return [
      {
        kind: 'agent-bottleneck',
        agent: waiting.agent,
        message: `Agent "${waiting.agent}" is a bottleneck: its tasks (${waiting.tasks.join(', ')}) waited ${formatDuration(waiting.waitMs)} in total for a free slot after their dependencies were done. Raise its concurrency (defineAgent({ concurrency })) or the workflow's maxConcurrency.`,
      },
    ];
  }
  if (agents.length < 2 || performance.criticalPathMs < Math.max(timingResolutionMs, 1)) {
    return [];
  }
  for (const agent of agents) {
    const onPath = tasks.filter((task) => task.agent === agent.agent && task.onCriticalPath);
    const share = agent.criticalPathMs / performance.criticalPathMs;
    if (onPath.length >= 2 && share >= BOTTLENECK_PATH_SHARE) {
      return [
        {
          kind: 'agent-bottleneck',
          agent: agent.agent,
          message: `Agent "${agent.agent}" does ${formatPercent(share)} of the critical path's work (${onPath.map((task) => `"${task.taskId}"`).join(', ')}). The run cannot get faster than this agent: speed it up, or move some of that work to other agents so it can run in parallel.`,
        },
      ];
    }
  }
  return [];
}
