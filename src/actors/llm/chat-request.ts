import type {
  ChatCompletion,
  ChatCompletionCreateParamsNonStreaming,
} from 'openai/resources/chat/completions';
import { TroupeError } from '../../errors.js';
import type { LlmClient } from './llm-client.js';
import { type LlmCallSite, toLlmError } from './llm-errors.js';
import { StreamAccumulator } from './stream-accumulator.js';

/** Chat completion parameters, without the streaming fields `requestChat` sets itself. */
export type ChatParams = Omit<ChatCompletionCreateParamsNonStreaming, 'stream' | 'stream_options'>;

/** The argument of `requestChat`. */
export interface ChatRequest {
  client: LlmClient;
  site: LlmCallSite;
  params: ChatParams;
  /** Aborts the HTTP request (and any retry the client has scheduled). */
  signal?: AbortSignal | undefined;
  /** When given, the answer is streamed and each piece of text is passed here. */
  onText?: ((text: string) => void) | undefined;
}

/**
 * One chat completion, streamed or not, always returned as a whole
 * `ChatCompletion`. Retries of 429/5xx are the `openai` client's; every
 * failure comes out as a TroupeError naming the caller (see llm-errors.ts).
 */
export async function requestChat(request: ChatRequest): Promise<ChatCompletion> {
  const { client, site, params, signal } = request;
  if (!request.onText) {
    let completion: ChatCompletion;
    try {
      const openai = await client.openai();
      completion = await openai.chat.completions.create(
        { ...params, stream: false },
        signal ? { signal } : {},
      );
    } catch (error) {
      throw toLlmError(error, client, site, signal);
    }
    return checkShape(completion, client, site);
  }
  return streamChat({ ...request, onText: request.onText });
}

async function streamChat(request: ChatRequest & { onText: (text: string) => void }) {
  const { client, site, params, onText } = request;
  // The client's timeout covers a request until its headers arrive; a stream
  // that then goes silent would hang forever, so silence has its own limit.
  // A real timer: this bounds real network I/O, which no simulated clock drives.
  const idle = new AbortController();
  const signal = request.signal ? AbortSignal.any([request.signal, idle.signal]) : idle.signal;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = () => {
    clearTimeout(timer);
    timer = setTimeout(() => idle.abort(), client.timeoutMs);
  };
  try {
    const openai = await client.openai();
    const stream = await openai.chat.completions.create(
      { ...params, stream: true, stream_options: { include_usage: true } },
      { signal },
    );
    const answer = new StreamAccumulator();
    arm();
    for await (const chunk of stream) {
      arm();
      const text = answer.add(chunk);
      if (text) onText(text);
    }
    if (!answer.finished) {
      throw new TroupeError(
        'TASK_FAILED',
        `LLM stream of ${site.who} (model "${site.model}" at ${client.baseURL}) ended before the model finished its answer.`,
        { model: site.model, baseURL: client.baseURL },
      );
    }
    return answer.result();
  } catch (error) {
    if (idle.signal.aborted && !request.signal?.aborted) {
      throw new TroupeError(
        'TASK_TIMEOUT',
        `LLM stream of ${site.who} (model "${site.model}" at ${client.baseURL}) sent nothing for ${client.timeoutMs} ms. Raise llm.timeoutMs or check the server.`,
        { model: site.model, baseURL: client.baseURL },
        { cause: error },
      );
    }
    throw toLlmError(error, client, site, request.signal);
  } finally {
    clearTimeout(timer);
  }
}

/** A 200 whose body is JSON but not a completion is as bad as malformed JSON. */
function checkShape(completion: ChatCompletion, client: LlmClient, site: LlmCallSite) {
  const choices = (completion as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices) || !choices[0]?.message) {
    throw new TroupeError(
      'TASK_FAILED',
      `LLM server ${client.baseURL} answered ${site.who} with no choices[0].message; is it an OpenAI-compatible chat endpoint?`,
      { model: site.model, baseURL: client.baseURL },
    );
  }
  return completion;
}
