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
  /** Every id of the batch is known to be new (see {@link add}). */
  #unique = true;
  #sent: { promise: Promise<void>; resolve: () => void } | null = null;

  /**
   * @param send hands a batch to the actor; called from a microtask or by {@link flush}.
   */
  constructor(private readonly send: (jobs: JobRecord[], unique: boolean) => void) {}

  has(id: string): boolean {
    return this.#givenIds.has(id);
  }

  /**
   * Adds a job; resolves once its batch has been handed over.
   * @param givenId the caller gave the id.
   * @param unique no other job can have this id (the queue skips its check).
   */
  add(record: JobRecord, givenId: boolean, unique: boolean): Promise<void> {
    this.#jobs.push(record);
    if (givenId) this.#givenIds.add(record.id);
    if (!unique) this.#unique = false;
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
    const unique = this.#unique;
    this.#jobs = [];
    this.#givenIds.clear();
    this.#unique = true;
    this.#sent = null;
    this.send(jobs, unique);
    sent.resolve();
  }
}
