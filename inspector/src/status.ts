/**
 * How each task status is shown: a colour, and always a symbol and a word
 * besides, so no status is told by colour alone. One table for the DAG,
 * the task table, the drawer and the legend.
 */
import type { CompensationView, TaskDelta } from '../../src/runtime/inspector/protocol.js';
import { TASK_STATUSES } from '../../src/runtime/inspector/task-table.js';

/** A task's status as drawn: its own, or where a saga rollback left it. */
export type ShownStatus =
  | TaskDelta['status']
  | 'waiting'
  | 'compensating'
  | 'compensated'
  | 'compensation_failed';

export interface StatusLook {
  symbol: string;
  label: string;
  /** What the legend says about it. */
  meaning: string;
}

export const STATUS_LOOKS: Record<ShownStatus, StatusLook> = {
  pending: { symbol: '○', label: 'pending', meaning: 'waiting for dependencies or a slot' },
  running: { symbol: '▶', label: 'running', meaning: 'an attempt is under way' },
  retrying: { symbol: '↻', label: 'retrying', meaning: 'failed; waiting out a backoff' },
  waiting: { symbol: '◷', label: 'waiting', meaning: 'waiting for a signal or an answer' },
  completed: { symbol: '✓', label: 'completed', meaning: 'finished with an output' },
  failed: { symbol: '✕', label: 'failed', meaning: 'failed for good' },
  skipped: { symbol: '⤼', label: 'skipped', meaning: 'condition false or upstream skipped' },
  cancelled: { symbol: '⊘', label: 'cancelled', meaning: 'never finished: run cancelled or ended' },
  compensating: { symbol: '↶', label: 'compensating', meaning: 'being undone by the saga' },
  compensated: { symbol: '↶', label: 'compensated', meaning: 'completed, then undone by the saga' },
  compensation_failed: {
    symbol: '⚠',
    label: 'undo failed',
    meaning: 'completed; its compensation failed',
  },
};

export const LEGEND_ORDER: ShownStatus[] = [...TASK_STATUSES, 'compensated', 'compensation_failed'];

export function shownStatus(task: {
  status: string;
  compensation?: CompensationView;
}): ShownStatus {
  const c = task.compensation;
  if (c) {
    if (c.status === 'completed') return 'compensated';
    if (c.status === 'failed') return 'compensation_failed';
    if (c.status === 'running' || c.status === 'retrying') return 'compensating';
  }
  return task.status in STATUS_LOOKS ? (task.status as ShownStatus) : 'pending';
}

export function statusText(status: ShownStatus): string {
  const look = STATUS_LOOKS[status];
  return `${look.symbol} ${look.label}`;
}
