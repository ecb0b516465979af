import { z } from 'zod';
import { dict } from '../../../schemas/dict.js';
import type { AgentRunContext } from '../../agents/define-agent.js';
import { defineTool, type LlmTool } from '../define-tool.js';
import { type Decision, decisionsOf, isDecisionsKey, taskDecisionsKey } from './decisions.js';

/**
 * What the collaboration tools reach of the running task: the shared context
 * (with this attempt's own updates already in it), the communicator and the
 * run's locks.
 */
export type TeamAccess = Pick<
  AgentRunContext,
  'shared' | 'updateShared' | 'send' | 'request' | 'lock'
> & {
  /** The role of the agent using the tools, recorded with its decisions. */
  role: string;
  /** The task using the tools: its decisions are kept under its own key. */
  taskId: string;
};

/**
 * The tools' view of a running task: its shared context with the attempt's
 * own updates laid over it (the engine applies them only when the attempt
 * completes, and a tool must see what the previous call recorded).
 */
export function teamAccess(role: string, taskId: string, ctx: AgentRunContext): TeamAccess {
  const own = dict<unknown>();
  return {
    role,
    taskId,
    get shared() {
      return Object.assign(dict<unknown>(), ctx.shared, own);
    },
    updateShared: (updates) => {
      ctx.updateShared(updates);
      Object.assign(own, updates);
    },
    send: (message) => ctx.send(message),
    request: (message, options) => ctx.request(message, options),
    lock: (key, options) => ctx.lock(key, options),
  };
}

function team(ctx: { team?: TeamAccess | undefined }): TeamAccess {
  if (!ctx.team) throw new Error('this tool only works inside a workflow task');
  return ctx.team;
}

/**
 * The shared context as the tools and prompts show it: the decisions record
 * merged into one `decisions` table (see decisions.ts), with the topics on
 * which agents disagreed under `conflictingDecisions`.
 */
export function sharedView(shared: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const view = dict<unknown>();
  for (const key of Object.keys(shared)) if (!isDecisionsKey(key)) view[key] = shared[key];
  const { decisions, conflicts } = decisionsOf(shared);
  if (Object.keys(decisions).length > 0) view.decisions = decisions;
  if (conflicts.length > 0) view.conflictingDecisions = conflicts;
  return view;
}

/**
 * Tools that let LLM agents of one run work together: a shared decisions
 * record (stack, paths, interfaces) in the shared context, which every later
 * prompt shows, and messages to another role through the communicator.
 *
 * - `record_decision({ topic, decision })`: adds or replaces one decision
 *   (kept under the task's own key, so parallel tasks lose nothing).
 * - `read_shared_context()`: the run's shared context, decisions merged.
 * - `send_message({ to, text, handoff })`: a notification (or, with
 *   `handoff: true`, a `result_handoff`) to the agent of that role.
 * - `ask_role({ to, question, waitSeconds })`: a request to that role,
 *   waiting for its answer (LLM agents answer with one model call).
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
      const key = taskDecisionsKey(access.taskId);
      const decisions = dict<Decision>();
      Object.assign(decisions, access.shared[key] ?? {});
      decisions[topic] = { decision, by: access.role };
      access.updateShared({ [key]: decisions });
      return `recorded ${topic}`;
    },
    effect: ({ topic, decision }) => ({ kind: 'decision', topic, decision }),
  });
  const readShared = defineTool({
    name: 'read_shared_context',
    description:
      "Read the run's shared context: the user's request, the plan and the decisions recorded so far.",
    input: z.object({}),
    handler: (_, ctx) => sharedView(team(ctx).shared),
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
      await team(ctx).send({
        to,
        type: handoff ? 'result_handoff' : 'notification',
        payload: { text },
      });
      // No message id in the result: the conversation that follows must be
      // the same on a re-run, or the response cache could not answer it.
      return `sent to ${to}`;
    },
  });
  const askRole = defineTool({
    name: 'ask_role',
    description:
      'Ask the agent of another role a question and wait for its answer (e.g. ask "elasticsearch" which index to query).',
    input: z.object({
      to: z.string().min(1).describe('The role to ask.'),
      question: z.string().min(1).max(8000),
      waitSeconds: z
        .number()
        .min(1)
        .max(600)
        .optional()
        .describe('How long to wait for the answer (default 120).'),
    }),
    handler: async ({ to, question, waitSeconds = 120 }, ctx) => {
      const response = await team(ctx).request(
        { to, type: 'request', payload: { question } },
        { timeout: waitSeconds * 1000 },
      );
      return { from: to, ...(response.payload as object) };
    },
  });
  return [recordDecision, readShared, sendMessage, askRole];
}
