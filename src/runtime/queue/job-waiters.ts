/**
 * Callers of `waitForJob()` waiting for one job each, with optional timeouts
 * on the queue's clock.
 */
import { TroupeError } from '../../errors.js';
import { type JobRecord, type JobResult, toJobResult } from '../../machines/queue/job.js';
import type { Clock } from '../clock.js';

export interface WaitOptions {
  /** Rejects with `WAIT_TIMEOUT` after this many ms (on the queue's clock). @default wait forever */
  timeoutMs?: number;
}

interface Waiter {
  resolve: (result: JobResult) => void;
  timer: unknown;
}

export class JobWaiters {
  readonly #clock: Clock;
  readonly #byJob = new Map<string, Set<Waiter>>();

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /**
   * Resolves when {@link finish} is called for the job.
   * @param statusOf the job's status now, for the timeout message.
   */
  wait(id: string, options: WaitOptions, statusOf: () => string): Promise<JobResult> {
    return new Promise<JobResult>((resolve, reject) => {
      const waiter: Waiter = { resolve, timer: undefined };
      const { timeoutMs } = options;
      if (timeoutMs !== undefined) {
        waiter.timer = this.#clock.setTimeout(() => {
          this.#byJob.get(id)?.delete(waiter);
          reject(
            new TroupeError(
              'WAIT_TIMEOUT',
              `TaskQueue.waitForJob(${JSON.stringify(id)}) gave up after ${timeoutMs} ms; the job is still ${statusOf()}. Wait longer, or cancelJob() it.`,
              { jobId: id, timeoutMs },
            ),
          );
        }, timeoutMs);
      }
      let set = this.#byJob.get(id);
      if (!set) {
        set = new Set();
        this.#byJob.set(id, set);
      }
      set.add(waiter);
    });
  }

  /** The job finished: resolves its waiters (the result is built only if someone waits). */
  finish(job: Readonly<JobRecord>): void {
    const waiters = this.#byJob.get(job.id);
    if (!waiters) return;
    this.#byJob.delete(job.id);
    const result = toJobResult(job);
    for (const waiter of waiters) {
      if (waiter.timer !== undefined) this.#clock.clearTimeout(waiter.timer);
      waiter.resolve(result);
    }
  }
}
