/**
 * The queue's jobs by id: a Map that serialises as a plain object.
 *
 * Why not a plain object in the context: with 100,000 jobs coming and going,
 * V8's dictionary-mode objects cost 2-3x a Map per lookup, insert and delete,
 * and those are the queue's hot path. Why that is still safe to persist:
 * `toJSON()` writes the plain-object form, and {@link jobTable} turns that
 * form back into a table on the first access after a snapshot restore (a Map
 * would otherwise come back as `{}`, see XSTATE-FACTS).
 */
import type { JobRecord } from './job.js';

/** What a job table looks like after `JSON.stringify` / `JSON.parse`. */
export type JobTableJson = Record<string, JobRecord>;

export class JobTable extends Map<string, JobRecord> {
  toJSON(): JobTableJson {
    return Object.fromEntries(this);
  }
}

/** The context's job table, rebuilt from its JSON form if a restore left that. */
export function jobTable(ctx: { jobs: JobTable | JobTableJson }): JobTable {
  const { jobs } = ctx;
  if (jobs instanceof JobTable) return jobs;
  const table = new JobTable(jobs instanceof Map ? jobs : Object.entries(jobs));
  ctx.jobs = table;
  return table;
}
