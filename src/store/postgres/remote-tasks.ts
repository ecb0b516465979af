/**
 * The SQL of remote agents: worker processes (`troupe_workers`) and the
 * tasks runs' owners hand them (`troupe_remote_tasks`). Policy (when to
 * claim, renew, give up) lives in src/runtime/workers/; this file only reads
 * and writes rows.
 *
 * Times are milliseconds from the processes' clocks, as for run leases.
 */
import type pg from 'pg';
import type { SerializedError } from '../../errors.js';

/** `NOTIFY` channel: a task was queued; the payload is its role. */
export const REMOTE_TASK_CHANNEL = 'troupe_remote_tasks';
/** `NOTIFY` channel: a task made progress or ended; the payload is its row id. */
export const REMOTE_RESULT_CHANNEL = 'troupe_remote_results';
/**
 * `NOTIFY` channel: a task was cancelled; the payload is {@link CancelNotice}
 * as JSON. It carries the reason because the run may end, and its rows go,
 * before the worker reads the row.
 */
export const REMOTE_CANCEL_CHANNEL = 'troupe_remote_cancels';

/** The payload of a {@link REMOTE_CANCEL_CHANNEL} notification. */
export interface CancelNotice {
  /** The task's row id. */
  id: number;
  /** The cancel reason, cut to 1,000 characters (a notification holds at most 8,000 bytes). */
  reason: string;
}

/** A role as a worker serves it: what planners and the owner's agent need to know. */
export interface RemoteRole {
  role: string;
  displayName: string;
  expertise: readonly string[];
  stage: string;
  /** Most tasks of this role running at once, across every worker. */
  concurrency: number;
}

/** What the worker's agent gets: the task and the context of its attempt. */
export interface RemoteTaskPayload {
  description: string;
  input: Record<string, unknown>;
  dependencies: Record<string, unknown>;
  shared: Record<string, unknown>;
  messages: readonly unknown[];
}

/** The end of a remote attempt, as the worker wrote it. */
export type RemoteOutcome =
  | {
      ok: true;
      output: unknown;
      sharedUpdates?: Record<string, unknown>;
      addedTasks?: unknown[];
    }
  | { ok: false; error: SerializedError };

/** A task a worker claimed. */
export interface ClaimedTask {
  id: number;
  workflowId: string;
  taskId: string;
  attempt: number;
  role: string;
  payload: RemoteTaskPayload;
  /** The claim's epoch: the worker's writes carry it, and count only while it is current. */
  epoch: number;
}

/** A task as its owner sees it while waiting. */
export interface RemoteTaskState {
  id: number;
  state: 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
  progress: number | null;
  progressMessage: string | null;
  result: RemoteOutcome | null;
}

/**
 * A running task's claim after a renewal: kept (with the owner's cancel
 * reason, if it cancelled the task), lost to another claim (its lease
 * expired), or gone because its run ended and the owner deleted its rows.
 */
export interface RenewedClaim {
  id: number;
  outcome: 'kept' | 'lost' | 'run_ended';
  cancelReason: string | null;
}

/** A live worker process, for `troupe workers`. */
export interface WorkerRow {
  workerId: string;
  host: string;
  pid: number;
  roles: RemoteRole[];
  startedAt: number;
  heartbeatAt: number;
  expiresAt: number;
  running: number;
  completed: number;
}

type Retry = <R>(operation: string, statement: () => Promise<R>) => Promise<R>;

interface TaskRow {
  id: string;
  workflow_id: string;
  task_id: string;
  attempt: number;
  role: string;
  payload: RemoteTaskPayload;
  claim_epoch: number;
}

interface StateRow {
  id: string;
  state: RemoteTaskState['state'];
  progress: number | null;
  progress_message: string | null;
  result: RemoteOutcome | null;
}

const stateOf = (row: StateRow): RemoteTaskState => ({
  id: Number(row.id),
  state: row.state,
  progress: row.progress,
  progressMessage: row.progress_message,
  result: row.result,
});

export class PostgresRemoteTasks {
  constructor(
    private readonly pool: pg.Pool,
    private readonly retry: Retry,
  ) {}

  /** Records (or refreshes) a worker and its heartbeat. */
  async heartbeat(
    worker: Omit<WorkerRow, 'heartbeatAt' | 'expiresAt'>,
    now: number,
    ttlMs: number,
  ): Promise<void> {
    await this.retry('record a worker heartbeat', () =>
      this.pool.query(
        `INSERT INTO troupe_workers
           (worker_id, host, pid, roles, started_at, heartbeat_at, expires_at, running, completed)
         VALUES ($1, $2, $3, $4, $5, $6, $6::bigint + $7::bigint, $8, $9)
         ON CONFLICT (worker_id) DO UPDATE
           SET heartbeat_at = excluded.heartbeat_at, expires_at = excluded.expires_at,
               running = excluded.running, completed = excluded.completed, roles = excluded.roles`,
        [
          worker.workerId,
          worker.host,
          worker.pid,
          JSON.stringify(worker.roles),
          worker.startedAt,
          now,
          ttlMs,
          worker.running,
          worker.completed,
        ],
      ),
    );
  }

  /** A worker stopped: its row goes (its claims expire with their leases). */
  async removeWorker(workerId: string): Promise<void> {
    await this.retry('remove a worker', () =>
      this.pool.query('DELETE FROM troupe_workers WHERE worker_id = $1', [workerId]),
    );
  }

  /** Workers whose heartbeat is still valid at `now` (all of them with `includeExpired`), by id. */
  async workers(now: number, includeExpired = false): Promise<WorkerRow[]> {
    const { rows } = await this.retry('list workers', () =>
      this.pool.query<{
        worker_id: string;
        host: string;
        pid: number;
        roles: RemoteRole[];
        started_at: string;
        heartbeat_at: string;
        expires_at: string;
        running: number;
        completed: string;
      }>(`SELECT * FROM troupe_workers WHERE $1 OR expires_at >= $2::bigint ORDER BY worker_id`, [
        includeExpired,
        now,
      ]),
    );
    return rows.map((row) => ({
      workerId: row.worker_id,
      host: row.host,
      pid: row.pid,
      roles: row.roles,
      startedAt: Number(row.started_at),
      heartbeatAt: Number(row.heartbeat_at),
      expiresAt: Number(row.expires_at),
      running: row.running,
      completed: Number(row.completed),
    }));
  }

  /**
   * Queues an attempt for the workers, or returns the row of the same
   * attempt queued before (by a previous owner of the run): a result it
   * holds is the attempt's result, and is not run again. A row a previous
   * owner cancelled is queued afresh.
   */
  async dispatch(
    task: { workflowId: string; taskId: string; attempt: number; role: string },
    payload: RemoteTaskPayload,
    owner: string,
    now: number,
  ): Promise<RemoteTaskState> {
    const { rows } = await this.retry('queue a remote task', () =>
      this.pool.query<StateRow>(
        `WITH queued AS (
           INSERT INTO troupe_remote_tasks
             (workflow_id, task_id, attempt, role, owner_id, payload, created_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (workflow_id, task_id, attempt) DO UPDATE
             SET owner_id = excluded.owner_id,
                 state = CASE WHEN troupe_remote_tasks.state = 'cancelled' THEN 'queued'
                              ELSE troupe_remote_tasks.state END,
                 cancel_reason = CASE WHEN troupe_remote_tasks.state = 'cancelled' THEN NULL
                                      ELSE troupe_remote_tasks.cancel_reason END
           RETURNING id, state, progress, progress_message, result
         )
         SELECT queued.*, pg_notify($8, $4) FROM queued`,
        [
          task.workflowId,
          task.taskId,
          task.attempt,
          task.role,
          owner,
          JSON.stringify(payload),
          now,
          REMOTE_TASK_CHANNEL,
        ],
      ),
    );
    return stateOf(rows[0]!);
  }

  /** The current state of the given rows (missing ones are left out). */
  async states(ids: readonly number[]): Promise<RemoteTaskState[]> {
    const { rows } = await this.retry('read remote tasks', () =>
      this.pool.query<StateRow>(
        `SELECT id, state, progress, progress_message, result FROM troupe_remote_tasks
         WHERE id = ANY ($1::bigint[])`,
        [ids],
      ),
    );
    return rows.map(stateOf);
  }

  /**
   * Cancels an attempt: a queued one ends at once (`cancelled`); a running
   * one gets the reason, which its worker hears and aborts on.
   */
  async cancel(id: number, reason: string): Promise<void> {
    await this.retry('cancel a remote task', () =>
      this.pool.query(
        `WITH cancelled AS (
           UPDATE troupe_remote_tasks
           SET cancel_reason = $2,
               state = CASE WHEN state = 'queued' THEN 'cancelled' ELSE state END
           WHERE id = $1 AND state IN ('queued', 'running')
           RETURNING id
         )
         SELECT pg_notify($3, json_build_object('id', id, 'reason', left($2, 1000))::text)
         FROM cancelled`,
        [id, reason, REMOTE_CANCEL_CHANNEL],
      ),
    );
  }

  /** Claims tasks (see `troupe_claim_remote` in migrations.ts). */
  async claim(
    worker: string,
    wants: readonly { role: string; limit: number; count: number }[],
    now: number,
    leaseMs: number,
  ): Promise<ClaimedTask[]> {
    const { rows } = await this.retry('claim remote tasks', () =>
      this.pool.query<TaskRow>(
        `SELECT id, workflow_id, task_id, attempt, role, payload, claim_epoch
         FROM troupe_claim_remote($1, $2, $3, $4, $5, $6)`,
        [
          worker,
          wants.map((want) => want.role),
          wants.map((want) => want.limit),
          wants.map((want) => want.count),
          now,
          leaseMs,
        ],
      ),
    );
    return rows.map((row) => ({
      id: Number(row.id),
      workflowId: row.workflow_id,
      taskId: row.task_id,
      attempt: row.attempt,
      role: row.role,
      payload: row.payload,
      epoch: row.claim_epoch,
    }));
  }

  /**
   * Extends the leases of the claims `worker` still holds, each with its
   * cancel reason; a claim not kept was lost if its task is still stored,
   * else its run ended (and deleted it).
   */
  async renew(
    worker: string,
    claims: readonly { id: number; epoch: number }[],
    now: number,
    leaseMs: number,
  ): Promise<RenewedClaim[]> {
    if (claims.length === 0) return [];
    const { rows } = await this.retry('renew remote task claims', () =>
      this.pool.query<{ id: string; cancel_reason: string | null }>(
        `UPDATE troupe_remote_tasks t SET lease_expires_at = $4::bigint + $5::bigint
         FROM unnest($2::bigint[], $3::integer[]) AS c(id, epoch)
         WHERE t.id = c.id AND t.claim_epoch = c.epoch AND t.worker_id = $1
           AND t.state = 'running' AND t.lease_expires_at >= $4::bigint
         RETURNING t.id, t.cancel_reason`,
        [worker, claims.map((claim) => claim.id), claims.map((claim) => claim.epoch), now, leaseMs],
      ),
    );
    const kept = new Map(rows.map((row) => [Number(row.id), row.cancel_reason]));
    const missed = claims.filter((claim) => !kept.has(claim.id)).map((claim) => claim.id);
    // Asked in a statement of its own: the update waited for a run's end that was deleting a
    // row, and only a later snapshot sees that delete (in the same statement the row would
    // still look stored, and its claim lost).
    const stored =
      missed.length === 0
        ? new Set<number>()
        : new Set(
            (
              await this.retry('read remote tasks', () =>
                this.pool.query<{ id: string }>(
                  'SELECT id FROM troupe_remote_tasks WHERE id = ANY ($1::bigint[])',
                  [missed],
                ),
              )
            ).rows.map((row) => Number(row.id)),
          );
    return claims.map(({ id }) => ({
      id,
      outcome: kept.has(id) ? 'kept' : stored.has(id) ? 'lost' : 'run_ended',
      cancelReason: kept.get(id) ?? null,
    }));
  }

  /** Gives claims back (a worker stopping without finishing them): they are queued again at once. */
  async release(worker: string, claims: readonly { id: number; epoch: number }[]): Promise<void> {
    if (claims.length === 0) return;
    await this.retry('release remote task claims', () =>
      this.pool.query(
        `WITH released AS (
           UPDATE troupe_remote_tasks t SET state = 'queued', worker_id = NULL, lease_expires_at = NULL
           FROM unnest($2::bigint[], $3::integer[]) AS c(id, epoch)
           WHERE t.id = c.id AND t.claim_epoch = c.epoch AND t.worker_id = $1 AND t.state = 'running'
           RETURNING t.role
         )
         SELECT pg_notify($4, role) FROM released`,
        [
          worker,
          claims.map((claim) => claim.id),
          claims.map((claim) => claim.epoch),
          REMOTE_TASK_CHANNEL,
        ],
      ),
    );
  }

  /** Records progress of a claim that is still current; returns whether it was. */
  async progress(
    claim: { id: number; epoch: number },
    fraction: number,
    message: string | undefined,
  ): Promise<boolean> {
    const { rows } = await this.retry('record remote task progress', () =>
      this.pool.query(
        `WITH updated AS (
           UPDATE troupe_remote_tasks SET progress = $3, progress_message = $4
           WHERE id = $1 AND claim_epoch = $2 AND state = 'running'
           RETURNING id
         )
         SELECT pg_notify($5, id::text) FROM updated`,
        [claim.id, claim.epoch, fraction, message ?? null, REMOTE_RESULT_CHANNEL],
      ),
    );
    return rows.length > 0;
  }

  /**
   * Writes the outcome of a claim and wakes the owner. Fenced: accepted only
   * while the claim is the task's current one and its lease has not expired
   * at `now`; returns whether it was.
   */
  async complete(
    claim: { id: number; epoch: number },
    worker: string,
    outcome: RemoteOutcome,
    now: number,
  ): Promise<boolean> {
    const { rows } = await this.retry('write a remote task result', () =>
      this.pool.query(
        `WITH done AS (
           UPDATE troupe_remote_tasks
           SET state = $4, result = $5, finished_at = $6::bigint, lease_expires_at = NULL
           WHERE id = $1 AND claim_epoch = $2 AND worker_id = $3 AND state = 'running'
             AND lease_expires_at >= $6::bigint
           RETURNING id
         )
         SELECT pg_notify($7, id::text) FROM done`,
        [
          claim.id,
          claim.epoch,
          worker,
          outcome.ok ? 'completed' : 'failed',
          JSON.stringify(outcome),
          now,
          REMOTE_RESULT_CHANNEL,
        ],
      ),
    );
    return rows.length > 0;
  }
}
