import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import { formatZodIssues } from '../../schemas/validate.js';
import { type AgentDefinition, type AgentOptions, defineAgent } from '../agents/define-agent.js';
import { answerRequests } from './answer-requests.js';
import type { LlmTool } from './define-tool.js';
import { findJson, withoutReasoning } from './json-in-text.js';
import type { LlmBudget } from './llm-budget.js';
import { type LlmClient, type LlmOptions, toLlmClient } from './llm-client.js';
import { checkPrices, type PriceTable } from './llm-prices.js';
import type { LlmResponseCache } from './response-cache.js';
import { taskPrompt } from './task-prompt.js';
import { emptyUsage, type TokenUsage } from './token-usage.js';
import { type ApprovalOptions, approvalPolicy } from './tool-approval.js';
import { runToolLoop, type ToolCallRecord } from './tool-loop.js';
import { teamAccess } from './tools/collaboration.js';

/** Options of {@link defineLlmAgent}. */
export interface LlmAgentOptions
  extends Pick<AgentOptions, 'role' | 'displayName' | 'expertise' | 'concurrency' | 'stage'> {
  /** Who the agent is and how it works; the task arrives as the user message. */
  systemPrompt: string;
  /** Tools the model may call. @default [] */
  tools?: readonly LlmTool[];
  /** The server to use. @default a client from OPENAI_BASE_URL, OPENAI_API_KEY, TROUPE_MODEL */
  llm?: LlmOptions | LlmClient;
  /** Chat model of this agent. @default the client's model */
  model?: string;
  /** Most model calls per attempt; an attempt whose every answer calls tools fails after this many. @default 10 */
  maxTurns?: number;
  /** Sampling temperature. @default the server's default */
  temperature?: number;
  /** Stream answers, feeding `ctx.progress` with the text as it arrives. @default true */
  stream?: boolean;
  /** Answers by `workflowId:taskId` + attempt + turn; a re-run of the same turn is served from it. @default none */
  cache?: LlmResponseCache;
  /** Tool results longer than this are cut before they go back to the model. @default 20000 */
  maxToolResultChars?: number;
  /**
   * Read tool calls the model wrote as text (a ```json fence, `<tool_call>`
   * tags, a bare `{"name", "arguments"}` object) when the server returns no
   * native ones, as local servers without a tool parser do. @default true
   */
  textToolCalls?: boolean;
  /**
   * The model's context window in characters (about 4 a token). When the
   * conversation grows past it, the oldest tool results are replaced by a
   * one-line note; the system prompt, the task and the latest turn stay.
   * @default no trimming
   */
  maxContextChars?: number;
  /**
   * Which tool calls wait for a person (durably: the process may exit while
   * they wait). Tools marked `needsApproval` always ask; with this option
   * `write_file` and `run_command` ask too, unless an `allow` rule matches.
   * A rejected call goes back to the model as a tool error.
   * @default only tools marked `needsApproval` ask
   */
  approvals?: ApprovalOptions;
  /** Stops the run with `BUDGET_EXCEEDED` before its model calls pass a token or money limit; share one budget between agents. @default no limit */
  budget?: LlmBudget;
  /** Price per million tokens by model, for the cost in `llm.usage` events. @default the budget's prices */
  prices?: PriceTable;
  /**
   * Answer requests from other roles (`ctx.request`, the `ask_role` tool)
   * with one model call: the system prompt and the question, no tools.
   * `false` leaves requests unanswered (`REQUEST_FAILED` at once). @default true
   */
  answerRequests?: boolean;
}

/** Options of {@link defineLlmAgent} with a structured result. */
export interface StructuredLlmAgentOptions<T> extends LlmAgentOptions {
  /**
   * Schema of the final answer: the model is asked for JSON of this shape,
   * the JSON is found in its answer (fences, prose and `<think>` blocks
   * allowed) and validated, and an answer that fails goes back with the
   * issues, twice at most. The validated value is `output.data`.
   */
  output?: z.ZodType<T>;
}

/** Answers with an invalid structured result sent back for repair before the attempt fails. */
const OUTPUT_REPAIRS = 2;

/**
 * What an LLM agent's task returns. It holds everything a later reader needs
 * (the answer, the tool calls, the tokens), so a journaled completion of the
 * task never needs the model again.
 */
export interface LlmAgentOutput<T = unknown> {
  role: string;
  model: string;
  /** The model's final answer, without a `<think>` block. */
  content: string;
  finishReason: string;
  /** Model calls of the attempt that produced this output, cached ones included. */
  turns: number;
  toolCalls: ToolCallRecord[];
  usage: TokenUsage;
  /** With `output`: the final answer parsed and validated by that schema. */
  data?: T;
}

/**
 * Declares an agent whose work is done by a model in a tool-calling loop.
 * The agent's AbortSignal (cancel, task timeout) aborts the HTTP request in
 * flight; streamed text feeds `ctx.progress`; token usage is in the output
 * (`output.usage`, summed per run by `usageOf`).
 *
 * @throws TroupeError `INVALID_INPUT` for bad options, `CONFIG_ERROR` if no LLM can be configured.
 */
export function defineLlmAgent<T = unknown>(
  options: StructuredLlmAgentOptions<T>,
): AgentDefinition<LlmAgentOutput<T>> {
  const issues = checkOptions(options);
  if (issues.length > 0) {
    throw new TroupeError(
      'INVALID_INPUT',
      `defineLlmAgent(${JSON.stringify(options.role ?? null)}): ${issues.join('; ')}`,
      { issues },
    );
  }
  const client = toLlmClient(options.llm);
  const model = options.model ?? client.model;
  const tools = [...(options.tools ?? [])];
  const maxTurns = options.maxTurns ?? 10;
  const stream = options.stream ?? true;
  const maxToolResultChars = options.maxToolResultChars ?? 20_000;
  const { systemPrompt, role } = options;
  const schema = options.output;
  const shape = schema ? JSON.stringify(z.toJSONSchema(schema, { io: 'output' })) : '';
  const where = `defineLlmAgent(${JSON.stringify(role)})`;
  const approvals = approvalPolicy(options.approvals, tools, where);
  const prices =
    options.prices === undefined
      ? options.budget?.prices
      : checkPrices(options.prices, `${where}: prices`);
  return defineAgent<LlmAgentOutput<T>>({
    role,
    ...(options.displayName === undefined ? {} : { displayName: options.displayName }),
    ...(options.expertise === undefined ? {} : { expertise: options.expertise }),
    ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
    ...(options.stage === undefined ? {} : { stage: options.stage }),
    systemPrompt,
    ...(options.answerRequests === false
      ? {}
      : {
          onMessage: answerRequests({
            role,
            systemPrompt,
            client,
            model,
            temperature: options.temperature,
          }),
        }),
    async run(task, ctx) {
      const messages: ChatCompletionMessageParam[] = [
        { role: 'system', content: systemPrompt },
        {
          role: 'user',
          content: schema
            ? `${taskPrompt(task, ctx)}\n\nEnd with a final answer that is only JSON matching this JSON Schema:\n${shape}`
            : taskPrompt(task, ctx),
        },
      ];
      let usage = emptyUsage();
      const team = teamAccess(role, task.id, ctx);
      for (let repair = 0; ; repair++) {
        const result = await runToolLoop({
          client,
          model,
          site: { who: `agent "${role}", task "${task.id}"`, model },
          messages,
          tools,
          maxTurns,
          temperature: options.temperature,
          stream,
          cache: options.cache,
          idempotencyKey: ctx.idempotencyKey,
          workflowId: task.workflowId,
          taskId: task.id,
          attempt: ctx.attempt,
          round: repair,
          usageBefore: usage,
          emit: (event) => ctx.emit(event),
          approvals,
          durable: { step: ctx.step, waitFor: ctx.waitFor },
          budget: options.budget,
          prices,
          signal: ctx.signal,
          progress: (fraction, message) => ctx.progress(fraction, message),
          maxToolResultChars,
          textToolCalls: options.textToolCalls ?? true,
          maxContextChars: options.maxContextChars,
          team,
        });
        usage = result.usage;
        // A reasoning model's <think> block is not part of its answer, for people or later tasks.
        if (!schema)
          return { role, model, ...result, content: withoutReasoning(result.content), usage };
        const checked = structured(result.content, schema);
        if (checked.ok) return { role, model, ...result, usage, data: checked.data };
        if (repair >= OUTPUT_REPAIRS) {
          throw new TroupeError(
            'TASK_FAILED',
            `agent "${role}", task "${task.id}": the final answer does not match the output schema after ${repair + 1} answers: ${checked.issues.join('; ')}`,
            { model, issues: checked.issues },
          );
        }
        messages.push(
          { role: 'assistant', content: result.content },
          {
            role: 'user',
            content: `That answer cannot be used:\n- ${checked.issues.join('\n- ')}\nAnswer again with only the JSON object.`,
          },
        );
      }
    },
  });
}

function structured<T>(
  content: string,
  schema: z.ZodType<T>,
): { ok: true; data: T } | { ok: false; issues: string[] } {
  const found = findJson(content);
  if (found.length === 0) return { ok: false, issues: ['the answer holds no JSON'] };
  let issues: string[] = [];
  for (const candidate of found) {
    const parsed = schema.safeParse(candidate.value);
    if (parsed.success) return { ok: true, data: parsed.data };
    issues = formatZodIssues(parsed.error);
  }
  return { ok: false, issues };
}

function checkOptions(options: LlmAgentOptions): string[] {
  const issues: string[] = [];
  if (typeof options.systemPrompt !== 'string' || options.systemPrompt.trim() === '') {
    issues.push('systemPrompt: must be a non-empty string');
  }
  const names = new Set<string>();
  for (const tool of options.tools ?? []) {
    if (names.has(tool.name)) issues.push(`tools: two tools are named "${tool.name}"`);
    names.add(tool.name);
  }
  const { maxTurns, maxToolResultChars, temperature, maxContextChars } = options;
  if (
    maxContextChars !== undefined &&
    !(Number.isInteger(maxContextChars) && maxContextChars >= 1000)
  ) {
    issues.push('maxContextChars: must be an integer >= 1000');
  }
  if (maxTurns !== undefined && !(Number.isInteger(maxTurns) && maxTurns >= 1)) {
    issues.push('maxTurns: must be an integer >= 1');
  }
  if (
    maxToolResultChars !== undefined &&
    !(Number.isInteger(maxToolResultChars) && maxToolResultChars >= 100)
  ) {
    issues.push('maxToolResultChars: must be an integer >= 100');
  }
  if (temperature !== undefined && !(temperature >= 0 && temperature <= 2)) {
    issues.push('temperature: must be between 0 and 2');
  }
  return issues;
}
