/**
 * Rolling back a child workflow that completed, when its parent's saga
 * compensates the `workflow` task that ran it. The child has ended, so no
 * machine runs it any more: its stored record says what completed, and the
 * child's own handlers (registered under the child's workflow name) undo its
 * completed steps in reverse completion order, nested children first.
 *
 * Each undone step is written to the child's record as it is done, so a
 * retried or recovered parent step does not undo it twice; the child's
 * status becomes `compensated` (or `compensation_failed`, and the parent's
 * step fails with the reasons).
 */
import { type SerializedError, serializeError, TroupeError } from '../../errors.js';
import { childRunId } from '../../machines/workflow/waits.js';
import type { Clock } from '../../runtime/clock.js';
import type { RunRecord } from '../../schemas/run-record.js';
import type { WorkflowResult } from '../../schemas/workflow-result.js';
import { workflowKey } from '../../store/keys.js';
import type { Store } from '../../store/store.js';
import type { CompensationRegistry } from './compensations.js';

/** Undoes the completed steps of the ended child run `childId`. */
export type ChildRollback = (childId: string, signal: AbortSignal) => Promise<void>;

/** A {@link ChildRollback} over the runs of `store`, with the handlers of `registry`. */
export function createChildRollback(
  store: Store,
  registry: CompensationRegistry,
  clock: Pick<Clock, 'now'>,
): ChildRollback {
  const rollBack: ChildRollback = async (childId, signal) => {
    const key = workflowKey(childId);
    const record = await store.get<RunRecord>('workflows', key);
    const result = record?.result;
    // Never started, or ended without completing anything that lasts: nothing to undo.
    if (
      !record ||
      !result ||
      (result.status !== 'completed' && result.status !== 'compensation_failed')
    ) {
      return;
    }
    const done = new Set(result.compensation?.compensated ?? []);
    const failed: { taskId: string; error: SerializedError }[] = [];
    const save = (status: WorkflowResult['status']) =>
      store.batch([
        {
          type: 'put',
          collection: 'workflows',
          key,
          value: {
            ...record,
            status,
            updatedAt: clock.now(),
            result: {
              ...result,
              status,
              success: false,
              compensation: { compensated: [...done], failed },
            },
          } satisfies RunRecord,
        },
      ]);
    const steps = stepsToUndo(record, result).filter((task) => !done.has(task.id));
    for (const task of steps) {
      signal.throwIfAborted();
      try {
        if (task.kind === 'workflow') await rollBack(childRunId(childId, task.id), signal);
        if (task.compensation !== undefined) {
          const handler = registry.get(record.definition.name, task.compensation);
          if (!handler) {
            throw new TroupeError(
              'UNKNOWN_AGENT',
              `No compensation "${task.compensation}" is registered for workflow "${record.definition.name}" (task "${task.id}" of child "${childId}"); register it with engine.registerCompensations().`,
              { workflowId: childId, taskId: task.id },
            );
          }
          await handler({
            workflowId: childId,
            taskId: task.id,
            output: result.tasks[task.id]?.output,
            attempt: 1,
            idempotencyKey: `${childId}:${task.id}:compensate`,
            signal,
          });
        }
        done.add(task.id);
      } catch (error) {
        if (signal.aborted) throw error;
        failed.push({ taskId: task.id, error: serializeError(error) });
      }
      await save(failed.length === 0 ? 'compensated' : 'compensation_failed');
    }
    if (steps.length === 0) await save('compensated');
    if (failed.length > 0) {
      throw new TroupeError(
        'CHILD_FAILED',
        `The rollback of child workflow "${childId}" failed for ${failed.map((f) => `"${f.taskId}" (${f.error.message})`).join(', ')}.`,
        { workflowId: childId },
      );
    }
  };
  return rollBack;
}

/**
 * The child's completed steps that can be undone, the last finished first.
 * Steps that finished in the same millisecond go dependents first: a step
 * never finishes before what it depends on.
 */
function stepsToUndo(record: RunRecord, result: WorkflowResult) {
  const tasks = record.definition.tasks;
  const byId = new Map(tasks.map((task) => [task.id, task]));
  const depths = new Map<string, number>();
  const depth = (id: string): number => {
    let known = depths.get(id);
    if (known === undefined) {
      known = 1 + Math.max(0, ...(byId.get(id)?.dependsOn ?? []).map(depth));
      depths.set(id, known);
    }
    return known;
  };
  const finishedAt = (id: string) => result.tasks[id]?.finishedAt ?? 0;
  return tasks
    .filter(
      (task) =>
        (task.compensation !== undefined || task.kind === 'workflow') &&
        result.tasks[task.id]?.status === 'completed',
    )
    .sort((a, b) => finishedAt(b.id) - finishedAt(a.id) || depth(b.id) - depth(a.id));
}
