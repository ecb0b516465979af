import type { Clock } from '../runtime/clock.js';
import type { EngineEvent } from '../runtime/workflow/engine-events.js';
import type { WorkflowDefinition } from '../schemas/workflow-definition.js';
import type { TaskStatus, WorkflowResult } from '../schemas/workflow-result.js';
import { type Colours, colours, formatDuration, table, truncate } from './format.js';

interface Row {
  id: string;
  agent: string;
  status: TaskStatus;
  attempt: number;
  startedAt?: number;
  finishedAt?: number;
  progress?: number;
  note?: string;
}

const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 80;

/**
 * Live progress of one run on a terminal: a line per task with its state, a
 * spinner and elapsed time, redrawn in place. Without a TTY it prints one
 * line per state change instead, so logs stay readable.
 */
export class ProgressView {
  private readonly rows = new Map<string, Row>();
  private readonly c: Colours;
  private frame = 0;
  private drawnLines = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    definition: WorkflowDefinition,
    private readonly out: NodeJS.WriteStream,
    private readonly clock: Clock,
    colour: boolean,
    /** Redraw the table in place; off, it prints a line per state change. @default out is a TTY */
    private readonly redraw = out.isTTY === true,
  ) {
    this.c = colours(colour);
    for (const task of definition.tasks) this.addRow(task.id, task.agent);
  }

  private get live(): boolean {
    return this.redraw;
  }

  start(): void {
    if (!this.live) return;
    this.timer = setInterval(() => this.draw(), FRAME_MS);
    this.timer.unref();
    this.draw();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.live) this.draw();
  }

  /** Adds tasks added at run time (their agent is known from the definition the caller passes). */
  addRow(id: string, agent: string): void {
    if (!this.rows.has(id)) this.rows.set(id, { id, agent, status: 'pending', attempt: 0 });
  }

  handle(event: EngineEvent): void {
    if (!('taskId' in event) || event.type === 'workflow.failed') return;
    const row = this.rows.get(event.taskId);
    if (!row) return;
    switch (event.type) {
      case 'task.started':
        row.status = 'running';
        row.attempt = event.attempt;
        row.startedAt ??= event.at;
        row.note = event.attempt > 1 ? `attempt ${event.attempt}` : undefined;
        break;
      case 'task.progress':
        row.progress = event.progress;
        row.note = event.message;
        break;
      case 'task.completed':
        row.status = 'completed';
        row.finishedAt = event.at;
        row.note = undefined;
        break;
      case 'task.retrying':
        row.status = 'retrying';
        row.note = `retry after: ${truncate(event.error.message, 60)}`;
        break;
      case 'task.failed':
        row.status = 'failed';
        row.finishedAt = this.clock.now();
        row.note = truncate(event.error.message, 80);
        break;
      case 'task.skipped':
        row.status = 'skipped';
        row.note = truncate(event.reason, 80);
        break;
      case 'task.cancelled':
        row.status = 'cancelled';
        row.note = truncate(event.reason, 80);
        break;
      case 'task.ready':
        row.status = 'pending';
        row.note = `attempt ${row.attempt + 1} due`;
        break;
    }
    // Without a TTY, progress ticks would flood the log: print state changes only.
    if (!this.live && event.type !== 'task.progress') this.out.write(`${this.line(row)}\n`);
  }

  private draw(): void {
    this.frame++;
    const lines = [...this.rows.values()].map((row) => this.line(row));
    const up = this.drawnLines > 0 ? `\u001b[${this.drawnLines}F` : '';
    this.out.write(`${up}${lines.map((l) => `\u001b[2K${l}`).join('\n')}\n`);
    this.drawnLines = lines.length;
  }

  private line(row: Row): string {
    const { c } = this;
    const icon = {
      pending: c.dim('·'),
      running: c.cyan(SPINNER[this.frame % SPINNER.length]!),
      retrying: c.yellow('↻'),
      waiting: c.yellow('⏸'),
      completed: c.green('✓'),
      failed: c.red('✗'),
      skipped: c.dim('↷'),
      cancelled: c.dim('⊘'),
    }[row.status];
    const end = row.finishedAt ?? this.clock.now();
    const elapsed = row.startedAt === undefined ? '' : formatDuration(end - row.startedAt);
    const progress =
      row.status === 'running' && row.progress !== undefined
        ? ` ${Math.round(row.progress * 100)}%`
        : '';
    const note = row.note ? c.dim(` ${row.note}`) : '';
    return `${icon} ${row.id.padEnd(14)} ${c.dim(row.agent.padEnd(10))} ${row.status.padEnd(9)} ${elapsed.padStart(8)}${progress}${note}`;
  }
}

/** The end-of-run table: one row per task. */
export function summaryTable(result: WorkflowResult): string {
  const rows = Object.values(result.tasks).map((task) => [
    task.taskId,
    task.agent,
    task.status,
    String(task.attempts),
    task.startedAt !== undefined && task.finishedAt !== undefined
      ? formatDuration(task.finishedAt - task.startedAt)
      : '-',
    truncate(task.error?.message ?? task.skipReason ?? '', 60),
  ]);
  return table(['task', 'agent', 'status', 'attempts', 'time', 'note'], rows);
}

/** The attempts that failed and were retried, one row each; undefined when no task was retried. */
export function failedAttemptsTable(result: WorkflowResult): string | undefined {
  const rows = Object.values(result.tasks).flatMap((task) =>
    (task.failedAttempts ?? []).map((attempt) => [
      task.taskId,
      `#${attempt.attempt}`,
      attempt.startedAt === undefined ? '-' : new Date(attempt.startedAt).toISOString(),
      attempt.startedAt === undefined ? '-' : formatDuration(attempt.endedAt - attempt.startedAt),
      truncate(attempt.error.message, 60),
    ]),
  );
  return rows.length === 0
    ? undefined
    : table(['task', 'attempt', 'started', 'time', 'error'], rows);
}
