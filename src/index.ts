export type { WaitForOptions } from './actors/agents/attempt-waits.js';
export type {
  AgentDefinition,
  AgentMessageContext,
  AgentMessageHandler,
  AgentOptions,
  AgentRun,
  AgentRunContext,
  AgentStage,
  AgentTask,
} from './actors/agents/define-agent.js';
export { AGENT_STAGES, defineAgent } from './actors/agents/define-agent.js';
export type { SpecialistRole } from './actors/agents/specialists.js';
export { SPECIALIST_PRESETS, SPECIALIST_ROLES, specialist } from './actors/agents/specialists.js';
export {
  type Grade,
  type Recommendation,
  type WorkflowEvaluation,
  workflowEvaluationSchema,
} from './actors/evaluator/evaluation-schema.js';
export type {
  DetectRegressionOptions,
  EvaluateOptions,
  HistoryOptions,
  WorkflowEvaluatorOptions,
} from './actors/evaluator/options.js';
export type { RegressionReport } from './actors/evaluator/regression.js';
export { formatEvaluationReport } from './actors/evaluator/report.js';
export type { EvaluationScorer } from './actors/evaluator/scorers.js';
export * from './actors/llm/index.js';
export { heuristicPlanner } from './actors/planners/heuristic-planner.js';
export {
  type AgentProfile,
  PLANNED_RETRY,
  type Planner,
  type PlanRequest,
} from './actors/planners/planner.js';
export type { CompensationContext, CompensationHandler } from './actors/saga/compensations.js';
export { type SerializedError, TroupeError, type TroupeErrorCode } from './errors.js';
export type { ContextChange, LockLease, SharedContext } from './machines/communicator/index.js';
export {
  type JobContext,
  type JobHandler,
  type JobInfo,
  type JobInput,
  JobPriority,
  type JobResult,
  JobStatus,
} from './machines/queue/job.js';
export type { ConditionGuard } from './machines/workflow/conditions.js';
export type { WorkflowEmitted } from './machines/workflow/events.js';
export { type Clock, systemClock } from './runtime/clock.js';
export type {
  BroadcastReceipt,
  Communicator,
  LockInfo,
} from './runtime/communicator/communicator.js';
export type { CommunicatorNotice } from './runtime/communicator/communicator-link.js';
export type { CheckpointInfo, CheckpointReason } from './runtime/durability/records.js';
export { WorkflowEvaluator } from './runtime/evaluator/workflow-evaluator.js';
export type { InspectedRuntime } from './runtime/inspector/hub.js';
export {
  createInspectorServer,
  type InspectorServer,
  type InspectorServerOptions,
  type RuntimeInspectorOptions,
} from './runtime/inspector/server.js';
export type { OwnershipOptions } from './runtime/ownership/ownership-options.js';
export { RunOwnership } from './runtime/ownership/run-ownership.js';
export {
  createQueueDeps,
  createQueueLogic,
  type QueueActorRef,
  type QueueDeps,
  queueInput,
} from './runtime/queue/queue-logic.js';
export { type QueueStats, type StopOptions, TaskQueue } from './runtime/queue/task-queue.js';
export type { TaskQueueListeners } from './runtime/queue/task-queue-events.js';
export type { TaskQueueOptions } from './runtime/queue/task-queue-options.js';
export { createRuntime, Runtime } from './runtime/runtime.js';
export type { RuntimeOptions } from './runtime/runtime-options.js';
export type { ParentLink } from './runtime/waits/child-runs.js';
export { RemoteAgents } from './runtime/workers/remote-agents.js';
export type { RemoteAgentsOptions } from './runtime/workers/remote-agents-options.js';
export {
  AgentWorker,
  createWorker,
  type WorkerCloseOptions,
  type WorkerStats,
} from './runtime/workers/worker.js';
export type { WorkerOptions } from './runtime/workers/worker-options.js';
export {
  type EngineEvent,
  EventType,
} from './runtime/workflow/engine-events.js';
export {
  executeMultiAgentWorkflow,
  type MultiAgentWorkflowRequest,
  type MultiAgentWorkflowResult,
} from './runtime/workflow/execute-multi-agent-workflow.js';
export type { DecomposeOptions, Orchestrator } from './runtime/workflow/orchestrator.js';
export type {
  RunFilter,
  StartWorkflowOptions,
  WaitingRun,
  WorkflowEngine,
  WorkflowHandle,
  WorkflowState,
} from './runtime/workflow/workflow-engine.js';
export type {
  AgentMessage,
  AgentMessageInput,
  MessageType,
  OutgoingMessage,
  OutgoingRequest,
  RequestOptions,
} from './schemas/agent-message.js';
export type { Condition } from './schemas/condition.js';
export type { JsonValue } from './schemas/json-value.js';
export {
  DEFAULT_VALUE_LIMITS,
  MAX_TIMER_MS,
  type ValueLimits,
} from './schemas/limits.js';
export type { RunRecord } from './schemas/run-record.js';
export { validateDefinition } from './schemas/validate.js';
export {
  type RetryPolicy,
  TASK_KINDS,
  type TaskDefinition,
  type TaskDefinitionInput,
  type TaskKind,
  taskDefinitionSchema,
  type WorkflowDefinition,
  type WorkflowDefinitionInput,
  workflowDefinitionSchema,
} from './schemas/workflow-definition.js';
export {
  type TaskResult,
  type TaskStatus,
  taskResultSchema,
  type WaitInfo,
  type WorkflowResult,
  type WorkflowStatus,
  workflowResultSchema,
} from './schemas/workflow-result.js';
export {
  type ClaimedLease,
  type HeldLease,
  LevelStore,
  MemoryStore,
  type ParkedRun,
  PostgresStore,
  type PostgresStoreOptions,
} from './store/index.js';
export type { RemoteRole } from './store/postgres/remote-tasks.js';
export type { Collection, RangeOptions, Store, StoreOp } from './store/store.js';
