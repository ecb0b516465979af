import type { TokenUsage } from './token-usage.js';

/**
 * What an LLM agent reports while it works, through `ctx.emit`: text as it
 * is written, each tool call and its result, and the tokens of each model
 * call. Delivered live to `engine.on('llm.*')`, the CLI and the inspector;
 * never journaled (the task's output keeps the tool calls and the usage).
 */
export type LlmEventBody =
  /** A batch of streamed answer text (at least {@link TOKEN_BATCH_CHARS} characters, or the end of the answer). */
  | { type: 'llm.token'; turn: number; text: string }
  | {
      type: 'llm.tool_call';
      turn: number;
      callId: string;
      name: string;
      /** The arguments as the model sent them, cut at 2,000 characters. */
      arguments: string;
      /** `ask`: the call waits for a person; `allowed`: an approval rule let it through. Absent: no approval needed. */
      approval?: 'ask' | 'allowed';
    }
  | {
      type: 'llm.tool_result';
      turn: number;
      callId: string;
      name: string;
      ok: boolean;
      /** What went back to the model, cut at 2,000 characters. */
      result: string;
      /** True when a person (or the approval's deadline) refused the call. */
      rejected?: boolean;
    }
  | {
      type: 'llm.usage';
      turn: number;
      model: string;
      /** This model call's tokens (`estimated: 1` when the server sent no usage). */
      usage: TokenUsage;
      /** The task's tokens so far, this call included. */
      total: TokenUsage;
      /** `total` in money, from the agent's price table; absent without a price for the model. */
      cost?: number;
    };

/** Where an LLM event comes from: stamped by the runtime on what `ctx.emit` gets. */
export interface LlmEventSource {
  workflowId: string;
  taskId: string;
  agent: string;
  attempt: number;
  at: number;
}

/** An LLM event as `engine.on` delivers it. */
export type LlmEvent = LlmEventBody & LlmEventSource;

/** Streamed text is sent in pieces of at least this many characters: one event per token would flood listeners. */
export const TOKEN_BATCH_CHARS = 32;

/** The longest arguments or result an event carries. */
export const EVENT_TEXT_CHARS = 2000;
