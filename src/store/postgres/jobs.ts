/**
 * The SQL of the shared task queue (`troupe_jobs`, `troupe_queues`, see
 * migrations.ts). Policy (what to claim when, retries, waiters) lives in
 * src/runtime/queue/shared-queue.ts; this file only reads and writes rows,
 * many per statement: a batch of enqueues, claims or settlements is one
 * round trip and one transaction.
 *
 * Times are milliseconds from the processes' clocks, like the run leases.
 */
import type pg from 'pg';
import type { JobAttempt, JobProgress, JobStatus } from '../../machines/queue/job.js';
import type { AttemptSettlement, JobSpec, StoredJobRow } from '../../machines/queue/shared-job.js';

/** The channel of `LISTEN`/`NOTIFY` wake-ups for new jobs; the payload is the queue's name. */
export const JOB_CHANNEL = 'troupe_jobs';

type Retry = <R>(operation: string, statement: () => Promise<R>) => Promise<R>;

/** A new job as inserted. */
export interface NewJobRow {
  id: string;
  status: 'queued' | 'scheduled';
  priority: number;
  runAt: number;
  spec: JobSpec;
}

/** A job this process claimed. */
export interface ClaimedJobRow {
  id: string;
  spec: JobSpec;
  attempts: JobAttempt[];
  /** The number of the attempt this claim starts. */
  attempt: number;
  failures: number;
}

/** How to claim: the global limits travel with every claim. */
export interface ClaimRequest {
  queue: string;
  owner: string;
  want: number;
  now: number;
  leaseMs: number;
  /** Jobs running at once across all processes; null for no limit. */
  maxRunning: number | null;
  /** Jobs started per second across all processes; null for no limit. */
  ratePerSecond: number | null;
  burst: number;
}

interface RawRow {
  id: string;
  status: JobStatus;
  priority: number;
  run_at: string;
  spec: JobSpec;
  attempts: JobAttempt[];
  attempt: number;
  started_at: string | null;
  failures: number;
  progress: JobProgress | null;
  result: unknown;
  finished_at: string | null;
}

/**
 * An attempt's end as `troupe_settle_and_claim` reads it: an array read by
 * position (an undefined result becomes null). A completed attempt sends no
 * history: the row keeps its own, and its attempt, started_at and
 * finished_at describe the attempt that completed (see `rowToRecord`).
 */
function settlementRow(job: AttemptSettlement): unknown[] {
  return [
    job.id,
    job.attempt,
    job.status,
    job.failures,
    job.runAt,
    job.finishedAt,
    job.result,
    job.status === 'completed' ? null : job.attempts,
  ];
}

const num = (value: string | null): number | null => (value === null ? null : Number(value));

export class PostgresJobs {
  constructor(
    private readonly pool: pg.Pool,
    private readonly retry: Retry,
  ) {}

  /**
   * Inserts jobs and wakes idle workers (`NOTIFY`, on commit). A job whose id
   * is taken by an active job is left out; a finished job's row is replaced.
   * Returns the ids inserted.
   */
  async insert(queue: string, jobs: readonly NewJobRow[]): Promise<Set<string>> {
    const { rows } = await this.retry('enqueue jobs', () =>
      this.pool.query<{ id: string }>(
        `WITH added AS (
           INSERT INTO troupe_jobs AS j (queue, id, status, priority, run_at, spec)
           SELECT $1, r.e->>0, r.e->>1, (r.e->>2)::smallint, (r.e->>3)::bigint, r.e->4
           FROM json_array_elements($2::json) AS r(e)
           ON CONFLICT (queue, id) DO UPDATE
             SET status = excluded.status, priority = excluded.priority, run_at = excluded.run_at,
                 spec = excluded.spec, attempts = '[]', attempt = 0, started_at = NULL,
                 failures = 0, owner_id = NULL, lease_until = NULL, progress = NULL,
                 result = NULL, finished_at = NULL
             WHERE j.status IN ('completed', 'failed', 'cancelled')
           RETURNING j.id
         ), woken AS (SELECT pg_notify($3, $1) FROM added LIMIT 1)
         SELECT id FROM added, (SELECT count(*) FROM woken) AS w`,
        [
          queue,
          // One JSON parameter (arrays of JSON texts cost an escape per element
          // to send), of arrays read by position (cheaper to read than objects).
          JSON.stringify(
            jobs.map((job) => [job.id, job.status, job.priority, job.runAt, job.spec]),
          ),
          JOB_CHANNEL,
        ],
      ),
    );
    return new Set(rows.map((row) => row.id));
  }

  /**
   * One round trip of a worker (`troupe_settle_and_claim`): writes the ends
   * of the attempts `request.owner` still holds (fencing: a job claimed
   * again after this owner's lease expired is left alone), then claims up to
   * `request.want` due jobs (and jobs of dead workers) within the global
   * limits. `want` 0 only settles. Returns the ids whose end was written and
   * the jobs claimed.
   */
  async settleAndClaim(
    request: ClaimRequest,
    settlements: readonly AttemptSettlement[],
  ): Promise<{ settled: Set<string>; claimed: ClaimedJobRow[] }> {
    const { rows } = await this.retry(request.want > 0 ? 'claim jobs' : 'settle jobs', () =>
      this.pool.query<ClaimedJobRow & { stale: boolean }>({
        // Named: parsed and planned once per connection.
        name: 'troupe_settle_and_claim',
        text: 'SELECT * FROM troupe_settle_and_claim($1, $2, $3, $4, $5, $6, $7, $8, $9)',
        values: [
          request.queue,
          request.owner,
          JSON.stringify(settlements.map(settlementRow)),
          request.want,
          request.now,
          request.leaseMs,
          request.maxRunning,
          request.ratePerSecond,
          request.burst,
        ],
      }),
    );
    const settled = new Set(settlements.map((settlement) => settlement.id));
    const claimed: ClaimedJobRow[] = [];
    for (const row of rows) {
      if (row.stale) settled.delete(row.id);
      else {
        claimed.push({
          id: row.id,
          spec: row.spec,
          attempts: row.attempts,
          attempt: row.attempt,
          failures: row.failures,
        });
      }
    }
    return { settled, claimed };
  }

  /** Extends the leases `owner` holds on `ids`; returns the ids still held (not cancelled, not taken over). */
  async renew(
    queue: string,
    owner: string,
    ids: readonly string[],
    now: number,
    leaseMs: number,
  ): Promise<Set<string>> {
    const { rows } = await this.retry('renew job leases', () =>
      this.pool.query<{ id: string }>(
        `UPDATE troupe_jobs SET lease_until = $4::bigint + $5::bigint
         WHERE queue = $1 AND owner_id = $2 AND id = ANY ($3) AND status = 'running'
         RETURNING id`,
        [queue, owner, ids, now, leaseMs],
      ),
    );
    return new Set(rows.map((row) => row.id));
  }

  /** Stores the latest progress of running jobs `owner` holds. */
  async progress(
    queue: string,
    owner: string,
    updates: ReadonlyMap<string, JobProgress>,
  ): Promise<void> {
    await this.retry('store job progress', () =>
      this.pool.query(
        `UPDATE troupe_jobs j SET progress = p.progress
         FROM unnest($3::text[], $4::json[]) AS p(id, progress)
         WHERE j.queue = $1 AND j.id = p.id AND j.owner_id = $2 AND j.status = 'running'`,
        [queue, owner, [...updates.keys()], [...updates.values()].map((p) => JSON.stringify(p))],
      ),
    );
  }

  /**
   * Cancels a job that has not finished. Returns the status it had
   * (`undefined` for an unknown id); a running job's worker learns it when
   * its lease renewal no longer finds the job running.
   */
  async cancel(queue: string, id: string, now: number): Promise<JobStatus | undefined> {
    const { rows } = await this.retry('cancel a job', () =>
      this.pool.query<{ status: JobStatus; cancelled: boolean }>(
        `WITH old AS (SELECT status FROM troupe_jobs WHERE queue = $1 AND id = $2 FOR UPDATE),
         cancelled AS (
           UPDATE troupe_jobs SET status = 'cancelled', finished_at = $3, owner_id = NULL,
             lease_until = NULL
           WHERE queue = $1 AND id = $2 AND status NOT IN ('completed', 'failed', 'cancelled')
           RETURNING id
         )
         SELECT old.status, EXISTS (SELECT 1 FROM cancelled) AS cancelled FROM old`,
        [queue, id, now],
      ),
    );
    return rows[0]?.status;
  }

  /** The stored rows of `ids` (all columns a job's info needs). */
  async get(queue: string, ids: readonly string[]): Promise<StoredJobRow[]> {
    const { rows } = await this.retry('read jobs', () =>
      this.pool.query<RawRow>(
        `SELECT id, status, priority, run_at, spec, attempts, attempt, started_at, failures,
                progress, result, finished_at
         FROM troupe_jobs WHERE queue = $1 AND id = ANY ($2)`,
        [queue, ids],
      ),
    );
    return rows.map((row) => ({
      id: row.id,
      status: row.status,
      priority: row.priority,
      runAt: Number(row.run_at),
      spec: row.spec,
      attempts: row.attempts,
      attempt: row.attempt,
      startedAt: num(row.started_at),
      failures: row.failures,
      progress: row.progress,
      result: row.result ?? undefined,
      finishedAt: num(row.finished_at),
    }));
  }

  /** Jobs of the queue per status. */
  async counts(queue: string): Promise<Partial<Record<JobStatus, number>>> {
    const { rows } = await this.retry('count jobs', () =>
      this.pool.query<{ status: JobStatus; n: string }>(
        'SELECT status, count(*) AS n FROM troupe_jobs WHERE queue = $1 GROUP BY status',
        [queue],
      ),
    );
    return Object.fromEntries(rows.map((row) => [row.status, Number(row.n)]));
  }

  /** Whether any job is queued, running, retrying, or scheduled and due. */
  async busy(queue: string, now: number): Promise<boolean> {
    const { rows } = await this.retry('check for pending jobs', () =>
      this.pool.query<{ busy: boolean }>(
        // Three probes, each on a partial index: one OR over the statuses
        // was planned as a scan of every row of the queue, finished ones too.
        `SELECT EXISTS (SELECT 1 FROM troupe_jobs WHERE queue = $1 AND status = 'running')
             OR EXISTS (SELECT 1 FROM troupe_jobs WHERE queue = $1
                          AND status IN ('queued', 'retrying'))
             OR EXISTS (SELECT 1 FROM troupe_jobs WHERE queue = $1 AND status = 'scheduled'
                          AND run_at <= $2) AS busy`,
        [queue, now],
      ),
    );
    return rows[0]?.busy === true;
  }
}
