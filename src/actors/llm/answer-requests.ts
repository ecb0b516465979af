/**
 * How an LLM agent answers a request from another role (`ctx.request`, the
 * `ask_role` tool): one model call with the agent's system prompt and the
 * question, no tools, answered as `{ answer }`. Notifications are left to
 * the agent's next task (`ctx.messages`).
 */
import type { AgentMessageHandler } from '../agents/define-agent.js';
import { requestChat } from './chat-request.js';
import { withoutReasoning } from './json-in-text.js';
import type { LlmClient } from './llm-client.js';

/** What an LLM agent sends back to a request. */
export interface LlmAnswer {
  answer: string;
}

export function answerRequests(options: {
  role: string;
  systemPrompt: string;
  client: LlmClient;
  model: string;
  temperature: number | undefined;
}): AgentMessageHandler {
  const { role, systemPrompt, client, model, temperature } = options;
  return async (message): Promise<LlmAnswer | undefined> => {
    if (message.type !== 'request') return undefined;
    const payload = message.payload as { question?: unknown } | null;
    const question =
      typeof payload?.question === 'string' ? payload.question : JSON.stringify(payload);
    const completion = await requestChat({
      client,
      site: { who: `agent "${role}" answering a request from "${message.from}"`, model },
      params: {
        model,
        messages: [
          { role: 'system', content: systemPrompt },
          {
            role: 'user',
            content: `The ${message.from} agent of your team asks you:\n${question}\n\nAnswer briefly and concretely, from what you decided or would decide in your role.`,
          },
        ],
        ...(temperature === undefined ? {} : { temperature }),
      },
    });
    return { answer: withoutReasoning(completion.choices[0]?.message.content ?? '') };
  };
}
