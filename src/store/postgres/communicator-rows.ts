/**
 * The SQL of the communicator across processes: endpoints (processes and
 * the roles of their agents), messages on their way to another process,
 * shared contexts with their version, and locks with leases. Policy (routing,
 * waiting, timeouts) lives in src/runtime/communicator/; this file only reads
 * and writes rows.
 *
 * Times are milliseconds from the processes' clocks, as for run leases.
 */
import type pg from 'pg';

/** `NOTIFY` channel: a message row was written; the payload is its role or endpoint. */
export const MESSAGE_CHANNEL = 'troupe_messages';
/** `NOTIFY` channel: a lock was released; the payload is `<workflowId>/<key>`. */
export const LOCK_CHANNEL = 'troupe_locks';

type Retry = <R>(operation: string, statement: () => Promise<R>) => Promise<R>;

/** A message row claimed by the process that delivers it. */
export interface ClaimedMessage {
  id: number;
  /** The role to deliver it to; null for a response to a request of this process. */
  role: string | null;
  message: unknown;
  /** A request's endpoint, where its response goes. */
  replyTo: string | null;
  deadline: number | null;
  /** How many times a process took the row, this time included (more than 1: a redelivery). */
  deliveries: number;
}

/** A lock's row: its holder, or null owner when free. */
export interface LockRow {
  workflowId: string;
  key: string;
  owner: string;
  acquiredAt: number;
  expiresAt: number;
  fence: number;
}

interface LockColumns {
  workflow_id: string;
  key: string;
  owner: string;
  acquired_at: string;
  expires_at: string;
  fence: string;
}

const lockOf = (row: LockColumns): LockRow => ({
  workflowId: row.workflow_id,
  key: row.key,
  owner: row.owner,
  acquiredAt: Number(row.acquired_at),
  expiresAt: Number(row.expires_at),
  fence: Number(row.fence),
});

const nullableNumber = (value: string | null) => (value === null ? null : Number(value));

export class PostgresCommunicatorRows {
  constructor(
    private readonly pool: pg.Pool,
    private readonly retry: Retry,
  ) {}

  /** Records (or refreshes) an endpoint, its roles and its heartbeat. */
  async heartbeat(endpointId: string, roles: readonly string[], now: number, ttlMs: number) {
    await this.retry('record a communicator heartbeat', () =>
      this.pool.query(
        `INSERT INTO troupe_comm_endpoints (endpoint_id, roles, heartbeat_at, expires_at)
         VALUES ($1, $2, $3, $3::bigint + $4::bigint)
         ON CONFLICT (endpoint_id) DO UPDATE
           SET roles = excluded.roles, heartbeat_at = excluded.heartbeat_at,
               expires_at = excluded.expires_at`,
        [endpointId, roles, now, ttlMs],
      ),
    );
  }

  /**
   * An endpoint closed: its row and the responses still on their way to it
   * go, and the messages it took but did not deliver are free to take again.
   */
  async removeEndpoint(endpointId: string): Promise<void> {
    await this.retry('remove a communicator endpoint', () =>
      this.pool.query(
        `WITH gone AS (DELETE FROM troupe_comm_endpoints WHERE endpoint_id = $1),
         freed AS (
           UPDATE troupe_messages SET lease_owner = NULL, lease_expires_at = NULL
           WHERE lease_owner = $1 AND target_role IS NOT NULL)
         DELETE FROM troupe_messages WHERE target_endpoint = $1`,
        [endpointId],
      ),
    );
  }

  /**
   * Deletes expired endpoints, responses to endpoints that are gone and
   * requests nobody waits for any more.
   */
  async sweep(now: number): Promise<void> {
    await this.retry('sweep communicator rows', () =>
      this.pool.query(
        `WITH gone AS (DELETE FROM troupe_comm_endpoints WHERE expires_at <= $1)
         DELETE FROM troupe_messages m
         WHERE m.deadline <= $1
            OR (m.target_endpoint IS NOT NULL AND NOT EXISTS (
                  SELECT 1 FROM troupe_comm_endpoints e
                  WHERE e.endpoint_id = m.target_endpoint AND e.expires_at > $1))`,
        [now],
      ),
    );
  }

  /** Roles served by live endpoints other than `self`, sorted. */
  async remoteRoles(self: string, now: number): Promise<string[]> {
    const { rows } = await this.retry('read the roles of other processes', () =>
      this.pool.query<{ role: string }>(
        `SELECT DISTINCT r AS role FROM troupe_comm_endpoints e, unnest(e.roles) r
         WHERE e.expires_at > $2 AND e.endpoint_id <> $1 ORDER BY 1`,
        [self, now],
      ),
    );
    return rows.map((row) => row.role);
  }

  /**
   * Queues `message` for whichever live endpoint other than `self` serves
   * `role`; false (nothing written) if none does.
   */
  async sendToRole(p: {
    self: string;
    role: string;
    message: unknown;
    replyTo: string | null;
    deadline: number | null;
    now: number;
  }): Promise<boolean> {
    const { rows } = await this.retry('queue a message for another process', () =>
      this.pool.query(
        `WITH sent AS (
           INSERT INTO troupe_messages (target_role, message, reply_to, deadline, created_at)
           SELECT $2::text, $3::json, $4::text, $5::bigint, $6::bigint
           WHERE EXISTS (SELECT 1 FROM troupe_comm_endpoints
                         WHERE $2::text = ANY (roles) AND expires_at > $6::bigint AND endpoint_id <> $1)
           RETURNING id)
         SELECT id, pg_notify('${MESSAGE_CHANNEL}', $2::text) FROM sent`,
        [p.self, p.role, JSON.stringify(p.message), p.replyTo, p.deadline, p.now],
      ),
    );
    return rows.length > 0;
  }

  /** Queues a response for the endpoint whose request waits for it. */
  async sendToEndpoint(endpointId: string, message: unknown, now: number): Promise<void> {
    await this.retry('queue a response for another process', () =>
      this.pool.query(
        `WITH sent AS (
           INSERT INTO troupe_messages (target_endpoint, message, created_at)
           VALUES ($1, $2, $3) RETURNING id)
         SELECT id, pg_notify('${MESSAGE_CHANNEL}', $1::text) FROM sent`,
        [endpointId, JSON.stringify(message), now],
      ),
    );
  }

  /**
   * Queues `message` once for each role live endpoints other than `self`
   * serve, but `exclude`, in the role `groups` (null: any role; group `g`
   * holds `g` and `g:*`). Returns the roles reached, sorted.
   */
  async broadcast(p: {
    self: string;
    message: unknown;
    groups: readonly string[] | null;
    exclude: readonly string[];
    now: number;
  }): Promise<string[]> {
    const { rows } = await this.retry('queue a broadcast for other processes', () =>
      this.pool.query<{ role: string }>(
        `WITH targets AS (
           SELECT DISTINCT r AS role FROM troupe_comm_endpoints e, unnest(e.roles) r
           WHERE e.expires_at > $5::bigint AND e.endpoint_id <> $1 AND r <> ALL ($4::text[])
             AND ($3::text[] IS NULL OR EXISTS (
                   SELECT 1 FROM unnest($3::text[]) g
                   WHERE r = g OR left(r, length(g) + 1) = g || ':'))),
         sent AS (
           INSERT INTO troupe_messages (target_role, message, created_at)
           SELECT role, $2::json, $5::bigint FROM targets ORDER BY role RETURNING target_role)
         SELECT target_role AS role, pg_notify('${MESSAGE_CHANNEL}', target_role) FROM sent
         ORDER BY 1`,
        [p.self, JSON.stringify(p.message), p.groups, p.exclude, p.now],
      ),
    );
    return rows.map((row) => row.role);
  }

  /**
   * Leases up to `limit` messages for this endpoint or its roles, oldest
   * first, until `now + leaseMs`: rows another process is taking, or holds
   * under a lease that runs, are skipped. Each take counts in `deliveries`.
   * The rows stay until {@link ack}.
   */
  async claim(p: {
    endpointId: string;
    roles: readonly string[];
    limit: number;
    now: number;
    leaseMs: number;
  }): Promise<ClaimedMessage[]> {
    const { rows } = await this.retry('take messages for this process', () =>
      this.pool.query<{
        id: string;
        target_role: string | null;
        message: unknown;
        reply_to: string | null;
        deadline: string | null;
        deliveries: number;
      }>(
        `UPDATE troupe_messages m
         SET lease_owner = $1, lease_expires_at = $4::bigint + $5::bigint,
             deliveries = m.deliveries + 1
         WHERE m.id IN (
           SELECT id FROM troupe_messages
           WHERE (target_endpoint = $1 OR target_role = ANY ($2::text[]))
             AND (lease_expires_at IS NULL OR lease_expires_at <= $4::bigint)
           ORDER BY id LIMIT $3 FOR UPDATE SKIP LOCKED)
         RETURNING m.id, m.target_role, m.message, m.reply_to, m.deadline, m.deliveries`,
        [p.endpointId, p.roles, p.limit, p.now, p.leaseMs],
      ),
    );
    return rows
      .map(
        (row): ClaimedMessage => ({
          id: Number(row.id),
          role: row.target_role,
          message: row.message,
          replyTo: row.reply_to,
          deadline: nullableNumber(row.deadline),
          deliveries: row.deliveries,
        }),
      )
      .sort((a, b) => a.id - b.id);
  }

  /**
   * Deletes delivered rows this endpoint still leases. A row whose lease ran
   * out and another process took stays: that process delivers it again.
   */
  async ack(endpointId: string, ids: readonly number[]): Promise<void> {
    if (ids.length === 0) return;
    await this.retry('acknowledge delivered messages', () =>
      this.pool.query(
        'DELETE FROM troupe_messages WHERE id = ANY ($1::bigint[]) AND lease_owner = $2',
        [ids, endpointId],
      ),
    );
  }

  /** A workflow's shared-context row: its version and stored record. */
  async readContext(workflowId: string): Promise<{ version: number; record: unknown } | undefined> {
    const { rows } = await this.retry('read a shared context', () =>
      this.pool.query<{ version: number; record: unknown }>(
        'SELECT version, record FROM troupe_shared_contexts WHERE workflow_id = $1',
        [workflowId],
      ),
    );
    return rows[0];
  }

  /**
   * Writes a shared context at `version` if its row is still at `previous`
   * (0: no row yet). False: another process wrote first.
   */
  async writeContext(
    workflowId: string,
    previous: number,
    version: number,
    record: unknown,
  ): Promise<boolean> {
    const json = JSON.stringify(record);
    const { rowCount } = await this.retry('write a shared context', () =>
      previous === 0
        ? this.pool.query(
            `INSERT INTO troupe_shared_contexts (workflow_id, version, record) VALUES ($1, $2, $3)
             ON CONFLICT (workflow_id) DO NOTHING`,
            [workflowId, version, json],
          )
        : this.pool.query(
            `UPDATE troupe_shared_contexts SET version = $3, record = $4
             WHERE workflow_id = $1 AND version = $2`,
            [workflowId, previous, version, json],
          ),
    );
    return rowCount === 1;
  }

  /**
   * Takes the lock for `owner` if it is free or its lease ran out at `now`;
   * the new holder's row, or undefined (held: see {@link holder}).
   */
  async acquire(p: {
    workflowId: string;
    key: string;
    owner: string;
    now: number;
    ttlMs: number;
  }): Promise<LockRow | undefined> {
    const { rows } = await this.retry('take a lock', () =>
      this.pool.query<LockColumns>(
        `INSERT INTO troupe_locks AS l (workflow_id, key, owner, acquired_at, expires_at, fence)
         VALUES ($1, $2, $3, $4::bigint, $4::bigint + $5::bigint, 1)
         ON CONFLICT (workflow_id, key) DO UPDATE
           SET owner = excluded.owner, acquired_at = excluded.acquired_at,
               expires_at = excluded.expires_at, fence = l.fence + 1
           WHERE l.owner IS NULL OR l.expires_at <= $4::bigint
         RETURNING l.*`,
        [p.workflowId, p.key, p.owner, p.now, p.ttlMs],
      ),
    );
    return rows[0] ? lockOf(rows[0]) : undefined;
  }

  /** The lock's holder at `now`, if its lease runs. */
  async holder(workflowId: string, key: string, now: number): Promise<LockRow | undefined> {
    const { rows } = await this.retry('read a lock', () =>
      this.pool.query<LockColumns>(
        `SELECT * FROM troupe_locks
         WHERE workflow_id = $1 AND key = $2 AND owner IS NOT NULL AND expires_at > $3`,
        [workflowId, key, now],
      ),
    );
    return rows[0] ? lockOf(rows[0]) : undefined;
  }

  /** Frees the lock if `owner` holds it at `now` (and tells waiters); false if not. */
  async release(workflowId: string, key: string, owner: string, now: number): Promise<boolean> {
    const { rows } = await this.retry('release a lock', () =>
      this.pool.query(
        `WITH freed AS (
           UPDATE troupe_locks SET owner = NULL, expires_at = 0
           WHERE workflow_id = $1 AND key = $2 AND owner = $3 AND expires_at > $4
           RETURNING fence)
         SELECT fence, pg_notify('${LOCK_CHANNEL}', $1::text || '/' || $2::text) FROM freed`,
        [workflowId, key, owner, now],
      ),
    );
    return rows.length > 0;
  }

  /** A workflow's held locks at `now`, by key. */
  async locks(workflowId: string, now: number): Promise<LockRow[]> {
    const { rows } = await this.retry('read locks', () =>
      this.pool.query<LockColumns>(
        `SELECT * FROM troupe_locks
         WHERE workflow_id = $1 AND owner IS NOT NULL AND expires_at > $2 ORDER BY key`,
        [workflowId, now],
      ),
    );
    return rows.map(lockOf);
  }
}
