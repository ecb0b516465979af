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
  /** Calls in the order they started. */
  private readonly toolCalls: ChatCompletionMessageFunctionToolCall[] = [];
  /** The call each `index` currently continues. */
  private readonly byIndex = new Map<number, ChatCompletionMessageFunctionToolCall>();
  private readonly byId = new Map<string, ChatCompletionMessageFunctionToolCall>();

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
      const slot = this.slotFor(call);
      if (call.id) {
        slot.id = call.id;
        this.byId.set(call.id, slot);
      }
      if (call.function?.name) slot.function.name ||= call.function.name;
      if (call.function?.arguments) slot.function.arguments += call.function.arguments;
    }
    if (typeof delta.content === 'string') {
      this.sawContent = true;
      this.content += delta.content;
      return delta.content;
    }
    return '';
  }

  /**
   * The call a delta belongs to. OpenAI numbers calls with `index` and sends
   * the id and name once; local servers differ: some send no `index` (the id
   * then says which call), some number every call 0 (a new id, a new name, or
   * the same name once the arguments are complete JSON then starts a new
   * call), some repeat the name in every delta.
   */
  private slotFor(
    call: NonNullable<ChatCompletionChunk.Choice.Delta['tool_calls']>[number],
  ): ChatCompletionMessageFunctionToolCall {
    const known = call.id ? this.byId.get(call.id) : undefined;
    if (known) return known;
    const index = typeof call.index === 'number' ? call.index : undefined;
    const current = index === undefined ? this.toolCalls.at(-1) : this.byIndex.get(index);
    const name = call.function?.name;
    const startsAnother =
      current !== undefined &&
      (call.id
        ? current.id !== '' && current.id !== call.id
        : Boolean(name) &&
          current.function.name !== '' &&
          (current.function.name !== name || isCompleteJson(current.function.arguments)));
    if (current && !startsAnother) return current;
    const slot: ChatCompletionMessageFunctionToolCall = {
      id: '',
      type: 'function',
      function: { name: '', arguments: '' },
    };
    this.toolCalls.push(slot);
    this.byIndex.set(index ?? this.toolCalls.length - 1, slot);
    return slot;
  }

  /** Whether the server said why the answer ended; a stream cut short never does. */
  get finished(): boolean {
    return this.finishReason !== null;
  }

  /** The completion so far; call once {@link finished}. */
  result(): ChatCompletion {
    const toolCalls = this.toolCalls;
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

function isCompleteJson(text: string): boolean {
  if (text.trim() === '') return false;
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}
