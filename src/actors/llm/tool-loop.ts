import type {
  ChatCompletion,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
} from 'openai/resources/chat/completions';
import { TroupeError } from '../../errors.js';
import type { ToolEffect } from '../../schemas/tool-effect.js';
import { requestChat } from './chat-request.js';
import type { LlmTool, ToolContext } from './define-tool.js';
import { withoutReasoning } from './json-in-text.js';
import type { LlmClient } from './llm-client.js';
import type { LlmCallSite } from './llm-errors.js';
import { type LlmCallKey, type LlmResponseCache, requestHash } from './response-cache.js';
import { toolCallsFromText } from './text-tool-calls.js';
import { addUsage, emptyUsage, type TokenUsage, usageOfCompletion } from './token-usage.js';
import type { TeamAccess } from './tools/collaboration.js';
import { trimHistory } from './trim-history.js';

/** One tool call the model made, as kept in the task output. */
export interface ToolCallRecord {
  turn: number;
  name: string;
  /** The arguments as the model sent them, cut at 200 characters. */
  arguments: string;
  ok: boolean;
  error?: string;
  /** What the call changed (file, command, decision), when its tool says. */
  effect?: ToolEffect;
}

export interface ToolLoopInput {
  client: LlmClient;
  model: string;
  site: LlmCallSite;
  /** System and user messages to start from. */
  messages: ChatCompletionMessageParam[];
  tools: readonly LlmTool[];
  maxTurns: number;
  temperature: number | undefined;
  stream: boolean;
  cache: LlmResponseCache | undefined;
  idempotencyKey: string;
  attempt: number;
  signal: AbortSignal;
  progress(fraction: number, message: string): void;
  /** Tool results longer than this are cut before they go back to the model. */
  maxToolResultChars: number;
  /** Read tool calls written in the answer's text when the server sends none (see text-tool-calls.ts). */
  textToolCalls: boolean;
  /** Passed to tools as `ctx.team`. */
  team?: TeamAccess | undefined;
  /** Oldest tool results are trimmed to keep each request under this many characters (see trim-history.ts). */
  maxContextChars?: number | undefined;
}

export interface ToolLoopResult {
  content: string;
  finishReason: string;
  turns: number;
  toolCalls: ToolCallRecord[];
  usage: TokenUsage;
}

/** Report streamed text every this many characters: often enough to watch, rarely enough not to flood the actor system. */
const PROGRESS_EVERY_CHARS = 48;
const TAIL_CHARS = 60;
/** Times one loop asks again after an answer cut off or empty, before it fails the attempt. */
const MAX_REASKS = 2;

/**
 * The tool-calling loop: ask the model; if it calls tools, run them (inputs
 * validated by each tool's schema, failures sent back as tool errors) and
 * ask again; stop when it answers without tool calls. Tool calls written as
 * text are read when the server sends none (`textToolCalls`). An answer cut
 * off at the token limit, or empty, is asked again with a note saying so.
 * Each turn's answer is looked up in, or written to, the response cache
 * before anything acts on it; answers that are asked again are not cached.
 *
 * @throws TroupeError `TASK_FAILED` when `maxTurns` answers all called tools,
 * or the answers stay cut off or empty.
 */
export async function runToolLoop(input: ToolLoopInput): Promise<ToolLoopResult> {
  const { signal, maxTurns } = input;
  const byName = new Map(input.tools.map((tool) => [tool.name, tool]));
  const messages = [...input.messages];
  const toolCalls: ToolCallRecord[] = [];
  let usage = emptyUsage();

  let reasked = 0;
  for (let turn = 1; turn <= maxTurns; turn++) {
    signal.throwIfAborted();
    const base = (turn - 1) / maxTurns;
    const { completion, cached, key } = await answer(input, messages, turn, base);
    usage = addUsage(usage, usageOfCompletion(completion, cached));
    const choice = completion.choices[0]!;
    const message = choice.message;
    const native = (message.tool_calls ?? []).map((call, index) => ({
      ...call,
      // Some local servers omit call ids; the reply must still name its call.
      id: call.id || `call_${turn}_${index}`,
    }));
    const written =
      native.length === 0 && input.textToolCalls && byName.size > 0 && message.content
        ? toolCallsFromText(message.content, new Set(byName.keys())).map(
            (call, index): ChatCompletionMessageToolCall => ({
              id: `call_${turn}_${index}`,
              type: 'function',
              function: call,
            }),
          )
        : [];
    const calls = native.length > 0 ? native : written;
    if (calls.length === 0) {
      const content = message.content ?? message.refusal ?? '';
      const problem = answerProblem(choice.finish_reason, content);
      if (problem) {
        if (reasked >= MAX_REASKS || turn === maxTurns) {
          throw new TroupeError(
            'TASK_FAILED',
            `${input.site.who} (model "${input.model}" at ${input.client.baseURL}): ${problem.error}`,
            { model: input.model, finishReason: choice.finish_reason },
          );
        }
        reasked++;
        input.progress(base, `turn ${turn}: ${problem.error}; asking again`);
        messages.push({ role: 'assistant', content }, { role: 'user', content: problem.forModel });
        continue;
      }
      await input.cache?.put(key, completion);
      return { content, finishReason: choice.finish_reason, turns: turn, toolCalls, usage };
    }
    // Recorded before any tool acts on it, so a re-run replays the same calls.
    await input.cache?.put(key, completion);
    const ctx: ToolContext = {
      signal,
      idempotencyKey: input.idempotencyKey,
      attempt: input.attempt,
      turn,
      addUsage: (extra) => {
        usage = addUsage(usage, { ...emptyUsage(), ...extra });
      },
      team: input.team,
    };
    const replies: Array<{ call: ChatCompletionMessageToolCall; reply: string }> = [];
    for (const call of calls) {
      input.progress(
        base,
        `turn ${turn}: ${call.type === 'function' ? call.function.name : 'tool'}`,
      );
      const { record, reply } = await callTool(call, byName, ctx, input.maxToolResultChars);
      toolCalls.push(record);
      replies.push({ call, reply });
    }
    if (written.length > 0) {
      // A server that cannot send tool calls may not accept tool messages either:
      // the results go back as text, the way the calls came.
      messages.push(
        { role: 'assistant', content: message.content ?? '' },
        { role: 'user', content: textToolResults(replies) },
      );
    } else {
      messages.push({ role: 'assistant', content: message.content ?? null, tool_calls: calls });
      for (const { call, reply } of replies) {
        messages.push({ role: 'tool', tool_call_id: call.id, content: reply });
      }
    }
  }
  throw new TroupeError(
    'TASK_FAILED',
    `${input.site.who} did not finish within maxTurns = ${maxTurns} model calls (every answer called tools). Raise maxTurns or make the task smaller.`,
    { model: input.model, turns: maxTurns },
  );
}

async function answer(
  input: ToolLoopInput,
  messages: ChatCompletionMessageParam[],
  turn: number,
  base: number,
): Promise<{ completion: ChatCompletion; cached: boolean; key: LlmCallKey }> {
  const params = {
    model: input.model,
    messages:
      input.maxContextChars === undefined ? messages : trimHistory(messages, input.maxContextChars),
    ...(input.tools.length > 0 ? { tools: input.tools.map((tool) => tool.spec) } : {}),
    ...(input.temperature === undefined ? {} : { temperature: input.temperature }),
  };
  const key: LlmCallKey = {
    idempotencyKey: input.idempotencyKey,
    attempt: input.attempt,
    turn,
    request: requestHash(params),
  };
  const hit = await input.cache?.get(key);
  if (hit) {
    input.progress(base, `turn ${turn}: answer from the response cache`);
    return { completion: hit, cached: true, key };
  }
  let text = '';
  let reported = 0;
  const onText = input.stream
    ? (piece: string) => {
        text += piece;
        if (text.length - reported < PROGRESS_EVERY_CHARS) return;
        reported = text.length;
        input.progress(base, `turn ${turn}: ${tail(text)}`);
      }
    : undefined;
  const completion = await requestChat({
    client: input.client,
    site: input.site,
    signal: input.signal,
    onText,
    params,
  });
  if (text.length > reported) input.progress(base, `turn ${turn}: ${tail(text)}`);
  return { completion, cached: false, key };
}

/**
 * Why a final answer (one without tool calls) cannot be the task's result:
 * cut off at the token limit, or empty. `error` is for the person, `forModel`
 * asks the model again.
 */
function answerProblem(
  finishReason: string,
  content: string,
): { error: string; forModel: string } | undefined {
  if (finishReason === 'length') {
    return {
      error:
        'the answer was cut off at the token limit (finish_reason "length"). Raise the output limit of the server (Ollama: num_predict and num_ctx; llama.cpp server: -n and -c; vLLM: --max-model-len) or split the task',
      forModel:
        'Your answer was cut off at the token limit. Answer again, shorter: call a tool for large content (write_file) instead of writing it out, and keep the final answer to a short summary.',
    };
  }
  if (withoutReasoning(content) === '') {
    return {
      error:
        'the model answered with nothing (no text and no tool call). Check that the model can follow chat instructions, or try a larger model',
      forModel:
        'Your answer was empty. Do the task: call one of the tools, or answer with a short summary of what you did.',
    };
  }
  return undefined;
}

function textToolResults(
  replies: ReadonlyArray<{ call: ChatCompletionMessageToolCall; reply: string }>,
): string {
  const parts = replies.map(({ call, reply }) => {
    const name = call.type === 'function' ? call.function.name : call.custom.name;
    return `Result of ${name} (${call.id}):\n${reply}`;
  });
  return `${parts.join('\n\n')}\n\nContinue: call another tool the same way, or give your final answer.`;
}

async function callTool(
  call: ChatCompletionMessageToolCall,
  byName: ReadonlyMap<string, LlmTool>,
  ctx: ToolContext,
  maxChars: number,
): Promise<{ record: ToolCallRecord; reply: string }> {
  // Custom (free-text) tool calls are never offered, but a server may still send one.
  const name = call.type === 'function' ? call.function.name : call.custom.name;
  const args = call.type === 'function' ? call.function.arguments : call.custom.input;
  const record: ToolCallRecord = { turn: ctx.turn, name, arguments: cut(args, 200), ok: false };
  const tool = call.type === 'function' ? byName.get(name) : undefined;
  if (!tool) {
    const known = [...byName.keys()].join(', ') || '(none)';
    record.error = `unknown tool "${name}"; available tools: ${known}`;
    return { record, reply: JSON.stringify({ error: record.error }) };
  }
  const outcome = await tool.call(args, ctx);
  if (!outcome.ok) {
    record.error = outcome.error;
    return { record, reply: JSON.stringify({ error: outcome.error }) };
  }
  record.ok = true;
  if (outcome.effect) record.effect = outcome.effect;
  const result = outcome.result;
  const text = typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null');
  return { record, reply: cut(text, maxChars) };
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[cut ${text.length - max} characters]`;
}

function tail(text: string): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length <= TAIL_CHARS ? flat : `…${flat.slice(-TAIL_CHARS)}`;
}
