/**
 * The stored shape of a workflow evaluation. Evaluations are plain JSON (the
 * store's `evaluations` collection keeps them per workflow name), so every
 * field is a number, string, boolean, array or object; a value that cannot be
 * computed for a run is `null`, never `NaN` or `Infinity`.
 */
import { z } from 'zod';
import { taskStatusSchema, workflowStatusSchema } from '../../schemas/workflow-result.js';
import { producedWorkSchema } from './produced-work.js';

/** Bumped when the stored shape of an evaluation changes incompatibly. */
export const EVALUATION_FORMAT_VERSION = 1;

export const gradeSchema = z.enum(['EXCELLENT', 'GOOD', 'FAIR', 'POOR']);
/** Grade of an evaluation, from its score and success: EXCELLENT, GOOD, FAIR or POOR. */
export type Grade = z.infer<typeof gradeSchema>;

export const taskEvaluationSchema = z.object({
  taskId: z.string(),
  agent: z.string(),
  status: taskStatusSchema,
  /** `finishedAt - startedAt` (all attempts and retry delays); null if the task never ran. */
  durationMs: z.number().nullable(),
  attempts: z.number().int().min(0),
  retries: z.number().int().min(0),
  /**
   * How long the task waited for a free slot after its dependencies settled.
   * Null when the dependencies are unknown (no definition given).
   */
  waitMs: z.number().nullable(),
  /** The per-attempt limit from the definition (task, else workflow default). */
  timeoutMs: z.number().nullable(),
  /**
   * `durationMs / timeoutMs` for a task that ran once; null otherwise, because
   * the length of a single attempt of a retried task is not recorded.
   */
  timeoutUsage: z.number().nullable(),
  /** Whether the output matched the task's declared schema; absent when none was declared or the task did not complete. */
  outputValid: z.boolean().optional(),
  /** Why the output did not match, one entry per issue. */
  outputIssues: z.array(z.string()).optional(),
  onCriticalPath: z.boolean(),
  /** The last attempt's error, as `code: message` when it has a code. */
  error: z.string().optional(),
  errorCode: z.string().optional(),
});
export type TaskEvaluation = z.infer<typeof taskEvaluationSchema>;

export const agentStatsSchema = z.object({
  agent: z.string(),
  tasks: z.number().int(),
  /** Sum of the durations of its tasks. */
  busyMs: z.number(),
  /** Time of the critical path spent in its tasks. */
  criticalPathMs: z.number(),
  /** Sum of its tasks' waits; null without a definition. */
  waitMs: z.number().nullable(),
  retries: z.number().int(),
  failures: z.number().int(),
});
export type AgentStats = z.infer<typeof agentStatsSchema>;

export const performanceMetricsSchema = z.object({
  /** The run's wall time. */
  totalTimeMs: z.number(),
  taskCount: z.number().int(),
  completedTasks: z.number().int(),
  failedTasks: z.number().int(),
  skippedTasks: z.number().int(),
  /** `completed / (tasks - skipped)`; skipped tasks were not meant to run. */
  successRate: z.number(),
  meanTaskTimeMs: z.number().nullable(),
  /** Nearest-rank 95th percentile of task durations. */
  p95TaskTimeMs: z.number().nullable(),
  totalAttempts: z.number().int(),
  totalRetries: z.number().int(),
  /** Longest chain of dependent tasks, weighted by duration. */
  criticalPathMs: z.number(),
  criticalPath: z.array(z.string()),
  /** Where the dependencies came from: the definition, or inferred from timing. */
  criticalPathSource: z.enum(['definition', 'inferred']),
  /** `criticalPathMs / totalTimeMs`: 1 means the run was as fast as its dependencies allow. */
  criticalPathRatio: z.number().nullable(),
  /** Sum of task durations. */
  busyTimeMs: z.number(),
  /** Most tasks that ran at the same moment. */
  peakConcurrency: z.number().int(),
  /** `busyTimeMs / totalTimeMs`. */
  averageConcurrency: z.number().nullable(),
  /** `averageConcurrency / peakConcurrency`: how busy the slots the run used were kept. */
  parallelEfficiency: z.number().nullable(),
});
export type PerformanceMetrics = z.infer<typeof performanceMetricsSchema>;

export const scoreComponentSchema = z.object({
  name: z.string(),
  kind: z.enum(['builtin', 'custom']),
  weight: z.number(),
  /** In 0..1; null when it does not apply to this run (its weight is then left out). */
  value: z.number().nullable(),
  /** Why a custom scorer gave no value. */
  error: z.string().optional(),
  /** How a built-in value was computed, with this run's numbers. */
  detail: z.string().optional(),
});
export type ScoreComponent = z.infer<typeof scoreComponentSchema>;

export const qualityMetricsSchema = z.object({
  /** Failed attempts / attempts (retries that later succeeded count as failed attempts). */
  errorRate: z.number(),
  /** Share of the tasks that ran which succeeded on their first attempt. */
  firstAttemptRate: z.number().nullable(),
  outputsChecked: z.number().int(),
  outputsValid: z.number().int(),
  /** What the score is made of (see grading.ts). */
  scoreBreakdown: z.array(scoreComponentSchema),
});
export type QualityMetrics = z.infer<typeof qualityMetricsSchema>;

export const recommendationKindSchema = z.enum([
  'task-failed',
  'invalid-output',
  'retries',
  'timeout',
  'critical-path',
  'agent-bottleneck',
  'failed-command',
  'decision-conflict',
  'no-work',
]);
export type RecommendationKind = z.infer<typeof recommendationKindSchema>;

export const recommendationSchema = z.object({
  kind: recommendationKindSchema,
  /** The task concerned, when the advice is about one task. */
  taskId: z.string().optional(),
  /** The agent role concerned. */
  agent: z.string().optional(),
  message: z.string(),
});
/** One piece of advice in an evaluation: what to change, why, and which task or agent it concerns. */
export type Recommendation = z.infer<typeof recommendationSchema>;

/** The zod schema of a stored `WorkflowEvaluation` (history entries are checked against it). */
export const workflowEvaluationSchema = z.object({
  formatVersion: z.literal(EVALUATION_FORMAT_VERSION),
  workflowId: z.string(),
  workflowName: z.string(),
  workflowStatus: workflowStatusSchema,
  success: z.boolean(),
  /** Position in the workflow name's history; null until stored. */
  sequence: z.number().int().nullable(),
  /** Epoch ms, from the evaluator's clock. */
  evaluatedAt: z.number(),
  /** 0..100, one decimal. */
  score: z.number(),
  grade: gradeSchema,
  performance: performanceMetricsSchema,
  quality: qualityMetricsSchema,
  tasks: z.array(taskEvaluationSchema),
  agents: z.array(agentStatsSchema),
  recommendations: z.array(recommendationSchema),
  /** Files written, commands run and decisions recorded, for runs of tool-using (LLM) agents. */
  work: producedWorkSchema.optional(),
  /** Caveats about how the numbers were computed (for example an inferred critical path). */
  notes: z.array(z.string()),
});
/** What `WorkflowEvaluator.evaluateWorkflow` returns: score, grade, components, metrics, per-task and per-agent results, recommendations. */
export type WorkflowEvaluation = z.infer<typeof workflowEvaluationSchema>;
