/**
 * The attempts of tasks that failed at least once, kept from the engine's
 * events (`task.retrying`, `task.failed`, then `task.started` of the next
 * attempt, `task.cancelled` for one a cancel aborted). A run's context keeps only a task's last error; the drawer shows
 * every attempt. Only tasks that failed are logged, so a 10,000-task run
 * that goes well costs nothing here, and only the newest runs are kept.
 */
import type { EngineEvent } from '../workflow/engine-events.js';
import { clip } from './preview.js';
import type { AttemptView } from './protocol.js';
import { TaskLogs } from './task-logs.js';

/** An attempt as logged; the agent is added from the task's definition when shown. */
export type LoggedAttempt = Omit<AttemptView, 'agent'>;

export class AttemptLog {
  private readonly logs = new TaskLogs<LoggedAttempt>();

  /** For `engine.on('*')`: O(1), allocates only for failures. */
  readonly listener = (event: EngineEvent): void => {
    switch (event.type) {
      case 'task.started': {
        const log = this.logs.get(event.workflowId, event.taskId);
        if (log && !log.some((a) => a.attempt === event.attempt)) {
          log.push({ attempt: event.attempt, outcome: 'running', startedAt: event.at });
        }
        return;
      }
      case 'task.retrying':
      case 'task.failed': {
        const log = this.logs.logOf(event.workflowId, event.taskId);
        let entry = log.find((a) => a.attempt === event.attempt);
        if (!entry) {
          entry = { attempt: event.attempt, outcome: 'failed' };
          log.push(entry);
        }
        entry.outcome = event.type === 'task.retrying' ? 'retrying' : 'failed';
        entry.endedAt = event.at;
        entry.error = clip(event.error.message, 2_000);
        if (event.type === 'task.retrying') entry.retryAt = event.retryAt;
        return;
      }
      case 'task.cancelled': {
        // Only an attempt already logged (its task failed before) is closed here.
        const entry = this.logs
          .get(event.workflowId, event.taskId)
          ?.find((a) => a.outcome === 'running');
        if (entry) {
          entry.outcome = 'cancelled';
          entry.endedAt = event.at;
          entry.error = clip(event.reason, 2_000);
        }
        return;
      }
    }
  };

  /** The logged attempts of a task, oldest first; undefined if it never failed here. */
  attempts(workflowId: string, taskId: string): readonly LoggedAttempt[] | undefined {
    return this.logs.get(workflowId, taskId);
  }
}
