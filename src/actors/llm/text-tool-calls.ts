import { findJson, isRecord, withoutReasoning } from './json-in-text.js';

/** A tool call recovered from the text of an answer. */
export interface TextToolCall {
  name: string;
  /** The arguments as a JSON string, as a native tool call carries them. */
  arguments: string;
}

const TAGGED = /<tool_call>([\s\S]*?)(?:<\/tool_call>|$)/gi;

/**
 * Tool calls written as text, for servers that return none natively: vLLM
 * without a tool parser, llama.cpp's server without `--jinja`, an Ollama model
 * without a tool template. Recognised, in this order:
 *
 * - `<tool_call>{"name": ..., "arguments": {...}}</tool_call>` (Hermes, Qwen), one or more;
 * - a Markdown fence holding such an object, or an array of them;
 * - the bare object (or array) as the whole answer, or inside prose.
 *
 * `arguments` may also be called `parameters` (Llama 3.1) and may be a JSON
 * string; `{"function": {...}}` and `{"tool_calls": [...]}` wrappers are
 * unwrapped. Outside tags, a call counts only if it names one of `toolNames`,
 * so an answer that merely contains JSON stays an answer.
 */
export function toolCallsFromText(content: string, toolNames: ReadonlySet<string>): TextToolCall[] {
  const visible = withoutReasoning(content);
  const tagged = [...visible.matchAll(TAGGED)].flatMap((match) =>
    findJson(match[1]!).flatMap((found) => callsIn(found.value)),
  );
  if (tagged.length > 0) return tagged;
  for (const found of findJson(visible)) {
    const calls = callsIn(found.value).filter((call) => toolNames.has(call.name));
    if (calls.length > 0) return calls;
  }
  return [];
}

function callsIn(value: unknown): TextToolCall[] {
  if (Array.isArray(value)) return value.flatMap(callsIn);
  if (!isRecord(value)) return [];
  if (Array.isArray(value.tool_calls)) return value.tool_calls.flatMap(callsIn);
  if (isRecord(value.function)) return callsIn(value.function);
  if (typeof value.name !== 'string' || value.name === '') return [];
  const args = value.arguments ?? value.parameters ?? {};
  if (typeof args === 'string') return [{ name: value.name, arguments: args }];
  if (!isRecord(args)) return [];
  return [{ name: value.name, arguments: JSON.stringify(args) }];
}
