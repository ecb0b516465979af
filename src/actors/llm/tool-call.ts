import type { ChatCompletionMessageToolCall } from 'openai/resources/chat/completions';
import { TroupeError } from '../../errors.js';
import type { ToolEffect } from '../../schemas/tool-effect.js';
import type { AgentRunContext } from '../agents/define-agent.js';
import type { LlmTool, ToolContext } from './define-tool.js';
import { EVENT_TEXT_CHARS, type LlmEventBody } from './llm-events.js';
import { type ApprovalAnswer, type ApprovalPolicy, approvalAnswerSchema } from './tool-approval.js';

/** One tool call the model made, as kept in the task output. */
export interface ToolCallRecord {
  turn: number;
  name: string;
  /** The arguments as the model sent them, cut at 200 characters. */
  arguments: string;
  ok: boolean;
  error?: string;
  /** `allowed` when an approval rule let it through; `approved` or `rejected` when a person (or the deadline) decided. */
  approval?: 'allowed' | 'approved' | 'rejected';
  /** What the call changed (file, command, decision), when its tool says. */
  effect?: ToolEffect;
}

/** What one tool call came to: the record kept in the output, and the text that goes back to the model. */
export interface ToolCallDone {
  record: ToolCallRecord;
  reply: string;
}

/** What running one tool call needs from its loop. */
export interface ToolCallSetup {
  byName: ReadonlyMap<string, LlmTool>;
  ctx: ToolContext;
  maxChars: number;
  approvals: ApprovalPolicy;
  /** The attempt's durable calls (used when `approvals.mayAsk`). */
  durable: Pick<AgentRunContext, 'step' | 'waitFor'>;
  /** Who asks, for the person: `agent "backend", task "api"`. */
  who: string;
  taskId: string;
  /** Keeps the names of steps and waits apart across the loops of one attempt. */
  round: number;
  emit(event: LlmEventBody): void;
}

/**
 * Runs one tool call the model made: unknown tools and refused input go
 * back as errors; a call the approval policy asks about waits durably for
 * a person (`ctx.waitFor`, answered like an approval task), and a rejection
 * goes back to the model as a tool error, so it can adapt. With approvals
 * the result is journaled as a step: after a restart an executed call is
 * not executed again, and one waiting for its answer is not executed before it.
 */
export async function runToolCall(
  call: ChatCompletionMessageToolCall,
  index: number,
  setup: ToolCallSetup,
): Promise<ToolCallDone> {
  const { ctx } = setup;
  // Custom (free-text) tool calls are never offered, but a server may still send one.
  const name = call.type === 'function' ? call.function.name : call.custom.name;
  const args = call.type === 'function' ? call.function.arguments : call.custom.input;
  const tool = call.type === 'function' ? setup.byName.get(name) : undefined;
  const decision = tool ? setup.approvals.decide(tool, args) : 'none';
  setup.emit({
    type: 'llm.tool_call',
    turn: ctx.turn,
    callId: call.id,
    name,
    arguments: cut(args, EVENT_TEXT_CHARS),
    ...(decision === 'none' ? {} : { approval: decision === 'ask' ? 'ask' : 'allowed' }),
  });
  const record: ToolCallRecord = { turn: ctx.turn, name, arguments: cut(args, 200), ok: false };
  const finish = (done: ToolCallDone): ToolCallDone => {
    setup.emit({
      type: 'llm.tool_result',
      turn: ctx.turn,
      callId: call.id,
      name,
      ok: done.record.ok,
      result: cut(done.reply, EVENT_TEXT_CHARS),
      ...(done.record.approval === 'rejected' ? { rejected: true } : {}),
    });
    return done;
  };
  if (!tool) {
    const known = [...setup.byName.keys()].join(', ') || '(none)';
    record.error = `unknown tool "${name}"; available tools: ${known}`;
    return finish({ record, reply: JSON.stringify({ error: record.error }) });
  }
  if (decision === 'allowed') record.approval = 'allowed';
  if (decision === 'ask') {
    const answer = await askPerson(name, args, index, setup);
    if (!answer.approved) {
      record.approval = 'rejected';
      record.error = `${name}: the call was rejected${answer.by ? ` by ${answer.by}` : ''}${answer.reason ? `: ${answer.reason}` : ''}`;
      return finish({
        record,
        reply: JSON.stringify({
          error: `${record.error}. It was not run. Do not repeat it; do something else or explain in your final answer what you would need.`,
        }),
      });
    }
    record.approval = 'approved';
  }
  const execute = () => executeTool(tool, args, record, setup.ctx, setup.maxChars);
  const done = setup.approvals.mayAsk
    ? await setup.durable.step(`llm:${setup.round}:tool:${ctx.turn}.${index}`, execute)
    : await execute();
  return finish(done);
}

async function executeTool(
  tool: LlmTool,
  args: string,
  record: ToolCallRecord,
  ctx: ToolContext,
  maxChars: number,
): Promise<ToolCallDone> {
  const outcome = await tool.call(args, ctx);
  if (!outcome.ok) {
    return {
      record: { ...record, error: outcome.error },
      reply: JSON.stringify({ error: outcome.error }),
    };
  }
  const result = outcome.result;
  const text = typeof result === 'string' ? result : (JSON.stringify(result) ?? 'null');
  const done: ToolCallRecord = { ...record, ok: true };
  if (outcome.effect) done.effect = outcome.effect;
  return { record: done, reply: cut(text, maxChars) };
}

/** Waits durably for a person's answer; a deadline that passes counts as a rejection. */
async function askPerson(
  name: string,
  args: string,
  index: number,
  setup: ToolCallSetup,
): Promise<ApprovalAnswer> {
  const wait = `${setup.taskId}:${name}:${setup.round}.${setup.ctx.turn}.${index}`;
  const { timeoutMs } = setup.approvals;
  try {
    return await setup.durable.waitFor(wait, {
      schema: approvalAnswerSchema,
      prompt: `${setup.who} wants to call ${name} with ${cut(args, 1000)}. Approve?`,
      ...(timeoutMs === undefined ? {} : { timeoutMs }),
    });
  } catch (error) {
    if (error instanceof TroupeError && error.code === 'WAIT_TIMEOUT') {
      return { approved: false, reason: `nobody answered within ${timeoutMs} ms` };
    }
    throw error;
  }
}

export function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…[cut ${text.length - max} characters]`;
}
