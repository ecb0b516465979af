/**
 * Options of {@link createWorker}: a process that serves agent roles for the
 * runs of other processes (their owners) through a shared PostgreSQL
 * database, without owning runs (see docs/workers.md).
 */
import { z } from 'zod';
import { type AgentDefinition, agentDefinitionSchema } from '../../actors/agents/define-agent.js';
import { TroupeError } from '../../errors.js';
import { clockSchema, functionSchema, parseArgument } from '../../schemas/arguments.js';
import { durationMs } from '../../schemas/limits.js';
import type { PostgresStoreOptions } from '../../store/postgres/postgres-store.js';
import { PostgresStore } from '../../store/postgres/postgres-store.js';
import { type Clock, systemClock } from '../clock.js';
import {
  type CommunicatorClusterOptions,
  communicatorClusterOptionsSchema,
  type ResolvedCommunicatorClusterOptions,
  resolveCommunicatorClusterOptions,
} from '../communicator/cluster-options.js';

/** Options of {@link createWorker}; every default is applied once, in `resolveWorkerOptions`. */
export interface WorkerOptions {
  /**
   * The database the owners use: `{ postgres: { connectionString } }` (the
   * worker opens and closes it), or an open {@link PostgresStore} (left open).
   * @default env `TROUPE_DATABASE_URL`
   */
  store?: PostgresStore | { postgres: PostgresStoreOptions };
  /** The agents this worker runs; each role's `concurrency` is its limit across every worker. */
  agents: readonly AgentDefinition[];
  /**
   * Most tasks this worker runs at once, over all its roles (each role also
   * keeps its own limit across all workers); free slots go to the roles in
   * the order of `agents`.
   * @default Infinity: only the roles' limits
   */
  concurrency?: number;
  /**
   * How long a claim lasts without renewal: a task of a worker that stops
   * renewing (killed, frozen, cut off) is claimed again this long after the
   * last renewal. Also how long the worker is listed after its last heartbeat.
   * @default 5000
   */
  leaseMs?: number;
  /** How often the worker renews its claims and its heartbeat; keep it well under `leaseMs`. @default 1000 */
  heartbeatMs?: number;
  /** How often the worker looks for tasks, as the safety net of `LISTEN/NOTIFY`. @default 1000 */
  pollMs?: number;
  /** This worker's id, shown by `troupe workers`. @default `worker:<hostname>:<pid>:<random>` */
  workerId?: string;
  /**
   * The worker's communicator, through which its agents message the agents
   * of every process on the database (`ctx.send`, `ctx.request`,
   * `ctx.lock`, `worker.communicator`): the options of
   * `createRuntime({ communicator })` (see docs/communicator-postgres.md).
   * @default the defaults there
   */
  communicator?: CommunicatorClusterOptions;
  /** Source of time for leases and heartbeats. @default the system clock */
  clock?: Clock;
  /** Receives errors that must not stop the worker (a refused result, a lost connection). @default logs to stderr */
  onError?: (error: unknown, context: string) => void;
}

export interface ResolvedWorkerOptions {
  store: PostgresStore | { postgres: PostgresStoreOptions };
  agents: readonly AgentDefinition[];
  concurrency: number;
  leaseMs: number;
  heartbeatMs: number;
  pollMs: number;
  workerId: string | undefined;
  communicator: ResolvedCommunicatorClusterOptions;
  clock: Clock;
  onError: (error: unknown, context: string) => void;
}

const workerOptionsSchema = z.strictObject({
  store: z
    .union(
      [
        z.custom<PostgresStore>((value) => value instanceof PostgresStore),
        z.strictObject({
          postgres: z.looseObject({
            connectionString: z.string().min(1, { error: 'must be a postgres:// URL' }),
          }),
        }),
      ],
      { error: 'must be a PostgresStore or { postgres: { connectionString } }' },
    )
    .optional(),
  agents: z
    .array(agentDefinitionSchema, { error: 'must be an array of agents' })
    .min(1, { error: 'must hold at least one agent' }),
  concurrency: z
    .number({ error: 'must be a number' })
    .int({ error: 'must be a whole number' })
    .min(1, { error: 'must be at least 1' })
    .or(z.literal(Infinity))
    .optional(),
  leaseMs: durationMs({ min: 1 }).optional(),
  heartbeatMs: durationMs({ min: 1 }).optional(),
  pollMs: durationMs({ min: 1 }).optional(),
  workerId: z.string().min(1).max(200).optional(),
  communicator: communicatorClusterOptionsSchema.optional(),
  clock: clockSchema.optional(),
  onError: functionSchema<(error: unknown, context: string) => void>().optional(),
} satisfies Record<keyof WorkerOptions, z.ZodType>);

/**
 * Validates the options and applies every default, once.
 * @throws TroupeError `INVALID_INPUT` naming each bad option, or `CONFIG_ERROR`
 * when no database is given and `TROUPE_DATABASE_URL` is not set, or
 * `communicator.endpointTtlMs` is not longer than its `heartbeatMs`.
 */
export function resolveWorkerOptions(input: WorkerOptions): ResolvedWorkerOptions {
  const options = parseArgument(
    'createWorker',
    'options',
    workerOptionsSchema,
    input,
  ) as WorkerOptions;
  const url = process.env.TROUPE_DATABASE_URL;
  const store = options.store ?? (url ? { postgres: { connectionString: url } } : undefined);
  if (!store) {
    throw new TroupeError(
      'CONFIG_ERROR',
      'createWorker needs the database of the owners: pass store: { postgres: { connectionString } } or set TROUPE_DATABASE_URL.',
    );
  }
  const roles = options.agents.map((agent) => agent.role);
  const twice = roles.find((role, i) => roles.indexOf(role) !== i);
  if (twice !== undefined) {
    throw new TroupeError(
      'DUPLICATE_AGENT',
      `createWorker: two agents have the role "${twice}"; give each role one agent.`,
      { agent: twice },
    );
  }
  return {
    store,
    agents: options.agents,
    concurrency: options.concurrency ?? Infinity,
    leaseMs: options.leaseMs ?? 5_000,
    heartbeatMs: options.heartbeatMs ?? 1_000,
    pollMs: options.pollMs ?? 1_000,
    workerId: options.workerId,
    communicator: resolveCommunicatorClusterOptions(options.communicator, 'createWorker'),
    clock: options.clock ?? systemClock,
    onError:
      options.onError ??
      ((error, context) =>
        process.stderr.write(`troupe worker: ${context}: ${(error as Error)?.message ?? error}\n`)),
  };
}
