/**
 * Reads the queue's jobs back from the store: all of them on start, one
 * for a `getJob()` of a job the queue does not hold.
 *
 * A record that cannot be decoded or is not a valid job is reported and left
 * in the store untouched: one bad record never keeps the other jobs from
 * running, and nothing stored is deleted because it could not be read.
 */
import { TroupeError } from '../../errors.js';
import type { JobRecord } from '../../machines/queue/job.js';
import { parseStoredJobPart } from '../../machines/queue/job-schema.js';
import {
  type AttemptRecord,
  attemptKey,
  foldStoredJob,
  parseJobKey,
} from '../../machines/queue/stored-job.js';
import type { Store } from '../../store/store.js';

export interface StoredJobs {
  jobs: JobRecord[];
  /** Every key read, for the write buffer (deleting them must be written). */
  keys: string[];
  /** One `STORE_CORRUPT` error per record that was skipped. */
  errors: TroupeError[];
}

function corruptKey(error: unknown): string | undefined {
  if (error instanceof TroupeError && error.code === 'STORE_CORRUPT') {
    const key = error.context.key;
    return typeof key === 'string' ? key : undefined;
  }
  return undefined;
}

/** A job's records as read, before they are added up. */
interface JobParts {
  record?: JobRecord;
  attempt?: AttemptRecord;
}

function addPart(parts: Map<string, JobParts>, key: string, value: unknown): void {
  const { id, attempt } = parseJobKey(key);
  let job = parts.get(id);
  if (!job) {
    job = {};
    parts.set(id, job);
  }
  if (attempt) job.attempt = parseStoredJobPart('attempt', value, key, id);
  else job.record = parseStoredJobPart('record', value, key, id);
}

/**
 * Every stored job, its full record and small records added up (stored-job.ts).
 * The attempt record of a job whose full record is missing or corrupt is left alone.
 */
export async function loadStoredJobs(store: Store): Promise<StoredJobs> {
  const parts = new Map<string, JobParts>();
  const keys: string[] = [];
  const errors: TroupeError[] = [];
  let after: string | undefined;
  // A record that fails to decode ends the iteration; resume after its key.
  while (true) {
    try {
      for await (const [key, value] of store.range<unknown>(
        'jobs',
        after === undefined ? {} : { gt: after },
      )) {
        after = key;
        keys.push(key);
        try {
          addPart(parts, key, value);
        } catch (error) {
          if (!(error instanceof TroupeError)) throw error;
          errors.push(error);
        }
      }
      break;
    } catch (error) {
      const key = corruptKey(error);
      if (key === undefined || key === after) throw error;
      errors.push(error as TroupeError);
      after = key;
    }
  }
  const jobs: JobRecord[] = [];
  for (const { record, attempt } of parts.values()) {
    if (record) jobs.push(foldStoredJob(record, attempt));
  }
  return { jobs, keys, errors };
}

/**
 * One stored job, its records added up, or undefined if it has no full record.
 * @throws TroupeError `STORE_CORRUPT` for a record that is not valid.
 */
export async function readStoredJob(store: Store, id: string): Promise<JobRecord | undefined> {
  const [record, attempt] = await Promise.all([
    store.get<unknown>('jobs', id),
    store.get<unknown>('jobs', attemptKey(id)),
  ]);
  if (record === undefined) return undefined;
  return foldStoredJob(
    parseStoredJobPart('record', record, id, id),
    attempt === undefined ? undefined : parseStoredJobPart('attempt', attempt, attemptKey(id), id),
  );
}
