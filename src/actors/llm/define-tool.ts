import type { ChatCompletionFunctionTool } from 'openai/resources/chat/completions';
import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import type { ToolEffect } from '../../schemas/tool-effect.js';
import { formatZodIssues } from '../../schemas/validate.js';
import type { TokenUsage } from './token-usage.js';
import { parseToolArguments } from './tool-arguments.js';
import type { TeamAccess } from './tools/collaboration.js';

/** What a tool handler gets besides its validated input. */
export interface ToolContext {
  /** Aborted when the task is cancelled or times out; pass it on to I/O. */
  signal: AbortSignal;
  /** The task's `workflowId:taskId`. */
  idempotencyKey: string;
  attempt: number;
  /** The model call (from 1) whose answer asked for this tool call. */
  turn: number;
  /** Adds tokens the tool spent (e.g. on embeddings) to the task's usage. */
  addUsage(usage: Partial<TokenUsage>): void;
  /** The task's shared context and communicator, for the collaboration tools; absent outside a task. */
  team?: TeamAccess | undefined;
}

/** Options of {@link defineTool}. */
export interface ToolOptions<TSchema extends z.ZodType> {
  /** Name the model calls the tool by: 1-64 letters, digits, `_` or `-`. */
  name: string;
  /** Tells the model when and how to use the tool. */
  description: string;
  /** Schema of the arguments; the model sees it as JSON Schema, and the handler only ever gets input it accepts. */
  input: TSchema;
  /**
   * Calls wait for a person's approval (durably, like `ctx.waitFor`) unless
   * the agent's `approvals.allow` rules let them through.
   * @default false
   */
  needsApproval?: boolean;
  /** Does the work; the result (a string or JSON value) goes back to the model. Throwing sends the error message back instead. */
  handler(input: z.output<TSchema>, ctx: ToolContext): Promise<unknown> | unknown;
  /**
   * What a successful call changed (a file written, a command run, a
   * decision), recorded with the call in the task's output for the evaluator.
   * @default nothing recorded
   */
  effect?(input: z.output<TSchema>, result: unknown): ToolEffect | undefined;
}

/** A validated tool, ready for the tool-calling loop. */
export interface LlmTool {
  readonly name: string;
  readonly description: string;
  /** The `tools` entry sent to the model. */
  readonly spec: ChatCompletionFunctionTool;
  /** Calls wait for a person unless an approval rule allows them (see `defineLlmAgent({ approvals })`). */
  readonly needsApproval?: boolean;
  /**
   * Parses the model's argument string, validates it, runs the handler.
   * Resolves with `ok: false` and a message for the model instead of throwing,
   * except when the task itself was aborted.
   */
  call(argumentsJson: string, ctx: ToolContext): Promise<ToolOutcome>;
}

/** What one tool call came to: its result, or the error sent back to the model. */
export type ToolOutcome =
  | { ok: true; result: unknown; effect?: ToolEffect | undefined }
  | { ok: false; error: string };

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

/**
 * Declares a tool for LLM agents.
 * @throws TroupeError `INVALID_INPUT` for a bad name, an empty description or an input schema that is not a zod object.
 */
export function defineTool<TSchema extends z.ZodType>(options: ToolOptions<TSchema>): LlmTool {
  const { name, description, input, handler, effect } = options;
  const problems: string[] = [];
  if (typeof name !== 'string' || !NAME.test(name)) {
    problems.push('name: must be 1-64 letters, digits, _ or -');
  }
  if (typeof description !== 'string' || description.trim() === '') {
    problems.push('description: must not be empty');
  }
  if (!(input instanceof z.ZodObject)) problems.push('input: must be a zod object schema');
  if (typeof handler !== 'function') problems.push('handler: must be a function');
  if (options.needsApproval !== undefined && typeof options.needsApproval !== 'boolean') {
    problems.push('needsApproval: must be a boolean');
  }
  if (problems.length > 0) {
    throw new TroupeError(
      'INVALID_INPUT',
      `defineTool(${JSON.stringify(name ?? null)}): ${problems.join('; ')}`,
      { issues: problems },
    );
  }
  const { $schema: _dialect, ...parameters } = z.toJSONSchema(input, { io: 'input' });
  const spec: ChatCompletionFunctionTool = {
    type: 'function',
    function: { name, description, parameters },
  };
  return {
    name,
    description,
    spec,
    ...(options.needsApproval ? { needsApproval: true } : {}),
    async call(argumentsJson, ctx) {
      const raw = parseToolArguments(name, argumentsJson);
      if (!raw.ok) return raw;
      const parsed = input.safeParse(raw.value);
      if (!parsed.success) {
        return {
          ok: false,
          error: `${name}: input rejected by the tool's schema: ${formatZodIssues(parsed.error).join('; ')}`,
        };
      }
      try {
        const result = await handler(parsed.data, ctx);
        const changed = effect?.(parsed.data, result);
        return changed ? { ok: true, result, effect: changed } : { ok: true, result };
      } catch (error) {
        // The task's own abort ends the loop; any other failure is news for the model.
        if (ctx.signal.aborted) throw ctx.signal.reason ?? error;
        const message = error instanceof Error ? error.message : String(error);
        return { ok: false, error: `${name} failed: ${message}` };
      }
    },
  };
}
