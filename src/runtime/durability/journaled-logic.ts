import type { WorkflowContext } from '../../machines/workflow/context.js';
import type { WorkflowEvent } from '../../machines/workflow/events.js';
import type { WorkflowMachine } from '../../machines/workflow/workflow.machine.js';

/** What a run's transition produced, as the journal needs it. */
export interface RunStep {
  value: unknown;
  status: string;
  context: WorkflowContext;
}

/**
 * The run logic a durable runtime spawns: the workflow machine, each of whose
 * transitions is handed to `record` with the event and the snapshot it
 * produced, synchronously, before the next event can change the context.
 *
 * This replaces XState's inspection stream as the journal's feed: inspecting
 * the system builds an event object for every event, action and microstep of
 * every actor (agents included), a visible share of a journaled task's cost,
 * when the journal wants one thing per run event. Replay (recovery.ts) calls
 * the plain machine's `transition`, so it journals nothing.
 */
export function journaledLogic(
  logic: WorkflowMachine,
  record: (event: WorkflowEvent, snapshot: RunStep) => void,
): WorkflowMachine {
  const journaled: WorkflowMachine = Object.create(logic);
  journaled.transition = (snapshot, event, scope) => {
    const next = logic.transition(snapshot, event, scope);
    record(event, next as unknown as RunStep);
    return next;
  };
  return journaled;
}
