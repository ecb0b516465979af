/**
 * The attempts of tasks that failed at least once, kept from the engine's
 * events (`task.retrying`, `task.failed`, then `task.started` of the next
 * attempt, `task.cancelled` for one a cancel aborted). A run's context keeps only a task's last error; the drawer shows
 * every attempt. Only tasks that failed are logged, so a 10,000-task run
 * that goes well costs one map entry per task here (its latest start, which
 * the context learns only when the attempt ends), and only the newest runs
 * are kept.
 */

import { keptMessage, MAX_FAILED_ATTEMPTS } from '../../machines/workflow/attempt-history.js';
import type { EngineEvent } from '../workflow/engine-events.js';
import type { AttemptView } from './protocol.js';
import { TaskLogs } from './task-logs.js';

/** An attempt as logged; the agent is added from the task's definition when shown. */
export type LoggedAttempt = Omit<AttemptView, 'agent'>;

/** When the attempt under way started: a run's context learns a task's start only when it ends. */
export interface AttemptStarted {
  attempt: number;
  at: number;
}

/** Live runs whose task starts are kept; the oldest is dropped first. */
const MAX_LIVE_RUNS = 50;

export class AttemptLog {
  private readonly logs = new TaskLogs<LoggedAttempt>();
  /**
   * The latest start of each task of the live runs, by run then task: one
   * entry per task (an ended attempt's is left, the context knows its times),
   * dropped with its run when the run ends.
   */
  private readonly starts = new Map<string, Map<string, AttemptStarted>>();

  /** For `engine.on('*')`: O(1); keeps each task's latest start, and logs only failures. */
  readonly listener = (event: EngineEvent): void => {
    switch (event.type) {
      case 'workflow.completed':
      case 'workflow.failed':
      case 'workflow.cancelled':
        this.starts.delete(event.workflowId);
        return;
      case 'task.started': {
        let starts = this.starts.get(event.workflowId);
        if (!starts) {
          starts = new Map();
          this.starts.set(event.workflowId, starts);
          if (this.starts.size > MAX_LIVE_RUNS)
            this.starts.delete(this.starts.keys().next().value!);
        }
        starts.set(event.taskId, { attempt: event.attempt, at: event.at });
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
        // The drawer shows only what the run keeps (its newest failed attempts and the last), so no more is logged.
        if (log.length > MAX_FAILED_ATTEMPTS + 1) log.shift();
        entry.outcome = event.type === 'task.retrying' ? 'retrying' : 'failed';
        entry.endedAt = event.at;
        entry.error = keptMessage(event.error.message);
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
          entry.error = keptMessage(event.reason);
        }
        return;
      }
    }
  };

  /** The latest start of a task of a live run, if this process saw it. */
  started(workflowId: string, taskId: string): AttemptStarted | undefined {
    return this.starts.get(workflowId)?.get(taskId);
  }

  /** The logged attempts of a task, oldest first; undefined if it never failed here. */
  attempts(workflowId: string, taskId: string): readonly LoggedAttempt[] | undefined {
    return this.logs.get(workflowId, taskId);
  }
}
