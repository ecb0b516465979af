/**
 * Reads the queue's jobs back from the store on start.
 *
 * A record that cannot be decoded or is not a valid job is reported and left
 * in the store untouched: one bad record never keeps the other jobs from
 * running, and nothing stored is deleted because it could not be read.
 */
import { TroupeError } from '../../errors.js';
import type { JobRecord } from '../../machines/queue/job.js';
import { parseJobRecord } from '../../machines/queue/job-schema.js';
import type { Store } from '../../store/store.js';

export interface StoredJobs {
  jobs: JobRecord[];
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

export async function loadStoredJobs(store: Store): Promise<StoredJobs> {
  const jobs: JobRecord[] = [];
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
        try {
          jobs.push(parseJobRecord(value, key));
        } catch (error) {
          if (!(error instanceof TroupeError)) throw error;
          errors.push(error);
        }
      }
      return { jobs, errors };
    } catch (error) {
      const key = corruptKey(error);
      if (key === undefined || key === after) throw error;
      errors.push(error as TroupeError);
      after = key;
    }
  }
}
