/**
 * Jobs enqueued since the last hand-over to the queue actor. Enqueues are
 * gathered for one microtask and sent as one `job.enqueue` event: the per
 * event cost of XState is then paid once per burst, not once per job.
 */
import type { JobRecord } from '../../machines/queue/job.js';

export class EnqueueBatch {
  #jobs: JobRecord[] = [];
  /** Ids given by callers (generated ids cannot collide), for the dedup rule. */
  readonly #givenIds = new Set<string>();
  #sent: { promise: Promise<void>; resolve: () => void } | null = null;

  /**
   * @param send hands a batch to the actor; called from a microtask or by {@link flush}.
   */
  constructor(private readonly send: (jobs: JobRecord[]) => void) {}

  has(id: string): boolean {
    return this.#givenIds.has(id);
  }

  /** Adds a job; resolves once its batch has been handed over. */
  add(record: JobRecord, givenId: boolean): Promise<void> {
    this.#jobs.push(record);
    if (givenId) this.#givenIds.add(record.id);
    if (!this.#sent) {
      let resolve!: () => void;
      const promise = new Promise<void>((res) => {
        resolve = res;
      });
      this.#sent = { promise, resolve };
      queueMicrotask(() => this.flush());
    }
    return this.#sent.promise;
  }

  /** Hands the pending jobs over now (a no-op when there are none). */
  flush(): void {
    const sent = this.#sent;
    if (!sent) return;
    const jobs = this.#jobs;
    this.#jobs = [];
    this.#givenIds.clear();
    this.#sent = null;
    this.send(jobs);
    sent.resolve();
  }
}
