import type { AgentRunContext, AgentTask } from '../agents/define-agent.js';
import { decisionsOf, isDecisionsKey } from './tools/decisions.js';

/** Each upstream output and the shared context are cut to this many characters. */
const MAX_SECTION_CHARS = 4000;

/**
 * The user message that starts an LLM agent's conversation: the task, its
 * input, what the tasks it depends on produced (an LLM agent's answer text
 * rather than its whole output record), the decisions recorded so far (one
 * line each, conflicts flagged) and the rest of the shared context.
 */
export function taskPrompt(
  task: AgentTask,
  ctx: Pick<AgentRunContext, 'dependencies' | 'shared'>,
): string {
  const parts = [
    // No workflow id: the same task asked again in a new run is the same request (see requestHash).
    `Task "${task.id}":`,
    task.description || '(no description)',
  ];
  if (Object.keys(task.input).length > 0) {
    parts.push('', 'Input:', fenced(JSON.stringify(task.input, null, 2)));
  }
  const deps = Object.entries(ctx.dependencies);
  if (deps.length > 0) {
    parts.push('', 'Results of the tasks this one builds on:');
    for (const [id, output] of deps) parts.push('', `## ${id}`, describeOutput(output));
  }
  const { decisions, conflicts } = decisionsOf(ctx.shared);
  const topics = Object.entries(decisions);
  if (topics.length > 0) {
    parts.push('', 'Decisions made so far (follow them; record new ones with record_decision):');
    for (const [topic, { decision, by }] of topics) parts.push(`- ${topic}: ${decision} (${by})`);
  }
  for (const { topic, decisions: made } of conflicts) {
    const versions = made.map((d) => `"${d.decision}" (${d.by})`).join(' vs ');
    parts.push(`- CONFLICT on ${topic}: ${versions}; the last one stands unless you settle it`);
  }
  const rest = Object.keys(ctx.shared).filter((key) => !isDecisionsKey(key));
  if (rest.length > 0) {
    const shown = Object.fromEntries(rest.map((key) => [key, ctx.shared[key]]));
    parts.push('', 'Shared context of the workflow:', fenced(JSON.stringify(shown, null, 2)));
  }
  return parts.join('\n');
}

function describeOutput(output: unknown): string {
  if (typeof output === 'string') return cut(output);
  const content = (output as { content?: unknown } | null)?.content;
  if (typeof content === 'string') return cut(content);
  return fenced(JSON.stringify(output ?? null, null, 2));
}

function fenced(text: string): string {
  return `\`\`\`json\n${cut(text)}\n\`\`\``;
}

function cut(text: string): string {
  return text.length <= MAX_SECTION_CHARS
    ? text
    : `${text.slice(0, MAX_SECTION_CHARS)}…[cut ${text.length - MAX_SECTION_CHARS} characters]`;
}
