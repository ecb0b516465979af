/**
 * The PostgreSQL schema, as versioned migrations in one place. troupe creates
 * and migrates it itself when a store opens: under a session advisory lock,
 * so processes starting at the same time wait for one another instead of
 * racing to create the same tables; each migration runs in its own
 * transaction and is recorded in `troupe_migrations`.
 *
 * Append new migrations; never edit one that has shipped.
 */
import type pg from 'pg';
import { TroupeError } from '../../errors.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'records, leases, commands',
    sql: `
      -- Every Store collection in one table. Keys are the UTF-8 bytes of the
      -- key (bytea compares bytewise, which is LevelDB's order, and unlike
      -- text it holds U+0000); values are the versioned JSON envelope.
      CREATE TABLE troupe_records (
        collection text NOT NULL,
        key bytea NOT NULL,
        value text NOT NULL,
        PRIMARY KEY (collection, key)
      );
      -- One row per run that has an owner: fencing compares epochs, expiry
      -- (milliseconds, the owners' clocks) decides takeover.
      CREATE TABLE troupe_leases (
        workflow_id text PRIMARY KEY,
        owner_id text NOT NULL,
        epoch bigint NOT NULL,
        expires_at bigint NOT NULL,
        state text NOT NULL DEFAULT 'active' CHECK (state IN ('active', 'recovery_failed')),
        recovery_attempts integer NOT NULL DEFAULT 0,
        reason text
      );
      CREATE INDEX troupe_leases_expiry ON troupe_leases (expires_at) WHERE state = 'active';
      -- pause, resume and cancel for a run owned by another process.
      CREATE TABLE troupe_commands (
        id bigserial PRIMARY KEY,
        workflow_id text NOT NULL,
        command jsonb NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE INDEX troupe_commands_run ON troupe_commands (workflow_id);
      -- A batch in one statement (one round trip, one transaction): the ops
      -- of runs whose lease this owner no longer holds at the fenced epoch
      -- are dropped, the rest applied, and the lost runs returned. FOR SHARE
      -- on the lease rows orders the batch against a takeover's UPDATE.
      CREATE FUNCTION troupe_apply(
        p_owner text, p_runs text[], p_epochs bigint[],
        p_put_collections text[], p_put_keys bytea[], p_put_values text[], p_put_runs text[],
        p_del_collections text[], p_del_keys bytea[], p_del_runs text[]
      ) RETURNS text[] LANGUAGE plpgsql AS $$
      DECLARE
        lost text[] := '{}';
      BEGIN
        IF cardinality(p_runs) > 0 THEN
          PERFORM 1 FROM troupe_leases WHERE workflow_id = ANY (p_runs) FOR SHARE;
          SELECT coalesce(array_agg(f.id), '{}') INTO lost
          FROM unnest(p_runs, p_epochs) AS f(id, epoch)
          WHERE NOT EXISTS (
            SELECT 1 FROM troupe_leases l
            WHERE l.workflow_id = f.id AND l.owner_id = p_owner AND l.epoch = f.epoch
              AND l.state = 'active'
          );
        END IF;
        DELETE FROM troupe_records r
        USING unnest(p_del_collections, p_del_keys, p_del_runs) AS d(c, k, run)
        WHERE r.collection = d.c AND r.key = d.k AND (d.run IS NULL OR NOT d.run = ANY (lost));
        INSERT INTO troupe_records (collection, key, value)
        SELECT c, k, v FROM unnest(p_put_collections, p_put_keys, p_put_values, p_put_runs)
          AS p(c, k, v, run)
        WHERE run IS NULL OR NOT run = ANY (lost)
        ON CONFLICT (collection, key) DO UPDATE SET value = excluded.value;
        RETURN lost;
      END $$;
    `,
  },
  {
    version: 2,
    name: 'remote_tasks: workers and remote tasks',
    sql: `
      -- Worker processes (createWorker, troupe worker): the roles they serve
      -- (as JSON profiles) and a heartbeat; live while expires_at is ahead.
      CREATE TABLE troupe_workers (
        worker_id text PRIMARY KEY,
        host text NOT NULL,
        pid integer NOT NULL,
        roles jsonb NOT NULL,
        started_at bigint NOT NULL,
        heartbeat_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        running integer NOT NULL DEFAULT 0,
        completed bigint NOT NULL DEFAULT 0
      );
      -- One row per attempt of a task a run's owner sent to the workers. A
      -- claim is a lease (worker, claim_epoch, lease_expires_at); a result is
      -- accepted only from the current, unexpired claim.
      CREATE TABLE troupe_remote_tasks (
        id bigserial PRIMARY KEY,
        workflow_id text NOT NULL,
        task_id text NOT NULL,
        attempt integer NOT NULL,
        role text NOT NULL,
        owner_id text NOT NULL,
        -- json, not jsonb: values come back with their keys in their order.
        payload json NOT NULL,
        state text NOT NULL DEFAULT 'queued'
          CHECK (state IN ('queued', 'running', 'completed', 'failed', 'cancelled')),
        worker_id text,
        claim_epoch integer NOT NULL DEFAULT 0,
        lease_expires_at bigint,
        cancel_reason text,
        progress double precision,
        progress_message text,
        result json,
        created_at bigint NOT NULL,
        finished_at bigint,
        UNIQUE (workflow_id, task_id, attempt)
      );
      CREATE INDEX troupe_remote_tasks_open ON troupe_remote_tasks (role, id)
        WHERE state IN ('queued', 'running');
      -- Claims up to p_wants[i] tasks of role p_roles[i], keeping the running
      -- (unexpired) claims of each role, across every worker, within
      -- p_limits[i]: a transaction-scoped advisory lock per role orders
      -- concurrent claimers, so the count each sees includes the others'.
      -- Queued tasks and running ones whose claim expired are eligible.
      CREATE FUNCTION troupe_claim_remote(
        p_worker text, p_roles text[], p_limits integer[], p_wants integer[],
        p_now bigint, p_lease bigint
      ) RETURNS SETOF troupe_remote_tasks LANGUAGE plpgsql AS $$
      DECLARE
        i integer;
        busy integer;
        free integer;
      BEGIN
        FOR i IN 1 .. coalesce(cardinality(p_roles), 0) LOOP
          CONTINUE WHEN p_wants[i] <= 0;
          PERFORM pg_advisory_xact_lock(hashtext('troupe_remote_tasks'), hashtext(p_roles[i]));
          SELECT count(*) INTO busy FROM troupe_remote_tasks
          WHERE role = p_roles[i] AND state = 'running' AND lease_expires_at >= p_now;
          free := least(p_wants[i], p_limits[i] - busy);
          CONTINUE WHEN free <= 0;
          RETURN QUERY
          WITH picked AS (
            SELECT id FROM troupe_remote_tasks
            WHERE role = p_roles[i] AND cancel_reason IS NULL
              AND (state = 'queued' OR (state = 'running' AND lease_expires_at < p_now))
            ORDER BY id
            LIMIT free
            FOR UPDATE SKIP LOCKED
          )
          UPDATE troupe_remote_tasks t
          SET state = 'running', worker_id = p_worker, claim_epoch = t.claim_epoch + 1,
              lease_expires_at = p_now + p_lease
          FROM picked WHERE t.id = picked.id
          RETURNING t.*;
        END LOOP;
      END $$;
    `,
  },
  {
    version: 3,
    name: 'queue_jobs',
    sql: `
      -- The shared task queue (TaskQueue on a PostgresStore). One row per job;
      -- 'failed' rows are the dead letters. Times are ms of the processes' clocks.
      CREATE TABLE troupe_jobs (
        queue text NOT NULL,
        id text NOT NULL,
        seq bigint GENERATED ALWAYS AS IDENTITY,
        status text NOT NULL CHECK (status IN
          ('scheduled', 'queued', 'running', 'retrying', 'completed', 'failed', 'cancelled')),
        priority smallint NOT NULL,
        -- When the job may (next) start: its enqueue, schedule or retry time.
        run_at bigint NOT NULL,
        -- What the job is: name, handler, args, maxRetries, timeoutMs, backoff, createdAt.
        spec jsonb NOT NULL,
        -- Settled attempts; the running one is (attempt, started_at).
        attempts jsonb NOT NULL DEFAULT '[]',
        attempt integer NOT NULL DEFAULT 0,
        started_at bigint,
        failures integer NOT NULL DEFAULT 0,
        owner_id text,
        lease_until bigint,
        progress jsonb,
        result jsonb,
        finished_at bigint,
        PRIMARY KEY (queue, id)
      );
      -- Claim order: priority, then readiness time (FIFO), then enqueue order.
      CREATE INDEX troupe_jobs_ready ON troupe_jobs (queue, priority DESC, run_at, seq)
        WHERE status IN ('scheduled', 'queued', 'retrying');
      CREATE INDEX troupe_jobs_running ON troupe_jobs (queue, lease_until)
        WHERE status = 'running';
      -- The global rate limit's token bucket, one row per queue.
      CREATE TABLE troupe_queues (
        queue text PRIMARY KEY,
        tokens double precision NOT NULL,
        refilled_at bigint NOT NULL
      );
      -- Claims up to p_want jobs for p_owner: first running jobs whose lease
      -- expired (their worker died), then due jobs by priority and FIFO. With
      -- a global limit (p_max_running, p_rate) the queue's row is locked, so
      -- claimers of that queue take turns and the limits hold exactly.
      CREATE FUNCTION troupe_claim_jobs(
        p_queue text, p_owner text, p_want integer, p_now bigint, p_lease_ms bigint,
        p_max_running integer, p_rate double precision, p_burst double precision
      ) RETURNS TABLE (id text, spec jsonb, attempts jsonb, attempt integer, failures integer)
      -- Planned on every call: a plan cached while the table was empty (a
      -- worker polling before the first enqueue) scans and sorts every row.
      LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
      DECLARE
        n integer := p_want;
        got integer := 0;
        more integer;
        bucket troupe_queues;
      BEGIN
        IF p_max_running IS NOT NULL OR p_rate IS NOT NULL THEN
          INSERT INTO troupe_queues AS q VALUES (p_queue, coalesce(p_burst, 0), p_now)
            ON CONFLICT (queue) DO NOTHING;
          SELECT * INTO bucket FROM troupe_queues q WHERE q.queue = p_queue FOR UPDATE;
          IF p_max_running IS NOT NULL THEN
            n := least(n, p_max_running - (SELECT count(*) FROM troupe_jobs j
              WHERE j.queue = p_queue AND j.status = 'running' AND j.lease_until >= p_now)::integer);
          END IF;
          IF p_rate IS NOT NULL THEN
            bucket.tokens := least(p_burst,
              bucket.tokens + greatest(0, p_now - bucket.refilled_at) * p_rate / 1000.0);
            n := least(n, floor(bucket.tokens + 1e-9)::integer);
          END IF;
        END IF;
        IF n > 0 THEN
          -- MATERIALIZED: picked once; a subquery could be rescanned per row
          -- of the join and pick past its LIMIT. The picked ids are looked up
          -- through the primary key: a join was planned as a scan of the
          -- whole table (finished rows included) per claim.
          RETURN QUERY WITH picked AS MATERIALIZED (
              SELECT c.id FROM troupe_jobs c
              WHERE c.queue = p_queue AND c.status = 'running' AND c.lease_until < p_now
              ORDER BY c.lease_until LIMIT n FOR UPDATE SKIP LOCKED)
            UPDATE troupe_jobs j
            SET status = 'running', owner_id = p_owner, lease_until = p_now + p_lease_ms,
                attempt = j.attempt + 1, started_at = p_now
            WHERE j.queue = p_queue AND j.id = ANY (ARRAY (SELECT picked.id FROM picked))
            RETURNING j.id, j.spec, j.attempts, j.attempt, j.failures;
          GET DIAGNOSTICS got = ROW_COUNT;
        END IF;
        IF n - got > 0 THEN
          RETURN QUERY WITH picked AS MATERIALIZED (
              SELECT c.id FROM troupe_jobs c
              WHERE c.queue = p_queue AND c.status IN ('scheduled', 'queued', 'retrying')
                AND c.run_at <= p_now
              ORDER BY c.priority DESC, c.run_at, c.seq LIMIT n - got
              FOR UPDATE SKIP LOCKED)
            UPDATE troupe_jobs j
            SET status = 'running', owner_id = p_owner, lease_until = p_now + p_lease_ms,
                attempt = j.attempt + 1, started_at = p_now
            WHERE j.queue = p_queue AND j.id = ANY (ARRAY (SELECT picked.id FROM picked))
            RETURNING j.id, j.spec, j.attempts, j.attempt, j.failures;
          GET DIAGNOSTICS more = ROW_COUNT;
          got := got + more;
        END IF;
        IF p_rate IS NOT NULL THEN
          UPDATE troupe_queues q SET tokens = greatest(0, bucket.tokens - got),
            refilled_at = greatest(bucket.refilled_at, p_now)
          WHERE q.queue = p_queue;
        END IF;
      END $$;

      -- One round trip per batch for a shared-queue worker: writes the ends
      -- of the attempts it settled (fenced: only attempts p_owner still
      -- holds), then claims up to p_want jobs (troupe_claim_jobs, so the
      -- global limits see the jobs just settled as no longer running).
      -- p_settled is a JSON array of AttemptSettlement rows (one parameter:
      -- arrays of JSON texts cost an escape per element to send). Rows come
      -- back with settled = true (only id set) for each end written, then
      -- settled = false for each job claimed.
      CREATE FUNCTION troupe_settle_and_claim(
        p_queue text, p_owner text, p_settled json,
        p_want integer, p_now bigint, p_lease_ms bigint,
        p_max_running integer, p_rate double precision, p_burst double precision
      ) RETURNS TABLE (settled boolean, id text, spec jsonb, attempts jsonb, attempt integer,
                       failures integer)
      LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
      #variable_conflict use_column
      BEGIN
        IF json_array_length(p_settled) > 0 THEN
          RETURN QUERY UPDATE troupe_jobs j
            SET status = s.status, attempts = s.attempts, failures = s.failures,
                run_at = coalesce(s.run_at, j.run_at), result = s.result,
                finished_at = s.finished_at, owner_id = NULL, lease_until = NULL
            FROM json_to_recordset(p_settled) AS s(id text, attempt integer, status text,
              attempts jsonb, failures integer, run_at bigint, result jsonb, finished_at bigint)
            WHERE j.queue = p_queue AND j.id = s.id AND j.status = 'running'
              AND j.owner_id = p_owner AND j.attempt = s.attempt
            RETURNING true, j.id, NULL::jsonb, NULL::jsonb, NULL::integer, NULL::integer;
        END IF;
        IF p_want > 0 THEN
          RETURN QUERY SELECT false, c.id, c.spec, c.attempts, c.attempt, c.failures
            FROM troupe_claim_jobs(p_queue, p_owner, p_want, p_now, p_lease_ms,
                                   p_max_running, p_rate, p_burst) c;
        END IF;
      END $$;
    `,
  },
  {
    version: 4,
    name: 'communicator: endpoints, messages, shared contexts, locks',
    sql: `
      -- Processes whose communicator serves agents: the roles of their own
      -- agents (not stand-ins) and a heartbeat; live while expires_at is ahead.
      CREATE TABLE troupe_comm_endpoints (
        endpoint_id text PRIMARY KEY,
        roles text[] NOT NULL,
        heartbeat_at bigint NOT NULL,
        expires_at bigint NOT NULL
      );
      -- Messages on their way to another process. A row names a role (any
      -- process serving it takes the row) or an endpoint (a response going
      -- back to the process whose request waits for it). The taker deletes
      -- the row as it claims it, so each row is delivered once. json, not
      -- jsonb: a message's keys keep their order.
      CREATE TABLE troupe_messages (
        id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        target_role text,
        target_endpoint text,
        message json NOT NULL,
        -- A request's endpoint, where its response goes.
        reply_to text,
        -- A request's deadline (ms): after it nobody waits for the answer.
        deadline bigint,
        created_at bigint NOT NULL,
        CHECK ((target_role IS NULL) <> (target_endpoint IS NULL))
      );
      CREATE INDEX troupe_messages_role ON troupe_messages (target_role, id)
        WHERE target_role IS NOT NULL;
      CREATE INDEX troupe_messages_endpoint ON troupe_messages (target_endpoint, id)
        WHERE target_endpoint IS NOT NULL;
      -- Per-workflow shared contexts: the version is the compare-and-set key.
      CREATE TABLE troupe_shared_contexts (
        workflow_id text PRIMARY KEY,
        version integer NOT NULL,
        record json NOT NULL
      );
      -- Locks with leases. A released lock keeps its row (owner NULL) so its
      -- fencing token keeps growing across holders.
      CREATE TABLE troupe_locks (
        workflow_id text NOT NULL,
        key text NOT NULL,
        owner text,
        acquired_at bigint NOT NULL,
        expires_at bigint NOT NULL,
        fence bigint NOT NULL,
        PRIMARY KEY (workflow_id, key)
      );
    `,
  },
  {
    version: 5,
    name: 'queue_jobs: json columns, thinner claims and settles',
    sql: `
      -- Thinner writes for the shared queue. jsonb cost a parse on every write
      -- and a print on every read; json keeps the text as sent (keys in their
      -- order, as the other tables do). Batches come as JSON arrays of
      -- arrays, read by position: json_to_recordset looked every field up by
      -- name. Measured on 10,000 jobs: PostgreSQL CPU per enqueued row fell
      -- from 37-49 to 24-32 us.
      ALTER TABLE troupe_jobs
        ALTER COLUMN spec TYPE json USING spec::json,
        ALTER COLUMN attempts DROP DEFAULT,
        ALTER COLUMN attempts TYPE json USING attempts::json,
        ALTER COLUMN attempts SET DEFAULT '[]',
        ALTER COLUMN progress TYPE json USING progress::json,
        ALTER COLUMN result TYPE json USING result::json;
      -- Both return the old column types; the claim now lives in the one
      -- function workers call.
      DROP FUNCTION troupe_settle_and_claim(text, text, json, integer, bigint, bigint, integer,
        double precision, double precision);
      DROP FUNCTION troupe_claim_jobs(text, text, integer, bigint, bigint, integer,
        double precision, double precision);
      -- One round trip per batch for a shared-queue worker. First the ends of
      -- the attempts it settled, fenced: only attempts p_owner still holds.
      -- p_settled is a JSON array of [id, attempt, status, failures, run_at,
      -- finished_at, result, attempts]; attempts null keeps the row's history
      -- (an attempt that completes writes none: the row's attempt,
      -- started_at and finished_at are that attempt, see rowToRecord). Then up
      -- to p_want jobs are claimed: running jobs whose lease expired (their
      -- worker died) first, then due jobs by priority and FIFO. With a global
      -- limit (p_max_running, p_rate) the queue's row is locked, so claimers
      -- of that queue take turns and the limits hold exactly. Rows come back
      -- with stale = true (only id set) per end not written (the attempt is
      -- no longer p_owner's), then stale = false per job claimed: a row per
      -- end written cost the worker a row to parse per job.
      CREATE FUNCTION troupe_settle_and_claim(
        p_queue text, p_owner text, p_settled json,
        p_want integer, p_now bigint, p_lease_ms bigint,
        p_max_running integer, p_rate double precision, p_burst double precision
      ) RETURNS TABLE (stale boolean, id text, spec json, attempts json, attempt integer,
                       failures integer)
      -- Planned on every call: a plan cached while the table was empty (a
      -- worker polling before the first enqueue) scans and sorts every row.
      LANGUAGE plpgsql SET plan_cache_mode = force_custom_plan AS $$
      #variable_conflict use_column
      DECLARE
        n integer := p_want;
        v_tokens double precision;
        v_got integer;
      BEGIN
        IF json_array_length(p_settled) > 0 THEN
          RETURN QUERY WITH written AS (UPDATE troupe_jobs j
            SET status = s.e->>2, failures = (s.e->>3)::integer,
                run_at = coalesce((s.e->>4)::bigint, j.run_at), finished_at = (s.e->>5)::bigint,
                result = CASE WHEN json_typeof(s.e->6) = 'null' THEN NULL ELSE s.e->6 END,
                attempts = CASE WHEN json_typeof(s.e->7) = 'null' THEN j.attempts ELSE s.e->7 END,
                owner_id = NULL, lease_until = NULL
            FROM json_array_elements(p_settled) AS s(e)
            WHERE j.queue = p_queue AND j.id = s.e->>0 AND j.status = 'running'
              AND j.owner_id = p_owner AND j.attempt = (s.e->>1)::integer
            RETURNING j.id)
          SELECT true, s.e->>0, NULL::json, NULL::json, NULL::integer, NULL::integer
          FROM json_array_elements(p_settled) AS s(e)
          WHERE NOT EXISTS (SELECT 1 FROM written w WHERE w.id = s.e->>0);
        END IF;
        IF n <= 0 THEN
          RETURN;
        END IF;
        IF p_max_running IS NOT NULL OR p_rate IS NOT NULL THEN
          INSERT INTO troupe_queues VALUES (p_queue, coalesce(p_burst, 0), p_now)
            ON CONFLICT (queue) DO NOTHING;
          -- The bucket refilled up to now (none without a rate: least() would
          -- skip the NULL and give the burst); n shrinks to the free slots and
          -- tokens.
          SELECT CASE WHEN p_rate IS NOT NULL THEN
              least(p_burst, q.tokens + greatest(0, p_now - q.refilled_at) * p_rate / 1000.0)
            END
            INTO v_tokens FROM troupe_queues q WHERE q.queue = p_queue FOR UPDATE;
          n := least(n,
            CASE WHEN p_max_running IS NULL THEN n ELSE p_max_running - (SELECT count(*)
              FROM troupe_jobs r
              WHERE r.queue = p_queue AND r.status = 'running' AND r.lease_until >= p_now)::integer
            END,
            coalesce(floor(v_tokens + 1e-9)::integer, n));
          IF n <= 0 THEN
            RETURN;
          END IF;
        END IF;
        -- MATERIALIZED: picked once; a subquery could be rescanned per row of
        -- the update and pick past its LIMIT. The picked ids are looked up
        -- through the primary key: a join was planned as a scan of the whole
        -- table (finished rows included).
        RETURN QUERY WITH expired AS MATERIALIZED (
            SELECT c.id FROM troupe_jobs c
            WHERE c.queue = p_queue AND c.status = 'running' AND c.lease_until < p_now
            ORDER BY c.lease_until LIMIT n FOR UPDATE SKIP LOCKED
          ), due AS MATERIALIZED (
            SELECT c.id FROM troupe_jobs c
            WHERE c.queue = p_queue AND c.status IN ('scheduled', 'queued', 'retrying')
              AND c.run_at <= p_now
            ORDER BY c.priority DESC, c.run_at, c.seq
            LIMIT n - (SELECT count(*) FROM expired) FOR UPDATE SKIP LOCKED
          )
          UPDATE troupe_jobs j
          SET status = 'running', owner_id = p_owner, lease_until = p_now + p_lease_ms,
              attempt = j.attempt + 1, started_at = p_now
          WHERE j.queue = p_queue
            AND j.id = ANY (ARRAY (SELECT expired.id FROM expired UNION ALL SELECT due.id FROM due))
          RETURNING false, j.id, j.spec, j.attempts, j.attempt, j.failures;
        IF p_rate IS NOT NULL THEN
          GET DIAGNOSTICS v_got = ROW_COUNT;
          UPDATE troupe_queues q SET tokens = greatest(0, v_tokens - v_got),
            refilled_at = greatest(q.refilled_at, p_now)
          WHERE q.queue = p_queue;
        END IF;
      END $$;
    `,
  },
  {
    version: 6,
    name: 'communicator: message leases (at-least-once delivery)',
    sql: `
      -- A process takes a message row by leasing it (lease_owner, until
      -- lease_expires_at) and deletes it only once the message is in its
      -- agent's mailbox; a lease that ran out makes the row available to
      -- another process serving the role. deliveries counts the takes, so a
      -- redelivery is marked as one.
      ALTER TABLE troupe_messages
        ADD COLUMN lease_owner text,
        ADD COLUMN lease_expires_at bigint,
        ADD COLUMN deliveries integer NOT NULL DEFAULT 0;
    `,
  },
];

/** Arbitrary, fixed: the advisory lock key every troupe process migrates under. */
export const MIGRATION_LOCK_KEY = 7_303_021_313;

/**
 * Brings the schema to the newest version, holding the advisory lock.
 * @throws TroupeError `CONFIG_ERROR` if the database was migrated by a newer troupe.
 */
export async function migrate(client: pg.ClientBase): Promise<number[]> {
  await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK_KEY]);
  try {
    await client.query(`CREATE TABLE IF NOT EXISTS troupe_migrations (
      version integer PRIMARY KEY,
      name text NOT NULL,
      applied_at timestamptz NOT NULL DEFAULT now()
    )`);
    const { rows } = await client.query<{ version: number }>(
      'SELECT version FROM troupe_migrations ORDER BY version',
    );
    const applied = new Set(rows.map((row) => row.version));
    const newest = MIGRATIONS.at(-1)!.version;
    const unknown = rows.find((row) => row.version > newest);
    if (unknown) {
      throw new TroupeError(
        'CONFIG_ERROR',
        `The database has troupe schema version ${unknown.version}, newer than this troupe knows (${newest}). Upgrade troupe, or point it at another database.`,
        { version: unknown.version },
      );
    }
    const ran: number[] = [];
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(migration.sql);
        await client.query('INSERT INTO troupe_migrations (version, name) VALUES ($1, $2)', [
          migration.version,
          migration.name,
        ]);
        await client.query('COMMIT');
      } catch (error) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw error;
      }
      ran.push(migration.version);
    }
    return ran;
  } finally {
    await client
      .query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK_KEY])
      .catch(() => undefined);
  }
}
