/**
 * The progress messages of the tasks of the newest runs, kept from the
 * engine's live `task.progress` events for the task drawer: a run's context
 * keeps only a task's latest report. Events are not journaled, so this is
 * what this process saw; a stored run shows its tasks' last report.
 *
 * Only reports with a message are kept, and a report that repeats the
 * previous message of the same attempt updates that entry's fraction (an
 * agent reporting 1% at a time with the same words is one line; a retry that
 * says it again is a line of its own), so a 10,000-task run that reports
 * numbers only costs nothing here.
 */
import type { EngineEvent } from '../workflow/engine-events.js';
import { clip } from './preview.js';
import type { ProgressEntry } from './protocol.js';
import { TaskLogs } from './task-logs.js';

/** Entries kept per task (the oldest go first), and characters per message. */
const MAX_ENTRIES = 50;
const MAX_MESSAGE_CHARS = 500;

export class ProgressLog {
  private readonly logs = new TaskLogs<ProgressEntry>();

  /** For `engine.on('*')`: ignores everything but `task.progress` with a message. */
  readonly listener = (event: EngineEvent): void => {
    if (event.type !== 'task.progress' || event.message === undefined) return;
    const log = this.logs.logOf(event.workflowId, event.taskId);
    const message = clip(event.message, MAX_MESSAGE_CHARS);
    const last = log.at(-1);
    if (last?.message === message && last.attempt === event.attempt) {
      last.progress = event.progress;
      return;
    }
    log.push({ attempt: event.attempt, at: event.at, progress: event.progress, message });
    if (log.length > MAX_ENTRIES) log.shift();
  };

  /** A task's progress messages, oldest first; undefined if it reported none here. */
  entries(workflowId: string, taskId: string): readonly ProgressEntry[] | undefined {
    return this.logs.get(workflowId, taskId);
  }
}
