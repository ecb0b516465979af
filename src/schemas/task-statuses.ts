/**
 * A task's statuses, in a module without zod: the inspector page numbers
 * them (its task table) and bundles this file, and importing the schema
 * module brought all of zod into the page.
 */
export const TASK_STATUSES = [
  'pending',
  'running',
  'retrying',
  'waiting',
  'completed',
  'failed',
  'skipped',
  'cancelled',
] as const;
