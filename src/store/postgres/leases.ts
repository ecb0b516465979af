/**
 * The SQL of run ownership: leases (`troupe_leases`) and commands for runs
 * owned elsewhere (`troupe_commands`). Policy (when to renew, sweep, stop a
 * run) lives in src/runtime/ownership/; this file only reads and writes rows.
 *
 * Times are milliseconds from the owners' clocks (the runtime's `clock`), so
 * processes sharing a database need clocks in step to well under a lease.
 */
import type pg from 'pg';
import type { JsonValue } from '../../schemas/json-value.js';

/** A lease this process holds. */
export interface HeldLease {
  workflowId: string;
  epoch: number;
}

/** A lease taken over from an expired owner. */
export interface ClaimedLease extends HeldLease {
  /** Takeovers since the run last recovered successfully, this one included. */
  attempts: number;
}

/** A run parked after failing recovery too often. */
export interface ParkedRun {
  workflowId: string;
  reason: string;
  attempts: number;
}

/** A command queued for a run's owner. */
export interface RunCommand {
  id: number;
  workflowId: string;
  command:
    | { type: 'pause' }
    | { type: 'resume' }
    | { type: 'cancel'; reason: string; compensate: boolean }
    /** A wait's answer, already checked against the wait's schema by the sender. */
    | { type: 'signal'; name: string; payload: JsonValue };
}

/** The channel of `LISTEN`/`NOTIFY` wake-ups for commands; the payload is the run id. */
export const COMMAND_CHANNEL = 'troupe_commands';

type Retry = <R>(operation: string, statement: () => Promise<R>) => Promise<R>;

interface LeaseRow {
  workflow_id: string;
  epoch: string;
  recovery_attempts?: number;
}

const held = (row: LeaseRow): HeldLease => ({
  workflowId: row.workflow_id,
  epoch: Number(row.epoch),
});

export class PostgresLeases {
  constructor(
    private readonly pool: pg.Pool,
    private readonly retry: Retry,
  ) {}

  /** The first lease of a new run (epoch 1); `undefined` if the run has one already. */
  async create(
    workflowId: string,
    owner: string,
    now: number,
    leaseMs: number,
  ): Promise<HeldLease | undefined> {
    const { rows } = await this.retry('create a lease', () =>
      this.pool.query<LeaseRow>(
        `INSERT INTO troupe_leases (workflow_id, owner_id, epoch, expires_at)
         VALUES ($1, $2, 1, $3::bigint + $4::bigint)
         ON CONFLICT (workflow_id) DO NOTHING
         RETURNING workflow_id, epoch`,
        [workflowId, owner, now, leaseMs],
      ),
    );
    return rows[0] ? held(rows[0]) : undefined;
  }

  /**
   * Takes the lease of a run: a new lease (epoch 1) if there is none, else
   * the next epoch if it is this owner's or has expired. `undefined` if a
   * live owner (or a parked state) holds it.
   */
  async acquire(
    workflowId: string,
    owner: string,
    now: number,
    leaseMs: number,
  ): Promise<HeldLease | undefined> {
    const { rows } = await this.retry('acquire a lease', () =>
      this.pool.query<LeaseRow>(
        `INSERT INTO troupe_leases (workflow_id, owner_id, epoch, expires_at)
         VALUES ($1, $2, 1, $3::bigint + $4::bigint)
         ON CONFLICT (workflow_id) DO UPDATE
           SET owner_id = excluded.owner_id, epoch = troupe_leases.epoch + 1,
               expires_at = excluded.expires_at
           WHERE troupe_leases.state = 'active'
             AND (troupe_leases.owner_id = excluded.owner_id OR troupe_leases.expires_at < $3::bigint)
         RETURNING workflow_id, epoch`,
        [workflowId, owner, now, leaseMs],
      ),
    );
    return rows[0] ? held(rows[0]) : undefined;
  }

  /** Extends the leases of `runs` that `owner` still holds; returns those. */
  async renew(
    owner: string,
    runs: readonly string[],
    now: number,
    leaseMs: number,
  ): Promise<HeldLease[]> {
    const { rows } = await this.retry('renew leases', () =>
      this.pool.query<LeaseRow>(
        `UPDATE troupe_leases SET expires_at = $3::bigint + $4::bigint
         WHERE owner_id = $1 AND workflow_id = ANY ($2) AND state = 'active'
         RETURNING workflow_id, epoch`,
        [owner, runs, now, leaseMs],
      ),
    );
    return rows.map(held);
  }

  /** Ends leases of `owner` now (all of them without `runs`), so another process can take the runs over at once. */
  async expire(owner: string, runs?: readonly string[]): Promise<void> {
    await this.retry('expire leases', () =>
      this.pool.query(
        `UPDATE troupe_leases SET expires_at = 0
         WHERE owner_id = $1 AND ($2::text[] IS NULL OR workflow_id = ANY ($2))`,
        [owner, runs ?? null],
      ),
    );
  }

  /**
   * Takes over up to `limit` runs whose lease expired. `SKIP LOCKED`: two
   * sweepers never claim the same run, and neither waits for the other.
   */
  async sweep(owner: string, now: number, leaseMs: number, limit: number): Promise<ClaimedLease[]> {
    const { rows } = await this.retry('sweep expired leases', () =>
      this.pool.query<LeaseRow>(
        `WITH expired AS (
           SELECT workflow_id FROM troupe_leases
           WHERE state = 'active' AND expires_at < $2::bigint
           ORDER BY expires_at
           LIMIT $4
           FOR UPDATE SKIP LOCKED
         )
         UPDATE troupe_leases l
         SET owner_id = $1, epoch = l.epoch + 1, expires_at = $2::bigint + $3::bigint,
             recovery_attempts = l.recovery_attempts + 1
         FROM expired WHERE l.workflow_id = expired.workflow_id
         RETURNING l.workflow_id, l.epoch, l.recovery_attempts`,
        [owner, now, leaseMs, limit],
      ),
    );
    return rows.map((row) => ({ ...held(row), attempts: row.recovery_attempts ?? 0 }));
  }

  /** The run recovered: its takeover count starts again. */
  async recovered(lease: HeldLease, owner: string): Promise<void> {
    await this.retry('reset recovery attempts', () =>
      this.pool.query(
        `UPDATE troupe_leases SET recovery_attempts = 0, reason = NULL
         WHERE workflow_id = $1 AND owner_id = $2 AND epoch = $3`,
        [lease.workflowId, owner, lease.epoch],
      ),
    );
  }

  /**
   * A recovery failed: records the reason, and parks the run
   * (`recovery_failed`) when `park`, else ends the lease so that another
   * process (or a later sweep) may try.
   */
  async failed(lease: HeldLease, owner: string, reason: string, park: boolean): Promise<void> {
    await this.retry('record a failed recovery', () =>
      this.pool.query(
        `UPDATE troupe_leases SET reason = $4, expires_at = 0,
           state = CASE WHEN $5 THEN 'recovery_failed' ELSE state END
         WHERE workflow_id = $1 AND owner_id = $2 AND epoch = $3`,
        [lease.workflowId, owner, lease.epoch, reason, park],
      ),
    );
  }

  /** Makes a parked run eligible for takeover again (at once). Returns whether it was parked. */
  async unpark(workflowId: string): Promise<boolean> {
    const { rowCount } = await this.retry('unpark a run', () =>
      this.pool.query(
        `UPDATE troupe_leases SET state = 'active', recovery_attempts = 0, expires_at = 0
         WHERE workflow_id = $1 AND state = 'recovery_failed'`,
        [workflowId],
      ),
    );
    return (rowCount ?? 0) > 0;
  }

  /**
   * The run ended: its lease goes (only if still this owner's at `epoch`),
   * and with it the run's remote task rows, whose results are in the run's
   * stored result now (a worker still running one loses its claim).
   */
  async release(lease: HeldLease, owner: string): Promise<void> {
    await this.retry('release a lease', () =>
      this.pool.query(
        `WITH released AS (
           DELETE FROM troupe_leases WHERE workflow_id = $1 AND owner_id = $2 AND epoch = $3
           RETURNING workflow_id
         )
         DELETE FROM troupe_remote_tasks WHERE workflow_id IN (SELECT workflow_id FROM released)`,
        [lease.workflowId, owner, lease.epoch],
      ),
    );
  }

  /** The current lease of a run, if any. */
  async get(
    workflowId: string,
  ): Promise<{ owner: string; epoch: number; expiresAt: number; state: string } | undefined> {
    const { rows } = await this.retry('read a lease', () =>
      this.pool.query<{ owner_id: string; epoch: string; expires_at: string; state: string }>(
        'SELECT owner_id, epoch, expires_at, state FROM troupe_leases WHERE workflow_id = $1',
        [workflowId],
      ),
    );
    const row = rows[0];
    return row
      ? {
          owner: row.owner_id,
          epoch: Number(row.epoch),
          expiresAt: Number(row.expires_at),
          state: row.state,
        }
      : undefined;
  }

  /** Every lease, by run id: who owns each run, until when, and whether it is parked. */
  async all(): Promise<Map<string, { owner: string; expiresAt: number; state: string }>> {
    const { rows } = await this.retry('read leases', () =>
      this.pool.query<{ workflow_id: string; owner_id: string; expires_at: string; state: string }>(
        'SELECT workflow_id, owner_id, expires_at, state FROM troupe_leases',
      ),
    );
    return new Map(
      rows.map((row) => [
        row.workflow_id,
        { owner: row.owner_id, expiresAt: Number(row.expires_at), state: row.state },
      ]),
    );
  }

  /** Runs parked as `recovery_failed`, with their reasons. */
  async parked(): Promise<ParkedRun[]> {
    const { rows } = await this.retry('list parked runs', () =>
      this.pool.query<{ workflow_id: string; reason: string | null; recovery_attempts: number }>(
        `SELECT workflow_id, reason, recovery_attempts FROM troupe_leases
         WHERE state = 'recovery_failed' ORDER BY workflow_id`,
      ),
    );
    return rows.map((row) => ({
      workflowId: row.workflow_id,
      reason: row.reason ?? '',
      attempts: row.recovery_attempts,
    }));
  }

  /** Queues a command for the run's owner and wakes it (`NOTIFY`, sent on commit). */
  async sendCommand(
    workflowId: string,
    command: RunCommand['command'],
    now: number,
  ): Promise<void> {
    await this.retry('send a run command', () =>
      this.pool.query(
        `WITH queued AS (
           INSERT INTO troupe_commands (workflow_id, command, created_at) VALUES ($1, $2, $3)
         )
         SELECT pg_notify($4, $1)`,
        [workflowId, JSON.stringify(command), now, COMMAND_CHANNEL],
      ),
    );
  }

  /** The commands queued for runs `owner` holds, oldest first; each stays queued until {@link commandDone}. */
  async pendingCommands(owner: string): Promise<RunCommand[]> {
    const { rows } = await this.retry('read run commands', () =>
      this.pool.query<{ id: string; workflow_id: string; command: RunCommand['command'] }>(
        `SELECT c.id, c.workflow_id, c.command FROM troupe_commands c
         JOIN troupe_leases l ON c.workflow_id = l.workflow_id
         WHERE l.owner_id = $1 AND l.state = 'active'
         ORDER BY c.id`,
        [owner],
      ),
    );
    return rows.map((row) => ({
      id: Number(row.id),
      workflowId: row.workflow_id,
      command: row.command,
    }));
  }

  /** Deletes a command that was carried out. */
  async commandDone(id: number): Promise<void> {
    await this.retry('delete a run command', () =>
      this.pool.query('DELETE FROM troupe_commands WHERE id = $1', [id]),
    );
  }
}
