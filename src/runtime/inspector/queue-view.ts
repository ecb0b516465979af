/**
 * The queue panel's data, read from the context of the actor with system id
 * `queue`. The queue is its own module and may change shape; everything here
 * is read defensively, so a change shows as missing numbers, never as a
 * broken bridge.
 */
import type { QueueView } from './protocol.js';

/** System id of the task queue actor. */
export const QUEUE_SYSTEM_ID = 'queue';

const MAX_RUNNING_SHOWN = 50;
/** Jobs looked at per refresh; the running ones are usually found long before. */
const MAX_JOBS_SCANNED = 20_000;

interface JobLike {
  id?: unknown;
  name?: unknown;
  status?: unknown;
  attempts?: unknown;
  progress?: { value?: unknown; message?: unknown } | null;
}

export function queueView(context: unknown): QueueView | null {
  if (typeof context !== 'object' || context === null) return null;
  const c = context as { counts?: unknown; totals?: unknown; jobs?: unknown };
  const counts = numberRecord(c.counts);
  if (!counts) return null;
  return {
    counts,
    totals: numberRecord(c.totals) ?? {},
    running: runningJobs(c.jobs, counts.running ?? MAX_RUNNING_SHOWN),
  };
}

function runningJobs(jobs: unknown, expected: number): QueueView['running'] {
  const out: QueueView['running'] = [];
  const want = Math.min(expected, MAX_RUNNING_SHOWN);
  if (want <= 0 || typeof jobs !== 'object' || jobs === null) return out;
  const values: Iterable<unknown> =
    jobs instanceof Map ? jobs.values() : Object.values(jobs as Record<string, unknown>);
  let scanned = 0;
  for (const value of values) {
    if (out.length >= want || ++scanned > MAX_JOBS_SCANNED) break;
    const job = value as JobLike;
    if (job?.status !== 'running') continue;
    const progress = job.progress;
    out.push({
      id: String(job.id),
      name: String(job.name ?? ''),
      attempt: Array.isArray(job.attempts) ? job.attempts.length : 0,
      ...(typeof progress?.value === 'number' ? { progress: progress.value } : {}),
      ...(typeof progress?.message === 'string' ? { message: progress.message.slice(0, 200) } : {}),
    });
  }
  return out;
}

function numberRecord(value: unknown): Record<string, number> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const out: Record<string, number> = {};
  for (const [key, n] of Object.entries(value)) if (typeof n === 'number') out[key] = n;
  return out;
}
