import { fromCallback } from 'xstate';
import { serializeError, TroupeError } from '../../errors.js';
import type { CompensationReport, CompensationRequest } from '../../machines/protocol.js';
import type { Clock } from '../../runtime/clock.js';
import type { ResolvedValueLimits } from '../../schemas/limits.js';
import { checkValue } from '../../schemas/value-check.js';
import type { ChildRollback } from './child-rollback.js';
import type { CompensationRegistry } from './compensations.js';

/**
 * Runs compensation handlers for saga rollbacks: one long-lived callback
 * actor for the whole runtime. Each `compensate` request rolls back the
 * task's child workflow if it ran one, then runs the handler registered under
 * the workflow's name, and reports back to the run with what the handler
 * returned. That value is journaled and kept in the run's result, so it must
 * be JSON within `maxTaskOutputBytes`, like a task's output; one that is not
 * fails the step with the error naming the value's bad path.
 */
export function createCompensator(
  registry: CompensationRegistry,
  rollBackChild: ChildRollback,
  clock: Pick<Clock, 'now'>,
  limits: Pick<ResolvedValueLimits, 'maxTaskOutputBytes'>,
) {
  return fromCallback<CompensationRequest>(({ receive, system }) => {
    const controller = new AbortController();
    receive((request) => {
      const { workflowId, taskId, attempt, workflowName, compensation, childId } = request;
      const reply = (report: CompensationReport) => {
        if (!controller.signal.aborted) system.get(request.replyTo)?.send(report);
      };
      const handler =
        compensation === undefined ? undefined : registry.get(workflowName, compensation);
      Promise.resolve()
        .then(() => (childId === undefined ? undefined : rollBackChild(childId, controller.signal)))
        .then(() => {
          if (compensation === undefined) return;
          if (!handler) {
            throw new TroupeError(
              'UNKNOWN_AGENT',
              `No compensation "${compensation}" is registered for workflow "${workflowName}" (task "${taskId}"); register it with engine.registerCompensations().`,
              { workflowId, taskId },
            );
          }
          return handler({
            workflowId,
            taskId,
            output: request.output,
            attempt,
            idempotencyKey: `${workflowId}:${taskId}:compensate`,
            signal: controller.signal,
          });
        })
        .then((returned: unknown) =>
          returned === undefined
            ? undefined
            : checkValue(returned, {
                subject: `Compensation "${compensation}" of task "${taskId}" in workflow "${workflowId}"`,
                root: 'returned',
                context: { workflowId, taskId },
                limit: {
                  name: 'maxTaskOutputBytes',
                  max: limits.maxTaskOutputBytes,
                  raise: 'createRuntime({ limits: { maxTaskOutputBytes } })',
                },
              }),
        )
        .then(
          (output) =>
            reply({
              type: 'compensate.done',
              workflowId,
              taskId,
              attempt,
              at: clock.now(),
              ...(output === undefined ? {} : { output }),
            }),
          (error: unknown) =>
            reply({
              type: 'compensate.failed',
              workflowId,
              taskId,
              attempt,
              at: clock.now(),
              error: serializeError(error),
            }),
        );
    });
    return () =>
      controller.abort(
        new TroupeError('RUNTIME_CLOSED', 'The runtime closed during compensation.'),
      );
  });
}
