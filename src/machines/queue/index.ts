export {
  type FinalJobStatus,
  isFinalStatus,
  JOB_STATUSES,
  type JobAttempt,
  type JobContext,
  type JobHandler,
  type JobInfo,
  type JobInput,
  JobPriority,
  type JobProgress,
  type JobRecord,
  type JobResult,
  JobStatus,
  toJobInfo,
  toJobResult,
} from './job.js';
export { backoffPolicySchema, jobIdSchema, parseJobInput, parseJobRecord } from './job-schema.js';
export { JobTable, type JobTableJson, jobTable } from './job-table.js';
export {
  createHeap,
  heapPop,
  heapPush,
  heapSize,
  type PriorityHeap,
} from './priority-heap.js';
export {
  countFinished,
  createQueueContext,
  createThroughputWindow,
  recentThroughput,
} from './queue-context.js';
export { type QueueMachine, queueMachine, type StepParams } from './queue-machine.js';
export type { FollowUp } from './queue-scheduling.js';
export type {
  AbortOrder,
  JobOutcome,
  PersisterCommand,
  QueueContext,
  QueueEmitted,
  QueueEvent,
  QueueNotice,
  QueueSettings,
  RunnerCommand,
  RunOrder,
} from './queue-types.js';
export {
  createReadyQueue,
  type ReadyLane,
  type ReadyQueue,
  readyPeek,
  readyPush,
  readyShift,
} from './ready-queue.js';
export {
  createTokenBucket,
  nextTokenAt,
  refill,
  type TokenBucket,
  tryTake,
} from './token-bucket.js';
