import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionMessageFunctionToolCall,
} from 'openai/resources/chat/completions';

type FinishReason = ChatCompletion.Choice['finish_reason'];

/**
 * Folds the chunks of a streamed chat completion (first choice only) into the
 * completion a non-streamed request would have returned, so everything after
 * the request (tool loop, cache, usage) sees one shape.
 */
export class StreamAccumulator {
  private id = '';
  private model = '';
  private created = 0;
  private content = '';
  private sawContent = false;
  private refusal: string | null = null;
  private finishReason: FinishReason | null = null;
  private usage: ChatCompletion['usage'];
  private readonly toolCalls: ChatCompletionMessageFunctionToolCall[] = [];

  /** Adds one chunk; returns the text it added to the answer, if any. */
  add(chunk: ChatCompletionChunk): string {
    this.id ||= chunk.id;
    this.model ||= chunk.model;
    this.created ||= chunk.created;
    if (chunk.usage) this.usage = chunk.usage;
    const choice = chunk.choices.find((c) => c.index === 0);
    if (!choice) return '';
    if (choice.finish_reason) this.finishReason = choice.finish_reason;
    const delta = choice.delta;
    if (delta.refusal) this.refusal = (this.refusal ?? '') + delta.refusal;
    for (const call of delta.tool_calls ?? []) {
      let slot = this.toolCalls[call.index];
      if (!slot) {
        slot = { id: '', type: 'function', function: { name: '', arguments: '' } };
        this.toolCalls[call.index] = slot;
      }
      if (call.id) slot.id = call.id;
      if (call.function?.name) slot.function.name += call.function.name;
      if (call.function?.arguments) slot.function.arguments += call.function.arguments;
    }
    if (typeof delta.content === 'string') {
      this.sawContent = true;
      this.content += delta.content;
      return delta.content;
    }
    return '';
  }

  /** Whether the server said why the answer ended; a stream cut short never does. */
  get finished(): boolean {
    return this.finishReason !== null;
  }

  /** The completion so far; call once {@link finished}. */
  result(): ChatCompletion {
    const toolCalls = this.toolCalls.filter((call) => call !== undefined);
    return {
      id: this.id,
      object: 'chat.completion',
      created: this.created,
      model: this.model,
      choices: [
        {
          index: 0,
          finish_reason: this.finishReason ?? 'stop',
          logprobs: null,
          message: {
            role: 'assistant',
            content: this.sawContent ? this.content : null,
            refusal: this.refusal,
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
          },
        },
      ],
      ...(this.usage ? { usage: this.usage } : {}),
    };
  }
}
