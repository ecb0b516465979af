import { fromCallback } from 'xstate';
import { serializeError, TroupeError } from '../../errors.js';
import type { CompensationReport, CompensationRequest } from '../../machines/protocol.js';
import type { Clock } from '../../runtime/clock.js';
import type { CompensationRegistry } from './compensations.js';

/**
 * Runs compensation handlers for saga rollbacks: one long-lived callback
 * actor for the whole runtime. Each `compensate` request runs the handler
 * registered under the workflow's name and reports back to the run.
 */
export function createCompensator(registry: CompensationRegistry, clock: Pick<Clock, 'now'>) {
  return fromCallback<CompensationRequest>(({ receive, system }) => {
    const controller = new AbortController();
    receive((request) => {
      const { workflowId, taskId, attempt, workflowName, compensation } = request;
      const reply = (report: CompensationReport) => {
        if (!controller.signal.aborted) system.get(request.replyTo)?.send(report);
      };
      const handler = registry.get(workflowName, compensation);
      Promise.resolve()
        .then(() => {
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
        .then(
          () => reply({ type: 'compensate.done', workflowId, taskId, attempt, at: clock.now() }),
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
