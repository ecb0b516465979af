import type {
  ChatCompletion,
  ChatCompletionMessageParam,
  ChatCompletionMessageToolCall,
} from 'openai/resources/chat/completions';
import { TroupeError } from '../../errors.js';
import { requestChat } from './chat-request.js';
import type { LlmTool, ToolContext } from './define-tool.js';
import type { LlmClient } from './llm-client.js';
import type { LlmCallSite } from './llm-errors.js';
import type { LlmResponseCache } from './response-cache.js';
import { addUsage, emptyUsage, type TokenUsage, usageOfCompletion } from './token-usage.js';

/** One tool call the model made, as kept in the task output. */
export interface ToolCallRecord {
  turn: number;
  name: string;
  /** The arguments as the model sent them, cut at 200 characters. */
  arguments: string;
  ok: boolean;
  error?: string;
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

/**
 * The tool-calling loop: ask the model; if it calls tools, run them (inputs
 * validated by each tool's schema, failures sent back as tool errors) and
 * ask again; stop when it answers without tool calls. Each turn's answer is
 * looked up in, or written to, the response cache before anything acts on it.
 *
 * @throws TroupeError `TASK_FAILED` when `maxTurns` answers all called tools.
 */
export async function runToolLoop(input: ToolLoopInput): Promise<ToolLoopResult> {
  const { signal, maxTurns } = input;
  const byName = new Map(input.tools.map((tool) => [tool.name, tool]));
  const messages = [...input.messages];
  const toolCalls: ToolCallRecord[] = [];
  let usage = emptyUsage();

  for (let turn = 1; turn <= maxTurns; turn++) {
    signal.throwIfAborted();
    const base = (turn - 1) / maxTurns;
    const { completion, cached } = await answer(input, messages, turn, base);
    usage = addUsage(usage, usageOfCompletion(completion, cached));
    const choice = completion.choices[0]!;
    const message = choice.message;
    const calls = (message.tool_calls ?? []).map((call, index) => ({
      ...call,
      // Some local servers omit call ids; the reply must still name its call.
      id: call.id || `call_${turn}_${index}`,
    }));
    if (calls.length === 0) {
      return {
        content: message.content ?? message.refusal ?? '',
        finishReason: choice.finish_reason,
        turns: turn,
        toolCalls,
        usage,
      };
    }
    messages.push({ role: 'assistant', content: message.content ?? null, tool_calls: calls });
    const ctx: ToolContext = {
      signal,
      idempotencyKey: input.idempotencyKey,
      attempt: input.attempt,
      turn,
      addUsage: (extra) => {
        usage = addUsage(usage, { ...emptyUsage(), ...extra });
      },
    };
    for (const call of calls) {
      input.progress(
        base,
        `turn ${turn}: ${call.type === 'function' ? call.function.name : 'tool'}`,
      );
      const { record, reply } = await callTool(call, byName, ctx, input.maxToolResultChars);
      toolCalls.push(record);
      messages.push({ role: 'tool', tool_call_id: call.id, content: reply });
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
): Promise<{ completion: ChatCompletion; cached: boolean }> {
  const key = { idempotencyKey: input.idempotencyKey, attempt: input.attempt, turn };
  const hit = await input.cache?.get(key);
  if (hit) {
    input.progress(base, `turn ${turn}: answer from the response cache`);
    return { completion: hit, cached: true };
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
    params: {
      model: input.model,
      messages,
      ...(input.tools.length > 0 ? { tools: input.tools.map((tool) => tool.spec) } : {}),
      ...(input.temperature === undefined ? {} : { temperature: input.temperature }),
    },
  });
  if (text.length > reported) input.progress(base, `turn ${turn}: ${tail(text)}`);
  await input.cache?.put(key, completion);
  return { completion, cached: false };
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
