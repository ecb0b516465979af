import { z } from 'zod';
import { dict } from '../../../schemas/dict.js';
import type { AgentRunContext } from '../../agents/define-agent.js';
import { defineTool, type LlmTool } from '../define-tool.js';

/** What the collaboration tools reach of the running task: the shared context and the communicator. */
export type TeamAccess = Pick<AgentRunContext, 'shared' | 'updateShared' | 'send'> & {
  /** The role of the agent using the tools, recorded with its decisions. */
  role: string;
};

/** Decisions by topic, as kept under `decisions` in the shared context. */
export type DecisionRecord = Record<string, { decision: string; by: string }>;

function team(ctx: { team?: TeamAccess | undefined }): TeamAccess {
  if (!ctx.team) throw new Error('this tool only works inside a workflow task');
  return ctx.team;
}

/**
 * Tools that let LLM agents of one run work together: a shared decisions
 * record (stack, paths, interfaces) in the shared context, which every later
 * prompt shows, and messages to another role through the communicator.
 *
 * - `record_decision({ topic, decision })`: adds or replaces one decision.
 * - `read_shared_context()`: the run's shared context, decisions included.
 * - `send_message({ to, text, handoff })`: a notification (or, with
 *   `handoff: true`, a `result_handoff`) to the agent of that role.
 */
export function collaborationTools(): LlmTool[] {
  const recordDecision = defineTool({
    name: 'record_decision',
    description:
      'Record a decision the rest of the team must follow (the stack, a file path, an interface, a port). It is shown to every agent that starts after you. Read the decisions already made before you decide anything.',
    input: z.object({
      topic: z
        .string()
        .min(1)
        .max(100)
        .describe('What the decision is about, e.g. "api.framework".'),
      decision: z.string().min(1).max(2000).describe('The decision, concretely.'),
    }),
    handler: ({ topic, decision }, ctx) => {
      const access = team(ctx);
      const decisions = dict<DecisionRecord[string]>();
      Object.assign(decisions, access.shared.decisions ?? {});
      decisions[topic] = { decision, by: access.role };
      access.updateShared({ decisions });
      return `recorded ${topic}`;
    },
  });
  const readShared = defineTool({
    name: 'read_shared_context',
    description:
      "Read the run's shared context: the user's request, the plan and the decisions recorded so far.",
    input: z.object({}),
    handler: (_, ctx) => team(ctx).shared,
  });
  const sendMessage = defineTool({
    name: 'send_message',
    description:
      'Send a message to the agent of another role (e.g. "frontend"): a question, a warning, or with handoff: true the result it should build on.',
    input: z.object({
      to: z.string().min(1).describe('The role to write to.'),
      text: z.string().min(1).max(8000),
      handoff: z.boolean().optional().describe('True when this hands your result over.'),
    }),
    handler: async ({ to, text, handoff }, ctx) => {
      const sent = await team(ctx).send({
        to,
        type: handoff ? 'result_handoff' : 'notification',
        payload: { text },
      });
      return `sent message ${sent.id} to ${to}`;
    },
  });
  return [recordDecision, readShared, sendMessage];
}
