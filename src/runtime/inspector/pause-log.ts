/**
 * When each of the newest runs was paused, from the engine's
 * `workflow.paused` / `workflow.resumed` events, so the task drawer can say
 * how much of a duration the run spent paused. A run's context does not keep
 * its pauses; runs paused before this process started are not known.
 */
import type { EngineEvent } from '../workflow/engine-events.js';
import type { PauseSpan } from './protocol.js';

/** Runs whose pauses are kept; the oldest is dropped first. */
const MAX_RUNS = 50;

export class PauseLog {
  private readonly runs = new Map<string, PauseSpan[]>();

  /** For `engine.on('*')`: O(1), allocates only when a run pauses. */
  readonly listener = (event: EngineEvent): void => {
    if (event.type === 'workflow.paused') {
      let spans = this.runs.get(event.workflowId);
      if (!spans) {
        spans = [];
        this.runs.set(event.workflowId, spans);
        if (this.runs.size > MAX_RUNS) this.runs.delete(this.runs.keys().next().value!);
      }
      spans.push({ from: event.at });
    } else if (event.type === 'workflow.resumed') {
      const last = this.runs.get(event.workflowId)?.at(-1);
      if (last && last.to === undefined) last.to = event.at;
    }
  };

  /** The run's pauses that overlap `from`..`to` (`to` absent: until now), oldest first. */
  within(workflowId: string, from: number, to: number | undefined): PauseSpan[] {
    return (this.runs.get(workflowId) ?? []).filter(
      (p) => (to === undefined || p.from < to) && (p.to === undefined || p.to > from),
    );
  }
}
