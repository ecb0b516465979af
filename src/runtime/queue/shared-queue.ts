/**
 * The task queue shared across processes through PostgreSQL: what a
 * {@link TaskQueue} does when its store is a `PostgresStore`. The jobs live
 * in `troupe_jobs`, not in this process; every process with a queue of the
 * same name enqueues into it and (once started) works on it.
 *
 * Invariants:
 * - A job runs only while this process holds its claim: claims take a lease,
 *   renewed every third of `leaseMs` while the job runs; a job whose worker
 *   died is claimed again once its lease expires (at-least-once, same id).
 * - The end of an attempt is written only if this process still holds that
 *   attempt (fencing by owner and attempt number): after a takeover, the old
 *   worker's late result is dropped.
 * - The global limits (`globalConcurrency`, `maxJobsPerSecond`) are checked
 *   in the claim's transaction, under the queue's row lock: they hold across
 *   every process of the queue.
 * - Writes are grouped: enqueues of one microtask are one INSERT; the ends
 *   of attempts (and progress) gathered while the previous write was in
 *   flight are one UPDATE.
 */
import type pg from 'pg';
import { failure, isPromiseLike, isRetryable, Run } from '../../actors/queue/job-run.js';
import { type SerializedError, serializeError, TroupeError } from '../../errors.js';
import {
  isFinalStatus,
  type JobInfo,
  type JobInput,
  type JobProgress,
  type JobResult,
  type JobStatus,
  toJobInfo,
  toJobResult,
} from '../../machines/queue/job.js';
import {
  countFinished,
  createThroughputWindow,
  recentThroughput,
} from '../../machines/queue/queue-context.js';
import { emptyTotals, type QueueTotals } from '../../machines/queue/queue-types.js';
import {
  type AttemptEnd,
  type AttemptSettlement,
  type ClaimedAttempt,
  rowToRecord,
  type StoredJobRow,
  settleAttempt,
} from '../../machines/queue/shared-job.js';
import { checkValue } from '../../schemas/value-check.js';
import { type Deferred, deferred } from '../../store/deferred.js';
import {
  type ClaimRequest,
  JOB_CHANNEL,
  type NewJobRow,
  type PostgresJobs,
} from '../../store/postgres/jobs.js';
import type { PostgresStore } from '../../store/postgres/postgres-store.js';
import { buildJobRecord, jobValueCheck } from './job-builder.js';
import { JobWaiters, type WaitOptions } from './job-waiters.js';
import type { QueueDeps } from './queue-logic.js';
import type { TaskQueueEventName } from './task-queue-events.js';

/** Jobs claimed per statement, at most. */
const CLAIM_BATCH = 500;
/** Jobs inserted per statement, at most. */
const INSERT_BATCH = 5_000;

interface Inflight {
  job: ClaimedAttempt;
  run: Run;
  timer: unknown;
}

interface PendingEnqueue {
  row: NewJobRow;
  resolve: (id: string) => void;
  reject: (error: unknown) => void;
}

/** An attempt's end, waiting to be written. */
interface PendingSettle {
  settlement: AttemptSettlement;
  job: ClaimedAttempt;
}

type Emit = (event: TaskQueueEventName, payload: unknown) => void;
/** Whether anyone listens to the event: a payload nobody hears is not built. */
type Listens = (event: TaskQueueEventName) => boolean;

/** A function that runs `fn` once in the next turn of the event loop, however often it is called before. */
function nextTurn(fn: () => void): () => void {
  let scheduled = false;
  return () => {
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      fn();
    });
  };
}

export class SharedQueue {
  readonly #store: PostgresStore;
  readonly #jobs: PostgresJobs;
  readonly #deps: QueueDeps;
  readonly #emit: Emit;
  readonly #listens: Listens;
  readonly #name: string;
  #state: 'stopped' | 'running' | 'draining' = 'stopped';
  readonly #inflight = new Map<string, Inflight>();
  readonly totals: QueueTotals = emptyTotals();
  /** Finishes per second of the last seconds, for `stats().throughputPerSecond`: fixed memory however long the worker runs. */
  readonly #finishes = createThroughputWindow();

  #claiming: Promise<void> | null = null;
  #claimAgain = false;
  #pollTimer: unknown;
  #renewTimer: unknown;
  #listener: pg.PoolClient | undefined;

  #enqueues: PendingEnqueue[] = [];
  #settles: PendingSettle[] = [];
  #progress = new Map<string, JobProgress>();
  #writing = false;
  #flushWaiters: Deferred[] = [];

  readonly #waiters: JobWaiters;
  /** Jobs someone here waits for, with their last known status. */
  readonly #waited = new Map<string, JobStatus>();
  /** Ends stored by this process so far: a wait that read a job's row while one landed reads it again. */
  #endsStored = 0;
  #idleWaiters: Array<() => void> = [];
  #watchTimer: unknown;
  #drained: Array<() => void> = [];

  constructor(store: PostgresStore, deps: QueueDeps, emit: Emit, listens: Listens) {
    this.#store = store;
    this.#jobs = store.jobs;
    this.#deps = deps;
    this.#emit = emit;
    this.#listens = listens;
    this.#name = deps.options.name;
    this.#waiters = new JobWaiters(deps.options.clock);
  }

  get state(): 'stopped' | 'running' | 'draining' {
    return this.#state;
  }

  get running(): number {
    return this.#inflight.size;
  }

  /** Finished here per second over the last 10 seconds. */
  throughput(): number {
    return recentThroughput(this.#finishes, this.#now());
  }

  // --- enqueue ---------------------------------------------------------------

  /** Adds a job (validated by the caller); resolves with its id once it is stored. */
  submit(job: JobInput, runAt: number | null, api: string): Promise<string> {
    const { options, handlers } = this.#deps;
    const { record } = buildJobRecord(job, runAt, api, options, handlers);
    const row: NewJobRow = {
      id: record.id,
      status: runAt === null ? 'queued' : 'scheduled',
      priority: record.priority,
      runAt: runAt ?? record.createdAt,
      spec: {
        name: record.name,
        handler: record.handler!,
        args: record.args,
        maxRetries: record.maxRetries,
        timeoutMs: record.timeoutMs,
        backoff: record.backoff,
        createdAt: record.createdAt,
      },
    };
    return new Promise((resolve, reject) => {
      if (this.#enqueues.length === 0) queueMicrotask(() => this.#insertPending(api));
      this.#enqueues.push({ row, resolve, reject });
    });
  }

  #insertPending(api: string): void {
    const pending = this.#enqueues;
    this.#enqueues = [];
    for (let from = 0; from < pending.length; from += INSERT_BATCH) {
      this.#insert(pending.slice(from, from + INSERT_BATCH), api);
    }
  }

  #insert(batch: PendingEnqueue[], api: string): void {
    // One row per id per statement: a later duplicate in the batch is refused like a stored one.
    const seen = new Set<string>();
    const rows: NewJobRow[] = [];
    for (const entry of batch) {
      if (seen.has(entry.row.id)) continue;
      seen.add(entry.row.id);
      rows.push(entry.row);
    }
    const inserted = this.#jobs.insert(this.#name, rows);
    const taken = new Set<string>();
    inserted.then(
      (ids) => {
        for (const entry of batch) {
          const { id } = entry.row;
          if (ids.has(id) && !taken.has(id)) {
            taken.add(id);
            this.totals.enqueued++;
            entry.resolve(id);
          } else {
            entry.reject(
              new TroupeError(
                'DUPLICATE_JOB',
                `${api} rejected job ${JSON.stringify(id)}: a job with this id is already active in shared queue ${JSON.stringify(this.#name)}. Ids must be unique among active jobs; a finished job's id may be reused.`,
                { jobId: id },
              ),
            );
          }
        }
      },
      (error: unknown) => {
        // Not acknowledged: the caller learns the job was not stored, and why.
        const failure =
          error instanceof TroupeError
            ? error
            : new TroupeError(
                'STORE_WRITE_FAILED',
                `${api} could not store ${batch.length === 1 ? 'its job' : `${batch.length} jobs`} in shared queue ${JSON.stringify(this.#name)}: ${error instanceof Error ? error.message : String(error)}. Nothing was enqueued; enqueue again once the database accepts writes.`,
                { queue: this.#name },
                { cause: error },
              );
        for (const entry of batch) entry.reject(failure);
      },
    );
  }

  // --- working ---------------------------------------------------------------

  /** Starts claiming and running jobs. */
  async start(): Promise<void> {
    if (this.#state === 'running') return;
    this.#state = 'running';
    await this.#listen().catch((error) => this.#emit('error', error));
    this.#armRenewal();
    this.#claim();
  }

  /** Stops claiming; waits for running jobs if graceful, else hands them back to the queue. */
  async stop(graceful: boolean, timeoutMs: number | undefined): Promise<void> {
    const { clock } = this.#deps.options;
    if (this.#state !== 'stopped') {
      this.#state = 'draining';
      if (this.#pollTimer !== undefined) clock.clearTimeout(this.#pollTimer);
      this.#pollTimer = undefined;
      await this.#claiming;
      if (graceful && this.#inflight.size > 0) {
        let timer: unknown;
        await new Promise<void>((resolve) => {
          this.#drained.push(resolve);
          if (timeoutMs !== undefined) timer = clock.setTimeout(resolve, timeoutMs);
        });
        if (timer !== undefined) clock.clearTimeout(timer);
      }
      for (const entry of [...this.#inflight.values()]) {
        entry.run.abort(
          new TroupeError(
            'QUEUE_STOPPED',
            `Job ${JSON.stringify(entry.job.id)} (${entry.job.spec.name}) was aborted because its queue stopped without grace; it goes back to the shared queue.`,
            { jobId: entry.job.id },
          ),
        );
        this.#finish(entry, { ok: 'interrupted' });
      }
      this.#state = 'stopped';
      if (this.#renewTimer !== undefined) clock.clearTimeout(this.#renewTimer);
      this.#renewTimer = undefined;
      this.#unlisten();
      this.#emit('stopped', { at: this.#now() });
    }
    await this.flush();
  }

  /**
   * Claims as many jobs as this process has free workers for, and runs them.
   * The ends of attempts gathered since the last write travel with the claim
   * (one statement, one round trip per batch), unless a write is in flight.
   */
  #claim(): void {
    if (this.#claiming) {
      this.#claimAgain = true;
      return;
    }
    const want = Math.min(this.#deps.options.maxWorkers - this.#inflight.size, CLAIM_BATCH);
    if (this.#state !== 'running' || want <= 0) {
      if (this.#settles.length > 0) this.#scheduleWrite();
      return;
    }
    const now = this.#now();
    this.#claimAgain = false;
    const settles = this.#writing || !this.#claimCarriesEnds ? [] : this.#settles.splice(0);
    if (settles.length > 0) this.#writing = true;
    this.#claiming = this.#jobs
      .settleAndClaim(
        this.#request(want, now),
        settles.map((entry) => entry.settlement),
      )
      .then(
        ({ settled, claimed }) => {
          this.#wrote(settles, settled);
          for (const row of claimed) {
            this.#run({
              id: row.id,
              spec: row.spec,
              attempts: row.attempts,
              attempt: row.attempt,
              failures: row.failures,
              startedAt: now,
            });
          }
          return claimed.length === want;
        },
        (error: unknown) => {
          this.#emit('error', error);
          if (settles.length > 0)
            for (const waiter of this.#flushWaiters.splice(0)) waiter.reject(error);
          return false;
        },
      )
      .then((full) => {
        this.#claiming = null;
        if (settles.length > 0) this.#writeEnded();
        if (full || this.#claimAgain) this.#claim();
        else this.#armPoll();
      });
  }

  /**
   * Whether claims carry the ends of attempts. Not under a global
   * concurrency limit: a process that freed its slots and took them again in
   * one statement would keep every slot, and the other processes would find
   * none free; written apart, the freed slots go to whoever claims first.
   */
  get #claimCarriesEnds(): boolean {
    return this.#deps.options.globalConcurrency === null;
  }

  /** A claim (or, with `want` 0, only a write) of this process, with the global limits. */
  #request(want: number, now: number): ClaimRequest {
    const { options } = this.#deps;
    return {
      queue: this.#name,
      owner: this.#store.ownerId,
      want,
      now,
      leaseMs: options.leaseMs,
      maxRunning: options.globalConcurrency,
      ratePerSecond: options.maxJobsPerSecond,
      burst: options.rateLimitBurst,
    };
  }

  /** Claims once the jobs ending in this turn have freed their workers: one claim for all of them. */
  readonly #scheduleClaim = nextTurn(() => this.#claim());

  /** Looks again after the poll interval, sooner when only the rate limit held jobs back. */
  #armPoll(): void {
    const { options } = this.#deps;
    if (this.#state !== 'running' || this.#pollTimer !== undefined) return;
    const tokenMs =
      options.maxJobsPerSecond === null ? Infinity : Math.ceil(1000 / options.maxJobsPerSecond);
    this.#pollTimer = options.clock.setTimeout(
      () => {
        this.#pollTimer = undefined;
        this.#claim();
      },
      Math.min(options.pollIntervalMs, tokenMs),
    );
  }

  #run(job: ClaimedAttempt): void {
    const run = new Run(job.id, job.spec.name, job.attempt, job.spec.args, true, (r, value, m) =>
      this.#onProgress(r, value, m),
    );
    const entry: Inflight = { job, run, timer: undefined };
    this.#inflight.set(job.id, entry);
    this.totals.started++;
    if (this.#listens('started')) {
      this.#emit('started', { jobId: job.id, attempt: job.attempt, at: job.startedAt });
    }
    const handler = this.#deps.handlers.named(job.spec.handler);
    if (!handler) {
      const message = `No handler named ${JSON.stringify(job.spec.handler)} is registered in this process for job ${JSON.stringify(job.id)} of shared queue ${JSON.stringify(this.#name)}. Every process that starts the queue must register all of its handlers.`;
      this.#fail(entry, failure('UNKNOWN_HANDLER', message, job.id), false, false);
      return;
    }
    const { timeoutMs } = job.spec;
    if (timeoutMs !== null) {
      entry.timer = this.#deps.options.clock.setTimeout(() => {
        const seconds = timeoutMs / 1000;
        const error = new TroupeError(
          'JOB_TIMEOUT',
          `Job ${JSON.stringify(job.id)} (${job.spec.name}) attempt ${job.attempt} timed out after ${seconds} s (timeoutSeconds: ${seconds}); its AbortSignal was aborted.`,
          { jobId: job.id, attempt: job.attempt },
        );
        entry.run.abort(error);
        this.totals.timedOut++;
        this.#fail(entry, serializeError(error), true, true);
      }, timeoutMs);
    }
    let value: unknown;
    try {
      value = handler(run);
    } catch (error) {
      this.#fail(entry, serializeError(error), isRetryable(error), false);
      return;
    }
    if (isPromiseLike(value)) {
      value.then(
        (result) => this.#succeed(entry, result),
        (error: unknown) => this.#fail(entry, serializeError(error), isRetryable(error), false),
      );
    } else {
      this.#succeed(entry, value);
    }
  }

  #succeed(entry: Inflight, result: unknown): void {
    if (result !== undefined) {
      try {
        checkValue(
          result,
          jobValueCheck(
            () => `Job ${JSON.stringify(entry.job.id)} returned a result that cannot be stored`,
            entry.job.id,
            'result',
            this.#deps.options.maxJobBytes,
          ),
        );
      } catch (error) {
        this.#fail(entry, serializeError(error), false, false);
        return;
      }
    }
    this.#finish(entry, { ok: true, result });
  }

  #fail(entry: Inflight, error: SerializedError, retryable: boolean, timedOut: boolean): void {
    this.#finish(entry, { ok: false, error, retryable, timedOut });
  }

  /** The attempt ended here: its row update joins the next write, and a worker is free. */
  #finish(entry: Inflight, end: AttemptEnd): void {
    if (this.#inflight.get(entry.job.id) !== entry) return;
    this.#inflight.delete(entry.job.id);
    entry.run.done = true;
    if (entry.timer !== undefined) this.#deps.options.clock.clearTimeout(entry.timer);
    this.#settles.push({ settlement: settleAttempt(entry.job, end, this.#now()), job: entry.job });
    if (this.#inflight.size === 0) for (const resolve of this.#drained.splice(0)) resolve();
    // While running, the next claim carries this end (or hands it to a write).
    if (this.#state !== 'running' || !this.#claimCarriesEnds) this.#scheduleWrite();
    this.#scheduleClaim();
  }

  #onProgress(run: Run, value: number, message: string | null): void {
    const at = this.#now();
    const clamped = Math.min(100, Math.max(0, value));
    this.#progress.set(run.jobId, { value: clamped, message, at });
    this.#emit('progress', { jobId: run.jobId, attempt: run.attempt, value: clamped, message, at });
    this.#scheduleWrite();
  }

  // --- writes ----------------------------------------------------------------

  /** Resolves once every end of attempt and progress so far is stored. */
  flush(): Promise<void> {
    if (this.#enqueues.length > 0) this.#insertPending('TaskQueue.flush()');
    if (!this.#writing && this.#settles.length === 0 && this.#progress.size === 0) {
      return Promise.resolve();
    }
    const done = deferred();
    this.#flushWaiters.push(done);
    this.#scheduleWrite();
    return done.promise;
  }

  /** After the current turn's handlers settled: their ends join one statement. */
  readonly #scheduleWrite = nextTurn(() => this.#write());

  #write(): void {
    if (this.#writing) return;
    const waiters = this.#flushWaiters;
    if (this.#settles.length === 0 && this.#progress.size === 0) {
      this.#flushWaiters = [];
      for (const waiter of waiters) waiter.resolve();
      return;
    }
    this.#writing = true;
    this.#flushWaiters = [];
    const settles = this.#settles;
    this.#settles = [];
    const progress = this.#progress;
    this.#progress = new Map();
    const owner = this.#store.ownerId;
    for (const { settlement } of settles) progress.delete(settlement.id);
    Promise.all([
      settles.length === 0
        ? undefined
        : this.#jobs.settleAndClaim(
            this.#request(0, this.#now()),
            settles.map((entry) => entry.settlement),
          ),
      progress.size === 0 ? undefined : this.#jobs.progress(this.#name, owner, progress),
    ])
      .then(
        ([written]) => {
          if (written) this.#wrote(settles, written.settled);
          for (const waiter of waiters) waiter.resolve();
        },
        (error: unknown) => {
          this.#emit('error', error);
          for (const waiter of waiters) waiter.reject(error);
        },
      )
      .finally(() => {
        this.#writeEnded();
        // A global limit may have held claims back while these jobs counted as running.
        this.#scheduleClaim();
      });
  }

  /** A write ended: the next one takes what gathered meanwhile (and the flushes waiting). */
  #writeEnded(): void {
    this.#writing = false;
    if (this.#settles.length > 0 || this.#progress.size > 0 || this.#flushWaiters.length > 0) {
      this.#write();
    }
  }

  /** Tells listeners and waiters about the ends that were stored. */
  #wrote(settles: readonly PendingSettle[], written: ReadonlySet<string>): void {
    this.#endsStored++;
    for (const { settlement, job } of settles) {
      if (written.has(settlement.id)) this.#settled(settlement, job);
    }
  }

  /** An attempt's end is stored: tell listeners and waiters (the record is built only for them). */
  #settled(settlement: AttemptSettlement, job: ClaimedAttempt): void {
    const { status } = settlement;
    if (status === 'queued') return;
    if (status === 'retrying') {
      this.totals.retried++;
      if (!this.#listens('retrying')) return;
      const last = settlement.attempts[settlement.attempts.length - 1]!;
      this.#emit('retrying', {
        jobId: job.id,
        attempt: job.attempt,
        error: last.error,
        retryAt: settlement.runAt,
      });
      return;
    }
    this.totals[status]++;
    countFinished(this.#finishes, settlement.finishedAt ?? this.#now());
    const waited = this.#waited.delete(job.id);
    const heard = this.#listens(status);
    if (!waited && !heard) return;
    const record = rowToRecord({
      id: job.id,
      status,
      priority: 0,
      runAt: settlement.runAt ?? 0,
      spec: job.spec,
      attempts: settlement.attempts,
      attempt: settlement.attempt,
      startedAt: job.startedAt,
      failures: settlement.failures,
      progress: null,
      result: settlement.result,
      finishedAt: settlement.finishedAt,
    });
    if (heard) this.#emit(status, toJobResult(record));
    if (waited) this.#waiters.finish(record);
  }

  /** Every third of the lease: renew the claims of running jobs; abort the ones lost. */
  #armRenewal(): void {
    const { clock, leaseMs } = this.#deps.options;
    this.#renewTimer = clock.setTimeout(
      () => {
        this.#renew().finally(() => {
          if (this.#state !== 'stopped') this.#armRenewal();
        });
      },
      Math.max(1, Math.floor(leaseMs / 3)),
    );
  }

  async #renew(): Promise<void> {
    const ids = [...this.#inflight.keys()];
    if (ids.length === 0) return;
    const { leaseMs } = this.#deps.options;
    try {
      const held = await this.#jobs.renew(
        this.#name,
        this.#store.ownerId,
        ids,
        this.#now(),
        leaseMs,
      );
      for (const id of ids) if (!held.has(id)) this.#lose(id);
    } catch (error) {
      this.#emit('error', error);
    }
  }

  /** The job is no longer this process's (cancelled, or claimed again after the lease expired). */
  #lose(id: string): void {
    const entry = this.#inflight.get(id);
    if (!entry) return;
    this.#inflight.delete(id);
    if (entry.timer !== undefined) this.#deps.options.clock.clearTimeout(entry.timer);
    entry.run.abort(
      new TroupeError(
        'JOB_CANCELLED',
        `Job ${JSON.stringify(id)} (${entry.job.spec.name}) attempt ${entry.job.attempt} was aborted: it was cancelled, or this process's claim on it expired and another worker took it. Its result will not be stored.`,
        { jobId: id, attempt: entry.job.attempt },
      ),
    );
    if (this.#inflight.size === 0) for (const resolve of this.#drained.splice(0)) resolve();
    this.#scheduleClaim();
  }

  // --- reads -----------------------------------------------------------------

  async getRow(id: string): Promise<StoredJobRow | undefined> {
    await this.#flushEnqueues();
    const [row] = await this.#jobs.get(this.#name, [id]);
    return row;
  }

  async getJob(id: string): Promise<JobInfo | undefined> {
    const row = await this.getRow(id);
    return row ? toJobInfo(rowToRecord(row)) : undefined;
  }

  /** Resolves with the job's result once it is final, wherever it ran. */
  async waitForJob(
    id: string,
    options: WaitOptions,
    notFound: () => TroupeError,
  ): Promise<JobResult> {
    // The job may end here after the read and before this wait is registered:
    // its end tells no waiter, and the wait would last until the next watch
    // poll (for ever on a clock nobody advances). Read again until no end landed meanwhile.
    let endsBefore: number;
    let row: StoredJobRow | undefined;
    do {
      endsBefore = this.#endsStored;
      row = await this.getRow(id);
    } while (row && !isFinalStatus(row.status) && this.#endsStored !== endsBefore);
    if (!row) throw notFound();
    if (isFinalStatus(row.status)) return toJobResult(rowToRecord(row));
    this.#waited.set(id, row.status);
    const result = this.#waiters.wait(id, options, () => this.#waited.get(id) ?? row.status);
    this.#armWatch();
    return result;
  }

  /**
   * Cancels a job that has not finished, wherever it runs (its worker aborts
   * it at its next lease renewal, at once if it runs here).
   */
  async cancelJob(id: string, notFound: () => TroupeError): Promise<boolean> {
    await this.#flushEnqueues();
    const before = await this.#jobs.cancel(this.#name, id, this.#now());
    if (before === undefined) throw notFound();
    if (isFinalStatus(before)) return false;
    this.#lose(id);
    this.totals.cancelled++;
    const row = await this.getRow(id);
    if (row) {
      const record = rowToRecord(row);
      this.#emit('cancelled', toJobResult(record));
      this.#waiters.finish(record);
      this.#waited.delete(id);
    }
    return true;
  }

  /** Resolves when no job of the queue is queued, running, retrying or due, in any process. */
  async onIdle(): Promise<void> {
    await this.#flushEnqueues();
    if (!(await this.#jobs.busy(this.#name, this.#now()))) return;
    await new Promise<void>((resolve) => {
      this.#idleWaiters.push(resolve);
      this.#armWatch();
    });
  }

  /** Polls for jobs finished elsewhere and for idleness, while someone waits. */
  #armWatch(): void {
    const { clock, pollIntervalMs } = this.#deps.options;
    if (this.#watchTimer !== undefined) return;
    if (this.#waited.size === 0 && this.#idleWaiters.length === 0) return;
    this.#watchTimer = clock.setTimeout(() => {
      this.#watch()
        .catch((error) => this.#emit('error', error))
        .finally(() => {
          this.#watchTimer = undefined;
          this.#armWatch();
        });
    }, pollIntervalMs);
  }

  async #watch(): Promise<void> {
    if (this.#waited.size > 0) {
      for (const row of await this.#jobs.get(this.#name, [...this.#waited.keys()])) {
        this.#waited.set(row.id, row.status);
        if (isFinalStatus(row.status)) {
          this.#waited.delete(row.id);
          this.#waiters.finish(rowToRecord(row));
        }
      }
    }
    if (this.#idleWaiters.length > 0 && !(await this.#jobs.busy(this.#name, this.#now()))) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
      this.#emit('idle', { at: this.#now() });
    }
  }

  /** Jobs of the queue per status, across all processes. */
  async counts(): Promise<Partial<Record<JobStatus, number>>> {
    await this.#flushEnqueues();
    return this.#jobs.counts(this.#name);
  }

  async #flushEnqueues(): Promise<void> {
    if (this.#enqueues.length === 0) return;
    const last = this.#enqueues[this.#enqueues.length - 1]!;
    const stored = new Promise<void>((resolve) => {
      const { resolve: done, reject } = last;
      last.resolve = (id) => {
        done(id);
        resolve();
      };
      last.reject = (error) => {
        reject(error);
        resolve();
      };
    });
    this.#insertPending('TaskQueue.enqueue()');
    await stored;
  }

  // --- LISTEN ----------------------------------------------------------------

  /** Wakes the claim loop at once when a job is enqueued (polling is the safety net). */
  async #listen(): Promise<void> {
    const client = await this.#store.connect();
    this.#listener = client;
    client.on('notification', (message) => {
      if (message.payload === this.#name) this.#claim();
    });
    client.on('error', () => {
      client.release(true);
      if (this.#listener === client) this.#listener = undefined;
      this.#deps.options.clock.setTimeout(() => {
        if (this.#state === 'running') this.#listen().catch(() => undefined);
      }, this.#deps.options.pollIntervalMs);
    });
    await client.query(`LISTEN ${JOB_CHANNEL}`);
  }

  #unlisten(): void {
    const client = this.#listener;
    this.#listener = undefined;
    if (!client) return;
    client.removeAllListeners('notification');
    client.query(`UNLISTEN ${JOB_CHANNEL}`).then(
      () => client.release(),
      () => client.release(true),
    );
  }

  #now(): number {
    return this.#deps.options.clock.now();
  }
}
