import { z } from 'zod';
import type { AgentDefinition } from '../../actors/agents/define-agent.js';
import { TroupeError } from '../../errors.js';
import { parseArgument } from '../../schemas/arguments.js';
import type { WorkflowDefinition } from '../../schemas/workflow-definition.js';
import type { WorkflowResult } from '../../schemas/workflow-result.js';
import { createRuntime, Runtime } from '../runtime.js';

/** The argument of `executeMultiAgentWorkflow`. */
export interface MultiAgentWorkflowRequest {
  taskDescription: string;
  requirements?: Record<string, unknown>;
  /** Initial shared context of the run. */
  context?: Record<string, unknown>;
  /** Runtime to use; without one, an in-memory runtime with `agents` is created and closed. */
  runtime?: Runtime;
  /** Agents for the runtime created when none is given. */
  agents?: readonly AgentDefinition[];
}

const requestSchema = z.strictObject({
  taskDescription: z.string({ error: 'must be a string' }),
  requirements: z.unknown().optional(),
  context: z.unknown().optional(),
  runtime: z
    .custom<Runtime>((value) => value instanceof Runtime, {
      error: 'must be a Runtime from createRuntime()',
    })
    .optional(),
  agents: z.array(z.unknown(), { error: 'must be an array of agents' }).optional(),
} satisfies Record<keyof MultiAgentWorkflowRequest, z.ZodType>);

/** The run's result together with the plan it ran. */
export type MultiAgentWorkflowResult = WorkflowResult & { definition: WorkflowDefinition };

/**
 * Plans a task with the orchestrator and runs the plan: the seed's
 * `execute_multi_agent_workflow`.
 */
export async function executeMultiAgentWorkflow(
  input: MultiAgentWorkflowRequest,
): Promise<MultiAgentWorkflowResult> {
  const request = parseArgument(
    'executeMultiAgentWorkflow',
    'request',
    requestSchema,
    input,
  ) as MultiAgentWorkflowRequest;
  if (!request.runtime && !request.agents?.length) {
    throw new TroupeError(
      'INVALID_INPUT',
      'executeMultiAgentWorkflow: pass a `runtime` with registered agents, or `agents` to create one.',
    );
  }
  const rt =
    request.runtime ?? (await createRuntime({ dataDir: false, agents: request.agents ?? [] }));
  try {
    const definition = await rt.orchestrator.decomposeTask(
      request.taskDescription,
      request.requirements ?? {},
    );
    const result = await rt.orchestrator.executeWorkflow(definition, request.context);
    return { ...result, definition };
  } finally {
    if (!request.runtime) await rt.close();
  }
}
