import { createHash } from 'node:crypto';
import type { ChatRequestBody, MessageReply } from './scripted-replies.js';

/** Fixed so responses are byte-for-byte the same on every run. */
const CREATED = 1_700_000_000;

interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

interface ToolCallJson {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

/** The parts of an answer both the JSON and the streamed form are made of. */
export interface AnswerParts {
  id: string;
  model: string;
  content: string | null;
  toolCalls: ToolCallJson[];
  finishReason: string;
  /** Absent: the server reports no usage. */
  usage: Usage | undefined;
}

export function answerParts(
  scripted: MessageReply,
  body: ChatRequestBody,
  callNumber: number,
): AnswerParts {
  const toolCalls = (scripted.toolCalls ?? []).map(
    (call, index): ToolCallJson => ({
      id: call.id ?? `call_${callNumber}_${index}`,
      type: 'function',
      function: {
        name: call.name,
        arguments:
          typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
      },
    }),
  );
  const content = scripted.content ?? null;
  const produced = (content ?? '') + toolCalls.map((c) => c.function.arguments).join('');
  const scriptedUsage = scripted.usage === false ? undefined : scripted.usage;
  const prompt = scriptedUsage?.prompt_tokens ?? estimate(JSON.stringify(body.messages ?? []));
  const completion = scriptedUsage?.completion_tokens ?? estimate(produced);
  return {
    id: `chatcmpl-test-${callNumber}`,
    model: body.model ?? 'test-model',
    content,
    toolCalls,
    finishReason: scripted.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
    usage:
      scripted.usage === false
        ? undefined
        : {
            prompt_tokens: prompt,
            completion_tokens: completion,
            total_tokens: prompt + completion,
          },
  };
}

/** The body of a non-streamed chat completion. */
export function completionJson(parts: AnswerParts): unknown {
  return {
    id: parts.id,
    object: 'chat.completion',
    created: CREATED,
    model: parts.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: parts.content,
          refusal: null,
          ...(parts.toolCalls.length > 0 ? { tool_calls: parts.toolCalls } : {}),
        },
        finish_reason: parts.finishReason,
        logprobs: null,
      },
    ],
    ...(parts.usage ? { usage: parts.usage } : {}),
  };
}

/**
 * The chunks of a streamed completion, as OpenAI sends them: the role first,
 * the content in pieces, each tool call's id and name and then its arguments
 * in pieces, a chunk with the finish reason, and (when asked for with
 * `stream_options.include_usage`) a last chunk with no choices and the usage.
 */
export function completionChunks(
  parts: AnswerParts,
  chunkSize: number,
  includeUsage: boolean,
  toolCallIndex: 'openai' | 'none' | 'zero' = 'openai',
): unknown[] {
  const numbered = (index: number) =>
    toolCallIndex === 'none' ? {} : { index: toolCallIndex === 'zero' ? 0 : index };
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    id: parts.id,
    object: 'chat.completion.chunk',
    created: CREATED,
    model: parts.model,
    choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
  });
  const chunks: unknown[] = [chunk({ role: 'assistant', content: '' })];
  for (const piece of split(parts.content ?? '', chunkSize)) chunks.push(chunk({ content: piece }));
  parts.toolCalls.forEach((call, index) => {
    chunks.push(
      chunk({
        tool_calls: [
          {
            ...numbered(index),
            id: call.id,
            type: 'function',
            function: { name: call.function.name, arguments: '' },
          },
        ],
      }),
    );
    for (const piece of split(call.function.arguments, chunkSize)) {
      // Without an index, a server must name the call by its id.
      const which = toolCallIndex === 'none' ? { id: call.id } : numbered(index);
      chunks.push(chunk({ tool_calls: [{ ...which, function: { arguments: piece } }] }));
    }
  });
  chunks.push(chunk({}, parts.finishReason));
  if (includeUsage && parts.usage) {
    chunks.push({
      id: parts.id,
      object: 'chat.completion.chunk',
      created: CREATED,
      model: parts.model,
      choices: [],
      usage: parts.usage,
    });
  }
  return chunks;
}

/** A unit vector derived from the text's hash: the same text always gets the same vector. */
export function embeddingOf(text: string, dimensions: number): number[] {
  const values: number[] = [];
  let block = 0;
  while (values.length < dimensions) {
    const digest = createHash('sha256').update(`${block++}:${text}`).digest();
    for (let i = 0; i + 1 < digest.length && values.length < dimensions; i += 2) {
      values.push(digest.readUInt16BE(i) / 32_768 - 1);
    }
  }
  const norm = Math.hypot(...values) || 1;
  // Rounded to float32, so the base64 and float encodings give the same numbers.
  return values.map((v) => Math.fround(v / norm));
}

/** Float32 little-endian bytes in base64: the encoding the openai client asks for by default. */
export function base64Floats(values: readonly number[]): string {
  const buffer = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => {
    buffer.writeFloatLE(v, i * 4);
  });
  return buffer.toString('base64');
}

function estimate(text: string): number {
  return Math.max(1, Math.ceil(text.length / 4));
}

function split(text: string, size: number): string[] {
  const pieces: string[] = [];
  for (let i = 0; i < text.length; i += size) pieces.push(text.slice(i, i + size));
  return pieces;
}
