/**
 * Hand-built WorkflowResults (and matching definitions) for the evaluator
 * tests. Times are offsets in ms from a fixed epoch, so every number the
 * evaluator computes from them is exact and deterministic.
 */
import type { RunRecord } from '../../src/schemas/run-record.js';
import {
  type WorkflowDefinition,
  workflowDefinitionSchema,
} from '../../src/schemas/workflow-definition.js';
import type { TaskStatus, WorkflowResult } from '../../src/schemas/workflow-result.js';

export const T0 = 1_700_000_000_000;

export interface TaskSpec {
  id: string;
  /** @default 'worker' */
  agent?: string;
  /** Offset of the first attempt's start from the run's start; omit for a task that never ran. */
  start?: number;
  /** @default 100 */
  duration?: number;
  /** @default 'completed' */
  status?: TaskStatus;
  /** @default 1, or 0 for a task that never ran */
  attempts?: number;
  error?: { message: string; code?: string };
  output?: unknown;
  dependsOn?: string[];
  timeoutMs?: number;
}

export interface RunSpec {
  name?: string;
  workflowId?: string;
  tasks: TaskSpec[];
  /** Wall time; defaults to the latest task end. */
  totalMs?: number;
  /** @default true unless a task failed */
  success?: boolean;
  /** Offset added to every time, so runs of one history do not overlap. */
  at?: number;
}

let counter = 0;

/** A fresh workflow id per call, so histories hold distinct runs. */
export function nextRunId(): string {
  counter += 1;
  return `run-${String(counter).padStart(4, '0')}`;
}

export function buildRun(spec: RunSpec): {
  result: WorkflowResult;
  definition: WorkflowDefinition;
} {
  const name = spec.name ?? 'feature-build';
  const startedAt = T0 + (spec.at ?? 0);
  const tasks: WorkflowResult['tasks'] = {};
  let end = 0;
  for (const task of spec.tasks) {
    const ran = task.start !== undefined;
    const duration = task.duration ?? 100;
    if (ran) end = Math.max(end, task.start! + duration);
    tasks[task.id] = {
      taskId: task.id,
      agent: task.agent ?? 'worker',
      status: task.status ?? 'completed',
      attempts: task.attempts ?? (ran ? 1 : 0),
      ...(ran
        ? { startedAt: startedAt + task.start!, finishedAt: startedAt + task.start! + duration }
        : {}),
      ...(task.output !== undefined ? { output: task.output } : {}),
      ...(task.error ? { error: { name: 'Error', ...task.error } } : {}),
    };
  }
  const failed = spec.tasks.some((task) => task.status === 'failed');
  const success = spec.success ?? !failed;
  const totalMs = spec.totalMs ?? end;
  const result: WorkflowResult = {
    workflowId: spec.workflowId ?? nextRunId(),
    name,
    status: success ? 'completed' : 'failed',
    success,
    tasks,
    totalExecutionTime: totalMs,
    startedAt,
    finishedAt: startedAt + totalMs,
    context: {},
  };
  const definition = workflowDefinitionSchema.parse({
    name,
    tasks: spec.tasks.map((task) => ({
      id: task.id,
      agent: task.agent ?? 'worker',
      dependsOn: task.dependsOn ?? [],
      ...(task.timeoutMs !== undefined ? { timeoutMs: task.timeoutMs } : {}),
    })),
  });
  return { result, definition };
}

/** The RunRecord the runtime would have stored for a finished run. */
export function runRecordOf(run: ReturnType<typeof buildRun>): RunRecord {
  return {
    workflowId: run.result.workflowId,
    definition: run.definition,
    status: run.result.status,
    createdAt: run.result.startedAt,
    updatedAt: run.result.finishedAt,
    result: run.result,
  };
}

/**
 * plan -> (build-api ‖ build-ui) -> test. With the default durations every
 * task takes 40% or less of the critical path, so a clean run of it calls for
 * no advice at all.
 */
export function diamond(
  overrides: Partial<Record<string, Partial<TaskSpec>>> = {},
  run: Omit<RunSpec, 'tasks'> = {},
) {
  const base: TaskSpec[] = [
    { id: 'plan', agent: 'planner', start: 0, duration: 100 },
    { id: 'build-api', agent: 'backend', start: 100, duration: 200, dependsOn: ['plan'] },
    { id: 'build-ui', agent: 'frontend', start: 100, duration: 200, dependsOn: ['plan'] },
    { id: 'test', agent: 'qa', start: 300, duration: 200, dependsOn: ['build-api', 'build-ui'] },
  ];
  return buildRun({ ...run, tasks: base.map((task) => ({ ...task, ...overrides[task.id] })) });
}

/**
 * A run of `feature-build` whose three sequential tasks take `total` ms
 * between them, for building histories.
 */
export function runTaking(total: number, options: { failed?: number; name?: string } = {}) {
  const third = Math.round(total / 3);
  const durations = [third, third, total - 2 * third];
  const ids = ['fetch', 'transform', 'publish'];
  const tasks: TaskSpec[] = [];
  let start = 0;
  for (const [index, id] of ids.entries()) {
    const failed = index >= ids.length - (options.failed ?? 0);
    tasks.push({
      id,
      agent: index === 1 ? 'transformer' : 'io',
      start,
      duration: durations[index]!,
      dependsOn: index > 0 ? [ids[index - 1]!] : [],
      ...(failed ? { status: 'failed', error: { message: 'boom', code: 'TASK_FAILED' } } : {}),
    });
    start += durations[index]!;
  }
  return buildRun({ name: options.name ?? 'feature-build', tasks });
}

/** A clock that returns `T0 + n` on its n-th call, for deterministic `evaluatedAt`. */
export function steppingClock(): { now(): number } {
  let calls = 0;
  return { now: () => T0 + calls++ };
}
