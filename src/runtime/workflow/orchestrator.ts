import type { AnyActorRef } from 'xstate';
import { z } from 'zod';
import type { AgentProfile, Planner } from '../../actors/planners/planner.js';
import { TroupeError } from '../../errors.js';
import type {
  OrchestratorEmitted,
  OrchestratorEvent,
} from '../../machines/orchestrator/orchestrator.machine.js';
import {
  type DefinitionRegistry,
  formatZodIssues,
  validateDefinition,
} from '../../schemas/validate.js';
import { jsonObjectSchema } from '../../schemas/value-check.js';
import type {
  WorkflowDefinition,
  WorkflowDefinitionInput,
} from '../../schemas/workflow-definition.js';
import type { WorkflowResult } from '../../schemas/workflow-result.js';
import type { StartWorkflowOptions, WorkflowEngine } from './workflow-engine.js';

export interface OrchestratorDeps {
  ref: () => AnyActorRef;
  engine: WorkflowEngine;
  planner: Planner;
  profiles: () => AgentProfile[];
  registry: () => DefinitionRegistry;
  createId: () => string;
}

const decomposeInput = z.strictObject({
  description: z.string().trim().min(1, 'must be a non-empty task description'),
  requirements: jsonObjectSchema,
});

/** Options of {@link Orchestrator.decomposeTask}. */
export interface DecomposeOptions {
  /** Aborting it stops the planner (and its model request) and rejects with `PLAN_ABORTED`. */
  signal?: AbortSignal;
}

/** Facade of the orchestrator actor: plans tasks and runs the plans. */
export class Orchestrator {
  /** Pending plan requests, to settle when the runtime closes. */
  private readonly pending = new Map<string, (error: TroupeError) => void>();

  constructor(private readonly deps: OrchestratorDeps) {}

  /** Rejects every pending plan with `error` (the runtime is closing; its actors stop). */
  abandonAll(error: TroupeError): void {
    for (const reject of [...this.pending.values()]) reject(error);
  }

  /**
   * Asks the planner for a workflow that does `description`, using only the
   * registered agents, and validates it.
   * @throws TroupeError `INVALID_INPUT` for a bad request, `PLANNER_FAILED` if
   * the planner fails or returns an invalid plan, `PLAN_ABORTED` when
   * `options.signal` aborts, `RUNTIME_CLOSED` when the runtime closes first.
   */
  decomposeTask(
    description: string,
    requirements: Record<string, unknown> = {},
    options: DecomposeOptions = {},
  ): Promise<WorkflowDefinition> {
    const { signal } = options;
    if (signal?.aborted) return Promise.reject(planAborted(signal));
    const parsed = decomposeInput.safeParse({ description, requirements });
    if (!parsed.success) {
      const issues = formatZodIssues(parsed.error);
      return Promise.reject(
        new TroupeError('INVALID_INPUT', `decomposeTask: ${issues.join('; ')}`, { issues }),
      );
    }
    const agents = this.deps.profiles();
    if (agents.length === 0) {
      return Promise.reject(
        new TroupeError(
          'UNKNOWN_AGENT',
          'decomposeTask: no agents are registered; register some with rt.registerAgent() first.',
        ),
      );
    }
    const requestId = this.deps.createId();
    const ref = this.deps.ref();
    const planner = this.deps.planner.name;
    return new Promise<WorkflowDefinition>((resolve, reject) => {
      const ready = ref.on(
        'plan.ready',
        (event: Extract<OrchestratorEmitted, { type: 'plan.ready' }>) => {
          if (event.requestId !== requestId) return;
          done();
          try {
            resolve(validateDefinition(event.definition, this.deps.registry()));
          } catch (error) {
            const message = error instanceof Error ? error.message : String(error);
            reject(
              new TroupeError(
                'PLANNER_FAILED',
                `Planner "${planner}" returned an invalid plan: ${message}`,
                {},
                { cause: error },
              ),
            );
          }
        },
      );
      const failed = ref.on(
        'plan.failed',
        (event: Extract<OrchestratorEmitted, { type: 'plan.failed' }>) => {
          if (event.requestId !== requestId) return;
          done();
          reject(
            new TroupeError(
              'PLANNER_FAILED',
              `Planner "${planner}" failed: ${event.error.message}`,
            ),
          );
        },
      );
      const onAbort = () => {
        done();
        ref.send({ type: 'plan.cancel', requestId } satisfies OrchestratorEvent);
        reject(planAborted(signal!));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.pending.set(requestId, (error) => {
        done();
        reject(error);
      });
      const done = () => {
        ready.unsubscribe();
        failed.unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(requestId);
      };
      const request: OrchestratorEvent = {
        type: 'plan.request',
        requestId,
        request: {
          description: parsed.data.description,
          requirements: parsed.data.requirements,
          agents,
        },
      };
      ref.send(request);
    });
  }

  /** Runs a definition (validated first) and resolves with its result. */
  executeWorkflow(
    definition: WorkflowDefinitionInput,
    context?: Record<string, unknown>,
    options: Omit<StartWorkflowOptions, 'context'> = {},
  ): Promise<WorkflowResult> {
    return this.deps.engine.execute(definition, { ...options, ...(context ? { context } : {}) });
  }
}

function planAborted(signal: AbortSignal): TroupeError {
  const reason = signal.reason instanceof Error ? `: ${signal.reason.message}` : '';
  return new TroupeError(
    'PLAN_ABORTED',
    `decomposeTask was aborted by its signal before the plan was ready${reason}.`,
    {},
    { cause: signal.reason },
  );
}
