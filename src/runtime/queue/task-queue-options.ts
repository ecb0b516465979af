/**
 * Options of {@link TaskQueue}, their defaults (applied once, in
 * {@link resolveTaskQueueOptions}) and their validation.
 */
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import type { BackoffPolicy } from '../../machines/backoff.js';
import { backoffPolicySchema } from '../../machines/queue/job-schema.js';
import type { QueueSettings } from '../../machines/queue/queue-types.js';
import { clockSchema, parseArgument } from '../../schemas/arguments.js';
import { DEFAULT_VALUE_LIMITS, MAX_TIMER_MS, valueLimitsSchema } from '../../schemas/limits.js';
import { PostgresStore } from '../../store/postgres/postgres-store.js';
import type { Store } from '../../store/store.js';
import { type Clock, systemClock } from '../clock.js';

/** Options of `new TaskQueue(options)` (and of the runtime's queue, `createRuntime({ queue })`). */
export interface TaskQueueOptions {
  /**
   * Jobs that run at the same time, at most.
   * @default 5
   */
  maxWorkers?: number;
  /**
   * Rate limit: jobs started per second, at most, in the steady state (a
   * token bucket; every attempt, retries included, takes a token).
   * @default no limit
   */
  maxJobsPerSecond?: number;
  /**
   * Capacity of the rate limiter's bucket: how many jobs may start at once
   * after a quiet period. Over any window of t seconds at most
   * `rateLimitBurst + maxJobsPerSecond * t` jobs start. Ignored without
   * `maxJobsPerSecond`.
   * @default max(1, ceil(maxJobsPerSecond / 10)), a tenth of a second's worth
   */
  rateLimitBurst?: number;
  /**
   * Retries after a failed attempt, for jobs that do not set `maxRetries`.
   * @default 3
   */
  maxRetries?: number;
  /**
   * Retry backoff for jobs that do not set their own:
   * `min(maxDelayMs, initialDelayMs * factor^(retry-1))`, of which a `jitter`
   * fraction is spread by a hash of `jobId:attempt`.
   * @default { initialDelayMs: 1000, factor: 2, maxDelayMs: 60000, jitter: 0.2 }
   */
  backoff?: Partial<BackoffPolicy>;
  /**
   * Finished jobs kept (in memory and in the store) so `getJob()` and
   * `waitForJob()` can still answer; older ones are dropped, oldest first.
   * @default 10000
   */
  keepFinishedJobs?: number;
  /**
   * Where jobs with named handlers are kept so they survive a restart. Without
   * a store the queue is in memory only.
   * @default none
   */
  store?: Store;
  /**
   * Time source for timestamps, scheduling, backoff, timeouts and the rate
   * limit. Pass XState's `SimulatedClock` in tests.
   * @default systemClock
   */
  clock?: Clock;
  /**
   * Id for jobs enqueued without one.
   * @default a random 8-character prefix per queue plus a counter (`k3Xf9_Qa-1f`):
   * unique across processes, and cheaper than a UUID per job
   */
  generateId?: () => string;
  /**
   * Size limit of a stored job's arguments, and of its result, in bytes of
   * JSON: a job over it is refused with `VALUE_TOO_LARGE` (a result, by
   * failing the job). In a runtime, set it as `createRuntime({ limits: { maxJobBytes } })`.
   * @default 1_048_576 (1 MiB)
   */
  maxJobBytes?: number;
  /**
   * With a PostgreSQL store, the name of the shared queue this queue serves:
   * every process opening a queue of this name on the same database shares
   * its jobs (see docs/queue-postgres.md). Needs a `PostgresStore`.
   * @default 'default'
   */
  name?: string;
  /**
   * With a PostgreSQL store: jobs of this queue running at the same time
   * across all processes, at most (`maxWorkers` still caps each process).
   * Needs a `PostgresStore`.
   * @default no global limit
   */
  globalConcurrency?: number;
  /**
   * With a PostgreSQL store: how long a claimed job stays this process's
   * without a renewal (renewed every third of it while the job runs). A job
   * of a process that died is claimed again by another once it expires.
   * Needs a `PostgresStore`.
   * @default 30000
   */
  leaseMs?: number;
  /**
   * With a PostgreSQL store: how often an idle worker looks for due jobs, as
   * the safety net of `LISTEN/NOTIFY` (which wakes it at once on enqueue);
   * also how often `waitForJob()` and `onIdle()` look at jobs run elsewhere.
   * Needs a `PostgresStore`.
   * @default 500
   */
  pollIntervalMs?: number;
}

/** Options with every default applied. */
export interface ResolvedTaskQueueOptions {
  maxWorkers: number;
  maxJobsPerSecond: number | null;
  rateLimitBurst: number;
  maxRetries: number;
  backoff: BackoffPolicy;
  keepFinishedJobs: number;
  store: Store | null;
  clock: Clock;
  generateId: () => string;
  /**
   * The prefix of every id the default generator makes (null with a custom
   * `generateId`). Those ids are unique by construction, so the queue skips
   * their duplicate check, unless a caller gave an id with this prefix.
   */
  generatedIdPrefix: string | null;
  maxJobBytes: number;
  /** The store when it is PostgreSQL: the queue is then shared across processes. */
  shared: PostgresStore | null;
  name: string;
  globalConcurrency: number | null;
  leaseMs: number;
  pollIntervalMs: number;
}

export const DEFAULT_BACKOFF: Readonly<BackoffPolicy> = Object.freeze({
  initialDelayMs: 1000,
  factor: 2,
  maxDelayMs: 60_000,
  jitter: 0.2,
});

const count = (max: number) =>
  z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(0, { error: 'must be >= 0' })
    .max(max, { error: `must be at most ${max}` });

const optionsSchema = z.strictObject({
  maxWorkers: count(1_000_000).min(1, { error: 'must be >= 1' }).optional(),
  maxJobsPerSecond: z
    .number({ error: 'must be a number' })
    .positive({ error: 'must be > 0 (omit it for no limit)' })
    .finite({ error: 'must be finite (omit it for no limit)' })
    .optional(),
  rateLimitBurst: count(1_000_000_000).min(1, { error: 'must be >= 1' }).optional(),
  maxRetries: count(1000).optional(),
  backoff: backoffPolicySchema.partial().optional(),
  keepFinishedJobs: count(Number.MAX_SAFE_INTEGER).optional(),
  store: z
    .custom<Store>(
      (value) =>
        typeof value === 'object' &&
        value !== null &&
        typeof (value as Store).batch === 'function' &&
        typeof (value as Store).range === 'function',
      { error: 'must be a Store (MemoryStore, LevelStore)' },
    )
    .optional(),
  clock: clockSchema.optional(),
  generateId: z
    .custom<() => string>((value) => typeof value === 'function', { error: 'must be a function' })
    .optional(),
  maxJobBytes: valueLimitsSchema.shape.maxJobBytes,
  name: z
    .string({ error: 'must be a string' })
    .min(1, { error: 'must not be empty' })
    .max(200, { error: 'must be at most 200 characters' })
    .optional(),
  globalConcurrency: count(1_000_000).min(1, { error: 'must be >= 1' }).optional(),
  leaseMs: count(MAX_TIMER_MS).min(100, { error: 'must be >= 100' }).optional(),
  pollIntervalMs: count(MAX_TIMER_MS).min(1, { error: 'must be >= 1' }).optional(),
});

/** Options that only a shared (PostgreSQL) queue understands. */
const SHARED_ONLY = ['name', 'globalConcurrency', 'leaseMs', 'pollIntervalMs'] as const;

/**
 * Validates the options and applies the defaults.
 * @throws TroupeError `CONFIG_ERROR` naming every bad or unknown option.
 */
export function resolveTaskQueueOptions(options: TaskQueueOptions = {}): ResolvedTaskQueueOptions {
  parseArgument('new TaskQueue()', 'options', optionsSchema, options, 'CONFIG_ERROR');
  const shared = options.store instanceof PostgresStore ? options.store : null;
  const misplaced = SHARED_ONLY.filter((key) => options[key] !== undefined);
  if (shared === null && misplaced.length > 0) {
    throw new TroupeError(
      'CONFIG_ERROR',
      `new TaskQueue(): ${misplaced.join(', ')} apply to a queue shared through PostgreSQL only. Pass store: a PostgresStore (or createRuntime({ store: { postgres } })), or drop them.`,
      { issues: misplaced.map((key) => `options.${key}: needs a PostgresStore`) },
    );
  }
  const maxJobsPerSecond = options.maxJobsPerSecond ?? null;
  return {
    maxWorkers: options.maxWorkers ?? 5,
    maxJobsPerSecond,
    rateLimitBurst:
      options.rateLimitBurst ??
      (maxJobsPerSecond === null ? 1 : Math.max(1, Math.ceil(maxJobsPerSecond / 10))),
    maxRetries: options.maxRetries ?? 3,
    backoff: Object.freeze({ ...DEFAULT_BACKOFF, ...options.backoff }),
    keepFinishedJobs: options.keepFinishedJobs ?? 10_000,
    store: options.store ?? null,
    clock: options.clock ?? systemClock,
    ...(options.generateId
      ? { generateId: options.generateId, generatedIdPrefix: null }
      : sequentialIds()),
    maxJobBytes: options.maxJobBytes ?? DEFAULT_VALUE_LIMITS.maxJobBytes,
    shared,
    name: options.name ?? 'default',
    globalConcurrency: options.globalConcurrency ?? null,
    leaseMs: options.leaseMs ?? 30_000,
    pollIntervalMs: options.pollIntervalMs ?? 500,
  };
}

function sequentialIds(): { generateId: () => string; generatedIdPrefix: string } {
  // base64url never contains '/', which job ids must not contain.
  const generatedIdPrefix = `${randomBytes(6).toString('base64url')}-`;
  let next = 0;
  return { generateId: () => `${generatedIdPrefix}${(next++).toString(36)}`, generatedIdPrefix };
}

/** The part of the options the queue machine needs, as its (JSON) input. */
export function toQueueSettings(options: ResolvedTaskQueueOptions): QueueSettings {
  return {
    maxWorkers: options.maxWorkers,
    maxJobsPerSecond: options.maxJobsPerSecond,
    rateLimitBurst: options.rateLimitBurst,
    keepFinishedJobs: options.keepFinishedJobs,
    // A shared queue keeps its jobs in its own table, not in the local actor.
    persist: options.store !== null && options.shared === null,
  };
}
