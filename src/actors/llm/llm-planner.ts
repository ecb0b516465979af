import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { TroupeError } from '../../errors.js';
import type { WorkflowDefinitionInput } from '../../schemas/workflow-definition.js';
import { heuristicPlanner } from '../planners/heuristic-planner.js';
import type { Planner, PlanRequest } from '../planners/planner.js';
import { requestChat } from './chat-request.js';
import { type LlmClient, type LlmOptions, toLlmClient } from './llm-client.js';
import {
  checkPlan,
  PLAN_FORMATS,
  PLANNER_SYSTEM_PROMPT,
  planPrompt,
  planResponseFormat,
  planSchema,
} from './plan-schema.js';
import { type LlmResponseCache, requestHash } from './response-cache.js';
import { addUsage, emptyUsage, usageOfCompletion } from './token-usage.js';

const CUT_OFF =
  'your answer was cut off at the token limit before the JSON was complete; answer with a shorter plan: fewer tasks, and descriptions of one or two sentences';

/** HTTP statuses with which servers refuse a `response_format` they do not support. */
const FORMAT_REFUSED = new Set([400, 415, 422, 501]);

function refusesFormat(error: unknown): boolean {
  const status = error instanceof TroupeError ? error.context.status : undefined;
  return typeof status === 'number' && FORMAT_REFUSED.has(status);
}

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
  /**
   * Answers by request content: planning the same request again (a re-run of
   * an interrupted CLI run) is answered from it. @default none
   */
  cache?: LlmResponseCache;
}

/**
 * A planner that asks a model for the workflow, as JSON constrained by a
 * schema built from the registered roles. A server that refuses the schema
 * (HTTP 400) is asked in JSON mode, then with the instructions alone. The
 * JSON is found in prose, fences and `<think>` blocks, and harmless slips are
 * fixed (see `coercePlan`). Each answer is checked with `validateDefinition`;
 * an invalid or cut-off one goes back to the model with the exact issues, up
 * to `maxAttempts` answers. After that, or if the server fails,
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
      let format = 0;
      while (attempts < maxAttempts) {
        let content: string | null;
        let finishReason: string;
        const responseFormat = planResponseFormat(schema, PLAN_FORMATS[format]);
        try {
          const params = {
            model,
            messages,
            temperature,
            ...(responseFormat ? { response_format: responseFormat } : {}),
          };
          const key = {
            idempotencyKey: 'planner',
            attempt: attempts + 1,
            turn: 1,
            request: requestHash(params),
          };
          const hit = await options.cache?.get(key);
          const completion = hit ?? (await requestChat({ client, site, signal, params }));
          if (!hit) await options.cache?.put(key, completion);
          attempts++;
          usage = addUsage(usage, usageOfCompletion(completion, hit !== undefined, params));
          const choice = completion.choices[0]!;
          content = choice.message.content ?? null;
          finishReason = choice.finish_reason;
          if (content === null && choice.message.refusal) {
            reason = `the model refused: ${choice.message.refusal}`;
            continue;
          }
        } catch (error) {
          if (signal?.aborted) throw error;
          if (refusesFormat(error) && format < PLAN_FORMATS.length - 1) {
            // The server does not support this response_format: ask again without it.
            format++;
            continue;
          }
          // The client has already retried what is worth retrying.
          reason = error instanceof Error ? error.message : String(error);
          break;
        }
        const metadata = { planner: 'llm', model, attempts, usage, format: PLAN_FORMATS[format] };
        const checked =
          finishReason === 'length'
            ? { ok: false as const, issues: [CUT_OFF] }
            : checkPlan(content, schema, request, metadata);
        if (checked.ok) return checked.definition;
        reason = `invalid plan after ${attempts} answer(s): ${checked.issues.join('; ')}`;
        messages.push(
          { role: 'assistant', content: content ?? '' },
          {
            role: 'user',
            content: `That plan cannot be used:\n- ${checked.issues.join('\n- ')}\nAnswer with the whole corrected plan as one JSON object and nothing else.`,
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
