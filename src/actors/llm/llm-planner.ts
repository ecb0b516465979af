import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { TroupeError } from '../../errors.js';
import type { WorkflowDefinitionInput } from '../../schemas/workflow-definition.js';
import { heuristicPlanner } from '../planners/heuristic-planner.js';
import type { Planner, PlanRequest } from '../planners/planner.js';
import { requestChat } from './chat-request.js';
import { type LlmClient, type LlmOptions, toLlmClient } from './llm-client.js';
import {
  checkPlan,
  PLANNER_SYSTEM_PROMPT,
  planPrompt,
  planResponseFormat,
  planSchema,
} from './plan-schema.js';
import { addUsage, emptyUsage, usageOfCompletion } from './token-usage.js';

/** Options of {@link createLlmPlanner}. */
export interface LlmPlannerOptions {
  /** The server to use. @default a client from OPENAI_BASE_URL, OPENAI_API_KEY, TROUPE_MODEL */
  llm?: LlmOptions | LlmClient;
  /** Chat model of the planner. @default the client's model */
  model?: string;
  /** Answers asked for in all: the first plus repairs after an invalid plan. @default 3 */
  maxAttempts?: number;
  /**
   * Planner used when the model gives no valid plan (or cannot be reached);
   * `false` makes that a `PLANNER_FAILED` error instead.
   * @default the heuristic planner
   */
  fallback?: Planner | false;
  /** Sampling temperature. @default 0 (plans should not vary run to run) */
  temperature?: number;
}

/**
 * A planner that asks a model for the workflow, as JSON constrained by a
 * schema built from the registered roles. Each answer is checked with
 * `validateDefinition`; an invalid one goes back to the model with the
 * issues, up to `maxAttempts` answers. After that, or if the server fails,
 * the fallback planner plans instead, and the plan's metadata says so:
 * `{ planner: 'llm', fallback: 'heuristic', reason, attempts, usage }`.
 * A plan from the model has `{ planner: 'llm', model, attempts, usage, rationale }`.
 */
export function createLlmPlanner(options: LlmPlannerOptions = {}): Planner {
  const client = toLlmClient(options.llm);
  const model = options.model ?? client.model;
  const maxAttempts = options.maxAttempts ?? 3;
  if (!(Number.isInteger(maxAttempts) && maxAttempts >= 1)) {
    throw new TroupeError(
      'CONFIG_ERROR',
      `createLlmPlanner: maxAttempts must be an integer >= 1, not ${String(maxAttempts)}.`,
    );
  }
  const fallback = options.fallback ?? heuristicPlanner;
  const temperature = options.temperature ?? 0;
  const site = { who: 'the LLM planner', model };

  return {
    name: 'llm',
    async plan(request: PlanRequest, signal?: AbortSignal): Promise<WorkflowDefinitionInput> {
      const roles = request.agents.map((agent) => agent.role);
      if (roles.length === 0) {
        throw new TroupeError(
          'PLANNER_FAILED',
          'LLM planner: no agents are registered to plan for.',
        );
      }
      const schema = planSchema(roles as [string, ...string[]]);
      const messages: ChatCompletionMessageParam[] = [
        { role: 'system', content: PLANNER_SYSTEM_PROMPT },
        { role: 'user', content: planPrompt(request) },
      ];
      let usage = emptyUsage();
      let reason = '';
      let attempts = 0;
      while (attempts < maxAttempts) {
        attempts++;
        let content: string | null;
        try {
          const completion = await requestChat({
            client,
            site,
            signal,
            params: {
              model,
              messages,
              temperature,
              response_format: planResponseFormat(schema),
            },
          });
          usage = addUsage(usage, usageOfCompletion(completion, false));
          const message = completion.choices[0]!.message;
          content = message.content ?? null;
          if (content === null && message.refusal) {
            reason = `the model refused: ${message.refusal}`;
            continue;
          }
        } catch (error) {
          if (signal?.aborted) throw error;
          // The client has already retried what is worth retrying.
          reason = error instanceof Error ? error.message : String(error);
          break;
        }
        const metadata = { planner: 'llm', model, attempts, usage };
        const checked = checkPlan(content, schema, request, metadata);
        if (checked.ok) return checked.definition;
        reason = `invalid plan after ${attempts} answer(s): ${checked.issues.join('; ')}`;
        messages.push(
          { role: 'assistant', content: content ?? '' },
          {
            role: 'user',
            content: `That plan is invalid:\n- ${checked.issues.join('\n- ')}\nAnswer with the whole corrected plan as JSON.`,
          },
        );
      }
      if (fallback === false) {
        throw new TroupeError('PLANNER_FAILED', `LLM planner (model "${model}"): ${reason}`, {
          model,
          attempts,
        });
      }
      const planned = await fallback.plan(request, signal);
      return {
        ...planned,
        metadata: {
          ...planned.metadata,
          planner: 'llm',
          fallback: fallback.name,
          reason,
          model,
          attempts,
          usage,
        },
      };
    },
  };
}
