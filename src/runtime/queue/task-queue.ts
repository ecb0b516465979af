/**
 * The task queue's public API: a facade over one queue actor.
 *
 * Invariants:
 * - The actor is the only owner of job state; this class validates input,
 *   batches enqueues (one `job.enqueue` event per microtask) and turns
 *   emitted events into promises and listener calls.
 * - Reads (`getJob`, `stats`, ...) first hand over enqueues still batched, so
 *   a read always sees every job enqueued before it.
 * - With a store, jobs with named handlers are durable: `enqueue()` resolves
 *   once the job is stored; after a crash it runs (again) on the next
 *   `start()` with the same id: delivery is at-least-once. Function handler
 *   jobs live in memory only.
 * - With a PostgreSQL store, the queue is shared by every process that opens
 *   a queue of the same name on the database: the jobs live there, and this
 *   class hands every call to {@link SharedQueue} (shared-queue.ts); the
 *   local actor then holds nothing.
 */
import { type Actor, createActor } from 'xstate';
import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import {
  isFinalStatus,
  JOB_STATUSES,
  type JobHandler,
  type JobInfo,
  type JobInput,
  type JobRecord,
  type JobResult,
  type JobStatus,
  toJobInfo,
  toJobResult,
} from '../../machines/queue/job.js';
import { jobIdSchema, parseJobInput } from '../../machines/queue/job-schema.js';
import { recentThroughput } from '../../machines/queue/queue-context.js';
import type { QueueContext, QueueNotice, QueueTotals } from '../../machines/queue/queue-types.js';
import { functionSchema, nameSchema, parseArgument } from '../../schemas/arguments.js';
import { durationMs } from '../../schemas/limits.js';
import { EnqueueBatch } from './enqueue-batch.js';
import { buildJobRecord } from './job-builder.js';
import { JobWaiters, type WaitOptions } from './job-waiters.js';
import {
  createQueueDeps,
  createQueueLogic,
  type QueueActorRef,
  type QueueDeps,
  type QueueLogic,
  queueInput,
} from './queue-logic.js';
import { loadStoredJobs, readStoredJob } from './queue-recovery.js';
import { SharedQueue } from './shared-queue.js';
import {
  listenerPayload,
  NOTICE_TO_LISTENER,
  type TaskQueueEventName,
  type TaskQueueListeners,
} from './task-queue-events.js';
import type { TaskQueueOptions } from './task-queue-options.js';

/** Counts of a queue's jobs by state, as `queue.stats()` returns them. */
export interface QueueStats {
  state: 'stopped' | 'running' | 'draining';
  /** Jobs held right now, per status (finished ones up to `keepFinishedJobs`). */
  counts: Record<JobStatus, number>;
  /** Since this queue actor was created. */
  totals: QueueTotals;
  maxWorkers: number;
  /** Jobs finished per second over the last 10 seconds. */
  throughputPerSecond: number;
}

/** Options of `queue.stop()`. */
export interface StopOptions {
  /** Let running jobs finish (queued ones stay queued, and stored). @default true */
  graceful?: boolean;
  /** A graceful stop that takes longer turns into a non-graceful one. @default no limit */
  timeoutMs?: number;
}

type AnyListener = (payload: never) => void;

const stopOptionsSchema = z.strictObject({
  graceful: z.boolean({ error: 'must be true or false' }).optional(),
  timeoutMs: durationMs().optional(),
});

const waitOptionsSchema = z.strictObject({ timeoutMs: durationMs().optional() });

/** Every listener name, once: a record, so a name added to the listener map must be added here. */
const EVENTS: Readonly<Record<TaskQueueEventName, true>> = {
  started: true,
  progress: true,
  retrying: true,
  completed: true,
  failed: true,
  cancelled: true,
  rejected: true,
  idle: true,
  stopped: true,
  error: true,
};
const eventNameSchema = z.enum(
  Object.keys(EVENTS) as [TaskQueueEventName, ...TaskQueueEventName[]],
);

const runAtSchema = z.union(
  [
    z.date().refine((date) => Number.isFinite(date.getTime()), { error: 'is an invalid Date' }),
    z.number().finite(),
  ],
  { error: 'must be a valid Date or a finite number of epoch ms' },
);

/** Parses one argument of `TaskQueue.<api>()`. */
function queueArgument<S extends z.ZodType>(api: string, name: string, schema: S, value: unknown) {
  return parseArgument(`TaskQueue.${api}()`, name, schema, value);
}

/**
 * Background jobs with priorities, a worker pool, a rate limit, retries,
 * timeouts, scheduling, progress and (with a store) durability; see
 * docs/queue.md. Register handlers, enqueue, `start()`. All state lives in the
 * queue actor; this class holds only promises and listeners.
 */
export class TaskQueue {
  readonly #deps: QueueDeps;
  readonly #ref: QueueActorRef;
  readonly #batch: EnqueueBatch;
  readonly #waiters: JobWaiters;
  #loading: Promise<void> | null = null;
  /** The stored jobs are loaded (see #load). */
  #loaded = false;
  /**
   * A caller gave an id that starts like the default generator's: generated
   * ids may collide with it, so from then on they are checked like given ones.
   */
  #givenLikeGenerated = false;
  /** The batch of enqueues being gathered, and when its jobs are stored. */
  #stored: { sent: Promise<void>; done: Promise<void> } | null = null;
  readonly #listeners = new Map<TaskQueueEventName, Set<AnyListener>>();
  /** One-shot internal hooks per notice type (stop, onIdle). */
  readonly #hooks = new Map<QueueNotice['type'], Array<() => void>>();
  /** The queue in PostgreSQL, when the store is a PostgresStore. */
  readonly #shared: SharedQueue | null;

  /**
   * A standalone queue with its own root actor.
   * @param attached internal: use {@link TaskQueue.fromActor} instead.
   */
  constructor(options: TaskQueueOptions = {}, attached?: { ref: QueueActorRef; deps: QueueDeps }) {
    let actor: Actor<QueueLogic> | null = null;
    if (attached) {
      this.#deps = attached.deps;
      this.#ref = attached.ref;
    } else {
      this.#deps = createQueueDeps(options);
      actor = createActor(createQueueLogic(this.#deps), {
        input: queueInput(this.#deps),
        clock: this.#deps.options.clock,
      });
      this.#ref = actor;
    }
    this.#batch = new EnqueueBatch((jobs, unique) =>
      this.#ref.send({ type: 'job.enqueue', at: this.#now(), jobs, unique }),
    );
    this.#waiters = new JobWaiters(this.#deps.options.clock);
    const { shared } = this.#deps.options;
    this.#shared =
      shared === null
        ? null
        : new SharedQueue(
            shared,
            this.#deps,
            (event, payload) => this.#emit(event, payload),
            (event) => (this.#listeners.get(event)?.size ?? 0) > 0,
          );
    this.#ref.on('queue.notices', (event) => this.#onNotices(event.notices));
    this.#deps.writes.onError((error) => this.#emit('error', error));
    this.#ref.subscribe({ error: (error) => this.#emit('error', error) });
    actor?.start();
  }

  /**
   * A facade over a queue actor that lives elsewhere, e.g. spawned with
   * `createQueueLogic(deps)` under a runtime's root actor with systemId
   * 'queue' (see queue-logic.ts). `deps` must be the ones its logic was built
   * from. The caller owns the actor: stopping the facade stops the queue
   * machine, not the actor.
   */
  static fromActor(ref: QueueActorRef, deps: QueueDeps): TaskQueue {
    return new TaskQueue({}, { ref, deps });
  }

  /** The queue actor, for inspection. */
  get actor(): QueueActorRef {
    return this.#ref;
  }

  /** Registers a named handler; jobs naming it are durable. */
  register<A extends readonly unknown[] = readonly unknown[]>(
    name: string,
    handler: JobHandler<A>,
  ): this {
    queueArgument('register', 'name', nameSchema, name);
    queueArgument('register', 'handler', functionSchema(), handler);
    this.#deps.handlers.register(name, handler as unknown as JobHandler);
    return this;
  }

  /**
   * Starts running jobs. With a store, the first start first loads stored
   * jobs: queued and scheduled ones come back, and ones that were running
   * when the process died run again (at-least-once).
   */
  async start(): Promise<void> {
    if (this.#shared) return this.#shared.start();
    await this.#load();
    this.#batch.flush();
    this.#ref.send({ type: 'queue.start', at: this.#now() });
  }

  /** Stops starting jobs. Resolves when the queue is stopped and its writes are stored. */
  async stop(input: StopOptions = {}): Promise<void> {
    const options = queueArgument('stop', 'options', stopOptionsSchema, input);
    const graceful = options.graceful ?? true;
    if (this.#shared) return this.#shared.stop(graceful, options.timeoutMs);
    this.#batch.flush();
    if (this.#state() !== 'stopped') {
      const stopped = this.#nextNotice('queue.stopped');
      this.#ref.send({ type: 'queue.stop', at: this.#now(), graceful });
      let timer: unknown;
      if (graceful && options.timeoutMs !== undefined && this.#state() === 'draining') {
        timer = this.#deps.options.clock.setTimeout(() => {
          this.#ref.send({ type: 'queue.stop', at: this.#now(), graceful: false });
        }, options.timeoutMs);
      }
      await stopped;
      if (timer !== undefined) this.#deps.options.clock.clearTimeout(timer);
    }
    await this.#deps.writes.flush();
  }

  /**
   * Adds a job. Resolves with its id (once stored, for a durable job).
   * @throws TroupeError `INVALID_JOB` for a bad job, `DUPLICATE_JOB` if a job
   * with this id is scheduled, queued, running or retrying. The id of a
   * finished job may be reused: the new job replaces the old record.
   */
  enqueue<A extends readonly unknown[]>(job: JobInput<A>): Promise<string> {
    return this.#submit(job, null, 'TaskQueue.enqueue()');
  }

  /** Adds a job that becomes ready at `runAt` (at once if that time has passed). */
  schedule<A extends readonly unknown[]>(job: JobInput<A>, runAt: Date | number): Promise<string> {
    try {
      const at = parseArgument('TaskQueue.schedule()', 'runAt', runAtSchema, runAt, 'INVALID_JOB');
      return this.#submit(job, at instanceof Date ? at.getTime() : at, 'TaskQueue.schedule()');
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The job's current state, or undefined if this queue does not know the id. */
  async getJob(id: string): Promise<JobInfo | undefined> {
    queueArgument('getJob', 'id', jobIdSchema, id);
    if (this.#shared) return this.#shared.getJob(id);
    const record = await this.#find(id);
    return record ? toJobInfo(record) : undefined;
  }

  /**
   * Resolves with the job's result once it is completed, failed or cancelled.
   * @throws TroupeError `JOB_NOT_FOUND` for an unknown id, `WAIT_TIMEOUT` on timeout.
   */
  async waitForJob(id: string, input: WaitOptions = {}): Promise<JobResult> {
    queueArgument('waitForJob', 'id', jobIdSchema, id);
    const options = queueArgument('waitForJob', 'options', waitOptionsSchema, input);
    if (this.#shared) {
      return this.#shared.waitForJob(id, options, () => this.#notFound(id, 'waitForJob'));
    }
    const record = await this.#find(id);
    if (!record) throw this.#notFound(id, 'waitForJob');
    if (isFinalStatus(record.status)) return toJobResult(record);
    return this.#waiters.wait(id, options, () => this.#held(id)?.status ?? 'unknown');
  }

  /**
   * Cancels a job that has not finished (a running one is aborted through its
   * AbortSignal). Resolves true if it was cancelled, false if it had finished.
   * @throws TroupeError `JOB_NOT_FOUND` for an unknown id.
   */
  async cancelJob(id: string): Promise<boolean> {
    queueArgument('cancelJob', 'id', jobIdSchema, id);
    if (this.#shared) return this.#shared.cancelJob(id, () => this.#notFound(id, 'cancelJob'));
    const record = await this.#find(id);
    if (!record) throw this.#notFound(id, 'cancelJob');
    if (isFinalStatus(record.status)) return false;
    if (!this.#held(id)) await this.#load();
    this.#ref.send({ type: 'job.cancel', at: this.#now(), id });
    await this.#deps.writes.flush();
    return true;
  }

  /** Resolves when nothing is queued, running or waiting for a retry. */
  onIdle(): Promise<void> {
    if (this.#shared) return this.#shared.onIdle();
    this.#batch.flush();
    if (this.#context().idle) return Promise.resolve();
    return this.#nextNotice('queue.idle');
  }

  /** Resolves once every change so far is stored (at once without a store). */
  flush(): Promise<void> {
    if (this.#shared) return this.#shared.flush();
    this.#batch.flush();
    return this.#deps.writes.flush();
  }

  /** Counts of the jobs by state, now. */
  stats(): QueueStats {
    if (this.#shared) return this.#sharedStats(this.#shared);
    this.#batch.flush();
    const ctx = this.#context();
    return {
      state: this.#state(),
      counts: { ...ctx.counts },
      totals: { ...ctx.totals },
      maxWorkers: ctx.settings.maxWorkers,
      throughputPerSecond: recentThroughput(ctx.throughput, this.#now()),
    };
  }

  /**
   * Jobs per status across every process of a queue shared through
   * PostgreSQL (`stats()` there counts this process's jobs only); for a
   * local queue, the same counts as `stats()`.
   */
  async sharedCounts(): Promise<Record<JobStatus, number>> {
    const counts = this.stats().counts;
    if (!this.#shared) return counts;
    const stored = await this.#shared.counts();
    for (const status of Object.keys(counts) as JobStatus[]) counts[status] = stored[status] ?? 0;
    return counts;
  }

  /** Adds a listener; returns a function that removes it. */
  on<E extends TaskQueueEventName>(event: E, listener: TaskQueueListeners[E]): () => void {
    queueArgument('on', 'event', eventNameSchema, event);
    queueArgument('on', 'listener', functionSchema(), listener);
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener as AnyListener);
    return () => set.delete(listener as AnyListener);
  }

  // --- internals -----------------------------------------------------------

  #onNotices(notices: readonly QueueNotice[]): void {
    for (const notice of notices) {
      if (
        notice.type === 'job.completed' ||
        notice.type === 'job.failed' ||
        notice.type === 'job.cancelled'
      ) {
        // Waiters and function handlers are served whether anyone listens or not.
        if (notice.job.handler === null) this.#deps.handlers.release(notice.job.id);
        this.#waiters.finish(notice.job);
      }
      const hooks = this.#hooks.get(notice.type);
      if (hooks) {
        this.#hooks.delete(notice.type);
        for (const hook of hooks) hook();
      }
      const name = NOTICE_TO_LISTENER[notice.type];
      if (this.#listeners.get(name)?.size) this.#emit(name, listenerPayload(notice));
    }
  }

  /** Resolves at the next notice of this type. */
  #nextNotice(type: QueueNotice['type']): Promise<void> {
    return new Promise((resolve) => {
      let hooks = this.#hooks.get(type);
      if (!hooks) {
        hooks = [];
        this.#hooks.set(type, hooks);
      }
      hooks.push(resolve);
    });
  }

  #emit(event: TaskQueueEventName, payload: unknown): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) {
      if (event === 'error') process.emitWarning(`troupe TaskQueue: ${String(payload)}`);
      return;
    }
    for (const listener of set) (listener as (value: unknown) => void)(payload);
  }

  #submit(input: unknown, runAt: number | null, api: string): Promise<string> {
    try {
      const job = parseJobInput(input, api);
      if (this.#shared) return this.#shared.submit(job, runAt, api);
      if (this.#deps.options.store === null) {
        return Promise.resolve(this.#accept(job, runAt, api).record.id);
      }
      return this.#submitDurable(job, runAt, api);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #submitDurable(job: JobInput, runAt: number | null, api: string): Promise<string> {
    // Stored jobs are loaded first, so an id taken by a stored job is seen as taken.
    if (!this.#loaded) return this.#load().then(() => this.#submitDurable(job, runAt, api));
    const { record, sent } = this.#accept(job, runAt, api);
    const { id } = record;
    if (!record.durable) return Promise.resolve(id);
    // One wait for the store per batch, not per job: every job of a batch is
    // stored by the write that follows its hand-over.
    if (this.#stored?.sent !== sent) {
      this.#stored = { sent, done: sent.then(() => this.#deps.writes.flush()) };
    }
    return this.#stored.done.then(() => id);
  }

  /** Validates, applies the dedup rule and queues the job for the next batch. */
  #accept(
    job: JobInput,
    runAt: number | null,
    api: string,
  ): { record: JobRecord; sent: Promise<void> } {
    const { options, handlers } = this.#deps;
    const { record, fn } = buildJobRecord(job, runAt, api, options, handlers);
    const { id } = record;
    // Generated ids are unique by construction; only given ones need checking.
    if (job.id !== undefined) {
      const existing = this.#held(id);
      const active = existing !== undefined && !isFinalStatus(existing.status);
      if (active || this.#batch.has(id)) {
        const status = active ? existing.status : 'queued';
        throw new TroupeError(
          'DUPLICATE_JOB',
          `${api} rejected job ${JSON.stringify(id)}: a job with this id is already ${status}. Ids must be unique among active jobs; a finished job's id may be reused.`,
          { jobId: id, status },
        );
      }
    }
    if (fn !== null) handlers.bind(id, fn);
    const prefix = options.generatedIdPrefix;
    if (job.id !== undefined && prefix !== null && id.startsWith(prefix)) {
      this.#givenLikeGenerated = true;
    }
    const unique = job.id === undefined && prefix !== null && !this.#givenLikeGenerated;
    return { record, sent: this.#batch.add(record, job.id !== undefined, unique) };
  }

  /** Loads stored jobs once (a no-op without a store). */
  #load(): Promise<void> {
    const { store } = this.#deps.options;
    if (store === null) return Promise.resolve();
    this.#loading ??= loadStoredJobs(store).then(({ jobs, keys, errors }) => {
      for (const error of errors) this.#emit('error', error);
      this.#deps.writes.markStored(keys);
      if (jobs.length > 0) this.#ref.send({ type: 'queue.load', at: this.#now(), jobs });
      this.#loaded = true;
    });
    return this.#loading;
  }

  async #find(id: string): Promise<JobRecord | undefined> {
    this.#batch.flush();
    const held = this.#held(id);
    if (held) return held;
    const { store } = this.#deps.options;
    if (store === null) return undefined;
    return readStoredJob(store, id);
  }

  #held(id: string): JobRecord | undefined {
    const { jobs } = this.#context();
    // The JSON form is there only between a snapshot restore and the queue's next step.
    if (jobs instanceof Map) return jobs.get(id);
    return Object.hasOwn(jobs, id) ? jobs[id] : undefined;
  }

  #notFound(id: string, api: string): TroupeError {
    return new TroupeError(
      'JOB_NOT_FOUND',
      `TaskQueue.${api}(${JSON.stringify(id)}): no such job in this queue${this.#deps.options.store ? ' or its store' : ''}. It was never enqueued, or it finished and was dropped (keepFinishedJobs).`,
      { jobId: id },
    );
  }

  /** A shared queue's stats: what this process runs, and its totals. */
  #sharedStats(shared: SharedQueue): QueueStats {
    const counts = Object.fromEntries(JOB_STATUSES.map((status) => [status, 0])) as Record<
      JobStatus,
      number
    >;
    counts.running = shared.running;
    return {
      state: shared.state,
      counts,
      totals: { ...shared.totals },
      maxWorkers: this.#deps.options.maxWorkers,
      throughputPerSecond: shared.throughput(),
    };
  }

  #context(): QueueContext {
    return this.#ref.getSnapshot().context;
  }

  #state(): QueueStats['state'] {
    const snapshot = this.#ref.getSnapshot();
    if (snapshot.matches('running')) return 'running';
    if (snapshot.matches('draining')) return 'draining';
    return 'stopped';
  }

  #now(): number {
    return this.#deps.options.clock.now();
  }
}
