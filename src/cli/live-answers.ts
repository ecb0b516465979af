import type { EngineEvent } from '../runtime/workflow/engine-events.js';
import { type Colours, colours, truncate } from './format.js';

/**
 * The LLM agents' answers as they are written (`llm.token`), with their
 * tool calls and results, for `troupe run` on a terminal. A header names
 * the task whenever another task (or turn) starts speaking, so parallel
 * agents stay readable. Writes only appended text: the progress view draws
 * state-change lines instead of redrawing in place while it is on.
 */
export class LiveAnswers {
  private readonly c: Colours;
  /** `taskId:turn` of the text last written, and whether the line is open. */
  private speaker: string | undefined;
  private lineOpen = false;

  constructor(
    private readonly out: NodeJS.WritableStream,
    colour: boolean,
  ) {
    this.c = colours(colour);
  }

  handle(event: EngineEvent): void {
    switch (event.type) {
      case 'llm.token': {
        const speaker = `${event.taskId}:${event.turn}`;
        if (speaker !== this.speaker) {
          this.endLine();
          this.out.write(this.c.dim(`── ${event.taskId} (${event.agent}), turn ${event.turn}\n`));
          this.speaker = speaker;
        }
        this.out.write(event.text);
        this.lineOpen = !event.text.endsWith('\n');
        break;
      }
      case 'llm.tool_call':
        this.endLine();
        this.speaker = undefined;
        this.out.write(
          `${this.c.cyan('→')} ${event.taskId}: ${event.name} ${truncate(event.arguments.replace(/\s+/g, ' '), 100)}${event.approval === 'ask' ? this.c.yellow(' (waits for approval)') : ''}\n`,
        );
        break;
      case 'llm.tool_result':
        this.endLine();
        this.out.write(
          `${event.ok ? this.c.green('←') : this.c.red('✗')} ${event.taskId}: ${event.name} ${event.rejected ? 'rejected' : event.ok ? 'ok' : truncate(event.result, 100)}\n`,
        );
        break;
    }
  }

  /** Ends a line of answer text left open, so the next output starts on its own line. */
  endLine(): void {
    if (this.lineOpen) this.out.write('\n');
    this.lineOpen = false;
  }
}
