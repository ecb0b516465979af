/**
 * Replay: a new run of a stored run's definition from its starting input
 * (`engine.replay`). Which records can be replayed, and with what, is decided
 * here once, for the engine and for the inspector's Replay button alike.
 */
import type { RunRecord } from '../../schemas/run-record.js';
import type { WorkflowDefinition } from '../../schemas/workflow-definition.js';

/** What a replay starts from, or why the record cannot be replayed. */
export type ReplayInput =
  | { ok: true; definition: WorkflowDefinition; context: Record<string, unknown> }
  | { ok: false; reason: string };

export function replayInput(record: RunRecord): ReplayInput {
  if (record.forkedFrom) {
    return {
      ok: false,
      reason: `it is a fork of "${record.forkedFrom.workflowId}" (it started from checkpoint ${record.forkedFrom.checkpoint}, not from an input); replay "${record.forkedFrom.workflowId}" or fork it again`,
    };
  }
  if (!record.input) {
    return {
      ok: false,
      reason:
        'its record was stored before troupe kept a run’s starting input; start it again with engine.start and the same context',
    };
  }
  const { tasks } = record.input;
  const definition =
    tasks === record.definition.tasks.length
      ? record.definition
      : { ...record.definition, tasks: record.definition.tasks.slice(0, tasks) };
  return { ok: true, definition, context: record.input.context };
}
