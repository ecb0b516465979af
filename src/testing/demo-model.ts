/**
 * A scripted local model for the offline demo: it answers the way a real
 * model would, from what each request holds (the role's system prompt, the
 * decisions in the task prompt, the results of its tool calls, the tools
 * offered), never from the order requests arrive in. So parallel agents,
 * cached answers and resumed runs all get the right answer.
 *
 * It speaks with the habits of one kind of server:
 *
 * - `openai`: native tool calls (several per answer, streamed with an
 *   `index`), structured output for the plan.
 * - `ollama`: native tool calls streamed without `index`; a plan with slips
 *   (`depends_on`, decisions as an object); unknown models answer 404.
 * - `llamacpp` (llama-server without `--jinja`): tool calls written as
 *   `<tool_call>` tags, one per answer; the plan as prose around a fence.
 * - `vllm` (no tool parser, a reasoning model): a `<think>` block, then a
 *   ```json fence holding the call; 400 to `response_format: json_schema`.
 */
import { DEMO_PLAN, DEMO_ROLES, type DemoRole, type DemoTurn } from './demo-work.js';
import {
  type ChatCall,
  type OpenAiTestServer,
  startOpenAiTestServer,
} from './openai-test-server.js';
import {
  type ChatReply,
  type ChatRequestBody,
  reply,
  type ScriptedToolCall,
} from './scripted-replies.js';

/** The kinds of server the demo model imitates. */
export const DEMO_HABITS = ['openai', 'ollama', 'llamacpp', 'vllm'] as const;
/** One of {@link DEMO_HABITS}. */
export type DemoHabit = (typeof DEMO_HABITS)[number];

/** The model name the demo server serves. */
export const DEMO_MODEL = 'demo-model';

type Message = NonNullable<ChatRequestBody['messages']>[number];

/** Whether the server sends tool calls as tool calls, or as text. */
function native(habit: DemoHabit): boolean {
  return habit === 'openai' || habit === 'ollama';
}

/** The answer function of the demo model (for `startOpenAiTestServer({ onChat })`). */
export function demoModel(habit: DemoHabit = 'openai'): (call: ChatCall) => ChatReply {
  return ({ body }) => {
    const messages = body.messages ?? [];
    const system = textOf(messages[0]);
    if (system.startsWith('You plan software work')) return plan(habit, body);
    const role = DEMO_ROLES.find(([prompt]) => prompt.test(system))?.[1];
    if (!role) return final(habit, 'This demo has no work for my role.');
    const turn = readTurn(messages, body, habit);
    const calls = nextCalls(role, turn, habit);
    return calls.length === 0 ? final(habit, role.answer(turn)) : toolAnswer(habit, calls);
  };
}

/** Options of {@link startDemoModelServer}. */
export interface DemoModelServerOptions {
  /** The server habits to imitate. @default 'openai' */
  habit?: DemoHabit;
}

/** The demo model behind an OpenAI-compatible server on 127.0.0.1 (a free port). */
export function startDemoModelServer(
  options: DemoModelServerOptions = {},
): Promise<OpenAiTestServer> {
  const habit = options.habit ?? 'openai';
  return startOpenAiTestServer({
    onChat: demoModel(habit),
    models: [DEMO_MODEL],
    // llama-server answers for any model name; the others refuse unknown ones.
    rejectUnknownModels: habit !== 'llamacpp',
  });
}

function plan(habit: DemoHabit, body: ChatRequestBody): ChatReply {
  const json = JSON.stringify(DEMO_PLAN, null, 2);
  switch (habit) {
    case 'openai':
      return reply.json(DEMO_PLAN);
    case 'ollama': {
      const slips = {
        ...DEMO_PLAN,
        tasks: DEMO_PLAN.tasks.map(({ dependsOn, ...task }) => ({
          ...task,
          depends_on: dependsOn,
        })),
        decisions: Object.fromEntries(DEMO_PLAN.decisions.map((d) => [d.topic, d.decision])),
      };
      return reply.json(slips);
    }
    case 'llamacpp':
      return reply.text(
        `Here is the plan for the team:\n\n\`\`\`json\n${json}\n\`\`\`\n\nThe index comes first.`,
      );
    case 'vllm':
      if (body.response_format?.type === 'json_schema') {
        return {
          type: 'error',
          status: 400,
          message: 'guided decoding: response_format json_schema is not supported (demo server)',
        };
      }
      return reply.text(`<think>Index first, then the API, then tests and docs.</think>\n${json}`);
  }
}

function toolAnswer(habit: DemoHabit, calls: ScriptedToolCall[]): ChatReply {
  if (native(habit)) {
    return {
      type: 'message',
      content: null,
      toolCalls: calls,
      toolCallIndex: habit === 'ollama' ? 'none' : 'openai',
    };
  }
  const call = JSON.stringify({ name: calls[0]!.name, arguments: calls[0]!.arguments });
  return reply.text(
    habit === 'llamacpp'
      ? `<tool_call>\n${call}\n</tool_call>`
      : `<think>Next I call ${calls[0]!.name}.</think>\n\`\`\`json\n${call}\n\`\`\``,
  );
}

function final(habit: DemoHabit, text: string): ChatReply {
  return reply.text(habit === 'vllm' ? `<think>Summing up.</think>\n${text}` : text);
}

/**
 * The calls of the next answer: the next round, for servers that send
 * several calls per answer; the next single call of the rounds laid end to
 * end, for servers that write one call as text.
 */
function nextCalls(role: DemoRole, turn: DemoTurn, habit: DemoHabit): ScriptedToolCall[] {
  const made = turn.results.length;
  if (native(habit)) {
    let offset = 0;
    for (const round of role.rounds) {
      if (made === offset) return round(turn);
      offset += round(turn).length;
    }
    return [];
  }
  let offset = 0;
  for (const round of role.rounds) {
    const calls = round(turn);
    if (made < offset + calls.length) return [calls[made - offset]!];
    offset += calls.length;
  }
  return [];
}

const DECISION_LINE = /^- ([\w.-]+): (.+) \(([\w-]+)\)$/;
const RESULT_HEADER = /^Result of [\w-]+ \([^)]*\):\n/m;

/** What the conversation so far tells the model: the decisions, the tool results, the tools. */
function readTurn(messages: readonly Message[], body: ChatRequestBody, habit: DemoHabit): DemoTurn {
  const decisions: Record<string, string> = Object.create(null);
  for (const line of textOf(messages[1]).split('\n')) {
    const match = DECISION_LINE.exec(line);
    if (match) decisions[match[1]!] = match[2]!;
  }
  const results: string[] = [];
  for (const message of messages.slice(2)) {
    if (native(habit) && message.role === 'tool') results.push(textOf(message));
    if (!native(habit) && message.role === 'user' && RESULT_HEADER.test(textOf(message))) {
      const parts = textOf(message).split(RESULT_HEADER).slice(1);
      const last = parts.length - 1;
      // The loop ends its text results with how to continue; that is not part of a result.
      parts[last] = parts[last]!.replace(/\n\nContinue: [^\n]*$/, '');
      results.push(...parts.map((part) => part.trim()));
    }
  }
  const tools = new Set((body.tools ?? []).map((tool) => tool.function?.name ?? ''));
  return { decisions, results, tools };
}

function textOf(message: Message | undefined): string {
  const content = message?.content;
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    return content.map((part) => (part as { text?: string }).text ?? '').join('');
  }
  return '';
}
