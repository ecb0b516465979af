/** Runs whose task logs are kept; the oldest is dropped first. */
const MAX_RUNS = 50;

/**
 * A log per task of the newest runs, for what the engine's events tell and
 * a run's context does not keep (every attempt, LLM activity).
 */
export class TaskLogs<T> {
  private readonly runs = new Map<string, Map<string, T[]>>();

  /** A task's log, if anything was logged for it. */
  get(workflowId: string, taskId: string): T[] | undefined {
    return this.runs.get(workflowId)?.get(taskId);
  }

  /** A task's log, made empty on first use. */
  logOf(workflowId: string, taskId: string): T[] {
    let tasks = this.runs.get(workflowId);
    if (!tasks) {
      tasks = new Map();
      this.runs.set(workflowId, tasks);
      if (this.runs.size > MAX_RUNS) this.runs.delete(this.runs.keys().next().value!);
    }
    let log = tasks.get(taskId);
    if (!log) {
      log = [];
      tasks.set(taskId, log);
    }
    return log;
  }
}
