/**
 * What the LLM agents of the newest runs did, kept from the engine's live
 * `llm.*` events for the task drawer: the text of each turn as it is
 * written, each tool call and its result. Events are not journaled, so
 * this is what this process saw; a run from before a restart shows the
 * tool calls its output recorded instead.
 */
import type { EngineEvent } from '../workflow/engine-events.js';
import { clip } from './preview.js';
import type { LlmLogEntry } from './protocol.js';
import { TaskLogs } from './task-logs.js';

/** Entries kept per task (the oldest go first), and characters of text per turn (the tail stays). */
const MAX_ENTRIES = 200;
const MAX_TEXT_CHARS = 8_000;

export class LlmLog {
  private readonly logs = new TaskLogs<LlmLogEntry>();

  /** For `engine.on('*')`: ignores everything but `llm.*`. */
  readonly listener = (event: EngineEvent): void => {
    switch (event.type) {
      case 'llm.token': {
        const log = this.logs.logOf(event.workflowId, event.taskId);
        const last = log.at(-1);
        if (last?.kind === 'text' && last.turn === event.turn && last.attempt === event.attempt) {
          const text = last.text + event.text;
          last.text = text.length > MAX_TEXT_CHARS ? `…${text.slice(-MAX_TEXT_CHARS)}` : text;
        } else {
          this.push(log, {
            kind: 'text',
            attempt: event.attempt,
            turn: event.turn,
            text: event.text,
          });
        }
        return;
      }
      case 'llm.tool_call':
        this.push(this.logs.logOf(event.workflowId, event.taskId), {
          kind: 'tool_call',
          attempt: event.attempt,
          turn: event.turn,
          name: event.name,
          arguments: clip(event.arguments, 500),
          ...(event.approval ? { approval: event.approval } : {}),
        });
        return;
      case 'llm.tool_result':
        this.push(this.logs.logOf(event.workflowId, event.taskId), {
          kind: 'tool_result',
          attempt: event.attempt,
          turn: event.turn,
          name: event.name,
          ok: event.ok,
          result: clip(event.result, 500),
          ...(event.rejected ? { rejected: true } : {}),
        });
        return;
    }
  };

  /** A task's LLM activity, oldest first; undefined if this process saw none. */
  entries(workflowId: string, taskId: string): readonly LlmLogEntry[] | undefined {
    return this.logs.get(workflowId, taskId);
  }

  private push(log: LlmLogEntry[], entry: LlmLogEntry): void {
    log.push(entry);
    if (log.length > MAX_ENTRIES) log.splice(0, log.length - MAX_ENTRIES);
  }
}
