import type {
  RetryPolicyInput,
  WorkflowDefinitionInput,
} from '../../schemas/workflow-definition.js';
import type { AgentStage } from '../agents/define-agent.js';

/** What a planner knows about a registered agent. */
export interface AgentProfile {
  role: string;
  displayName: string;
  expertise: readonly string[];
  stage: AgentStage;
}

/** What a planner is asked: the task description, the requirements and the agents available. */
export interface PlanRequest {
  description: string;
  requirements: Record<string, unknown>;
  /** The agents that can be assigned; a plan may use no other role. */
  agents: readonly AgentProfile[];
}

/**
 * Turns a task description into a workflow definition. The heuristic planner
 * is the offline default; an LLM planner implements the same interface. The
 * orchestrator validates whatever a planner returns before anything runs.
 */
export interface Planner {
  readonly name: string;
  /** Returns a definition for the request; may throw, which the orchestrator reports as `PLANNER_FAILED`. */
  plan(request: PlanRequest, signal?: AbortSignal): Promise<WorkflowDefinitionInput>;
}

/**
 * The retry policy planners give every task of their plans (as the
 * workflow's `defaults.retry`): three attempts, 2 s then 4 s apart, so a
 * connection reset or a model answer cut short does not fail a whole run.
 * Failures troupe marks final (validation, unknown agent, cancel) are not retried.
 */
export const PLANNED_RETRY: RetryPolicyInput = {
  maxAttempts: 3,
  initialDelayMs: 2000,
  factor: 2,
  maxDelayMs: 30_000,
};

/**
 * A plan's workflow name: the request as a slug. Every planner (and the LLM
 * planner's fallback) names plans this way, because the evaluator compares
 * runs by workflow name and the same request must compare with itself.
 */
export function planName(description: string): string {
  const slug = description
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');
  return slug.slice(0, 80) || 'workflow';
}
