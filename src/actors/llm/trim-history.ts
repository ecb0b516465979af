import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';

const TRIMMED = (chars: number) =>
  `[trimmed to fit the context window: ${chars} characters; call the tool again if you need it]`;

/**
 * Fits a conversation into `maxChars` characters (a stand-in for the model's
 * context window: about 4 characters a token) by replacing the oldest tool
 * results with a one-line note, oldest first. The system prompt, the task
 * and the latest turn are never trimmed, so the result may still be longer.
 * Returns a new array; the input is not changed.
 */
export function trimHistory(
  messages: readonly ChatCompletionMessageParam[],
  maxChars: number,
): ChatCompletionMessageParam[] {
  const out = [...messages];
  let total = out.reduce((sum, m) => sum + size(m), 0);
  // The last assistant message and what follows it are the turn the model must answer.
  const lastAssistant = out.findLastIndex((m) => m.role === 'assistant');
  for (let i = 2; i < lastAssistant && total > maxChars; i++) {
    const message = out[i]!;
    const isResult = message.role === 'tool' || (message.role === 'user' && i > 1);
    if (!isResult || typeof message.content !== 'string') continue;
    const note = TRIMMED(message.content.length);
    if (note.length >= message.content.length) continue;
    total -= message.content.length - note.length;
    out[i] = { ...message, content: note } as ChatCompletionMessageParam;
  }
  return out;
}

function size(message: ChatCompletionMessageParam): number {
  const content = 'content' in message ? message.content : '';
  return typeof content === 'string' ? content.length : JSON.stringify(content ?? '').length;
}
