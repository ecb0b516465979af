import { randomUUID } from 'node:crypto';
import type { InspectionEvent } from 'xstate';
import { z } from 'zod';
import { type AgentDefinition, agentDefinitionSchema } from '../actors/agents/define-agent.js';
import { type LlmClient, type LlmOptions, toLlmClient } from '../actors/llm/llm-client.js';
import { createLlmPlanner } from '../actors/llm/llm-planner.js';
import { heuristicPlanner } from '../actors/planners/heuristic-planner.js';
import type { Planner } from '../actors/planners/planner.js';
import { functionSchema, parseArgument } from '../schemas/arguments.js';
import {
  durationMs,
  type ResolvedValueLimits,
  resolveValueLimits,
  type ValueLimits,
  valueLimitsSchema,
} from '../schemas/limits.js';
import type { PostgresStoreOptions } from '../store/postgres/postgres-store.js';
import type { Store } from '../store/store.js';
import { type Clock, systemClock } from './clock.js';
import {
  type CommunicatorClusterOptions,
  communicatorClusterOptionsSchema,
  type ResolvedCommunicatorClusterOptions,
  resolveCommunicatorClusterOptions,
} from './communicator/cluster-options.js';
import { parseRuntimeInspectorOptions } from './inspector/inspector-options.js';
import type { RuntimeInspectorOptions } from './inspector/server.js';
import {
  type OwnershipOptions,
  type ResolvedOwnershipOptions,
  resolveOwnershipOptions,
} from './ownership/ownership-options.js';
import type { TaskQueueOptions } from './queue/task-queue-options.js';
import {
  type RemoteAgentsOptions,
  type ResolvedRemoteAgentsOptions,
  resolveRemoteAgentsOptions,
} from './workers/remote-agents-options.js';

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /**
   * Folder of the LevelDB store, created if missing; `false` keeps everything
   * in memory (nothing survives the process).
   * @default '.troupe' in the working directory
   */
  dataDir?: string | false;
  /**
   * Where state lives instead of the LevelDB store in `dataDir`: a
   * {@link Store} (another backend, or one wrapped for tests, such as
   * `FaultyStore` from 'troupe/testing'; the runtime closes it on `close()`),
   * or `{ postgres: { connectionString } }`, which keeps every run, journal,
   * checkpoint, job, shared context, message and evaluation in one PostgreSQL
   * database that any number of troupe processes can share (see docs/postgres.md).
   * @default env `TROUPE_DATABASE_URL` when neither `store` nor `dataDir` is given, else the LevelDB store in `dataDir`
   */
  store?: Store | { postgres: PostgresStoreOptions };
  /** Leases, heartbeat and takeover of runs, with a PostgreSQL store. @default see {@link OwnershipOptions} */
  ownership?: OwnershipOptions;
  /**
   * Tasks of roles that no agent here serves but live workers do
   * (`createWorker`, `troupe worker`) go to those workers, with a PostgreSQL
   * store (see docs/workers.md).
   * @default see {@link RemoteAgentsOptions}
   */
  remoteAgents?: RemoteAgentsOptions;
  /**
   * The communicator across processes, with a PostgreSQL store: messages to
   * agents of other processes, shared contexts and locks in the database
   * (see docs/communicator-postgres.md). Ignored with other stores.
   * @default see {@link CommunicatorClusterOptions}
   */
  communicator?: CommunicatorClusterOptions;
  /**
   * Durability level of the LevelDB store. `false`: every acknowledged write
   * survives a crash of the process (even SIGKILL), but the last writes before
   * a power loss or kernel crash may be lost. `true`: every write is fsynced
   * before it is acknowledged, so it survives a power loss too; writes cost
   * more (see docs/durability.md for measurements).
   * @default false
   */
  sync?: boolean;
  /** Agents to register at once (more can be added with `registerAgent`). @default [] */
  agents?: readonly AgentDefinition[];
  /** Decomposes task descriptions into workflows. @default the LLM planner with `llm`, else the heuristic planner */
  planner?: Planner;
  /**
   * An OpenAI-compatible server (OpenAI, Ollama, vLLM, LM Studio, llama.cpp);
   * fields left out come from OPENAI_BASE_URL, OPENAI_API_KEY and TROUPE_MODEL,
   * so `{}` means "from the environment". With it the default planner is the
   * LLM planner (falling back to the heuristic one), and `rt.options.llm` is
   * the client to pass to `specialists({ llm, workspace })` or `defineLlmAgent`.
   * @default none: no model is used
   */
  llm?: LlmOptions | LlmClient;
  /** Source of time for timestamps, timeouts and retry backoff. @default the system clock */
  clock?: Clock;
  /** Makes workflow and request ids. @default `wf-` + a random UUID */
  createId?: (kind: 'workflow' | 'plan') => string;
  /** Receives every XState inspection event of the whole actor system. @default none */
  inspect?: (event: InspectionEvent) => void;
  /**
   * Serves the live inspector (a local page and its WebSocket bridge, see
   * docs/inspector.md) at `rt.inspector.url`; `port: 0` picks a free port.
   * A non-loopback `host`, and `controls`, require a token.
   * @default none: no server, and inspection costs nothing
   */
  inspector?: RuntimeInspectorOptions;
  /**
   * Receives errors that must not stop the runtime: a throwing event handler,
   * the first failed store write (`STORE_WRITE_FAILED`; the callers waiting
   * on that write get it too).
   * @default logs to stderr
   */
  onError?: (error: unknown, context: string) => void;
  /**
   * Journal every run's events and checkpoint its state, so it survives a
   * crash (see docs/durability.md).
   * @default true with a `dataDir` or a `store`, false in memory
   */
  durable?: boolean;
  /**
   * Task completions between two checkpoints of a run (a run can set its
   * own). Without one, each run is checkpointed once the journal written
   * since its last checkpoint reaches the size of that checkpoint
   * (and at least 100 completions later): recovery replays a short tail
   * and checkpointing costs the same per task however large the run.
   * @default automatic
   */
  checkpointInterval?: number;
  /** Checkpoints kept per run, for `engine.history` and `engine.fork`. @default 5 */
  keepCheckpoints?: number;
  /** Resume the interrupted runs found in the store when the runtime starts. @default false */
  autoResume?: boolean;
  /**
   * Options of the runtime's task queue (`rt.queue`); its clock is the
   * runtime's, and its store the runtime's when durable.
   * @default the TaskQueue defaults
   */
  queue?: Omit<TaskQueueOptions, 'clock' | 'store' | 'maxJobBytes'>;
  /**
   * Size limits of the values handed to the runtime (messages, task outputs,
   * shared-context updates, job arguments and results), each in bytes of
   * JSON; see docs/limits.md.
   * @default 1 MiB each
   */
  limits?: ValueLimits;
}

/** Options with every default applied, once. */
export interface ResolvedRuntimeOptions {
  dataDir: string | false;
  store: Store | undefined;
  sync: boolean;
  /** Set when the store is PostgreSQL. */
  postgres: PostgresStoreOptions | undefined;
  ownership: ResolvedOwnershipOptions;
  remoteAgents: ResolvedRemoteAgentsOptions;
  communicator: ResolvedCommunicatorClusterOptions;
  agents: readonly AgentDefinition[];
  planner: Planner;
  llm: LlmClient | undefined;
  clock: Clock;
  createId: (kind: 'workflow' | 'plan') => string;
  inspect: ((event: InspectionEvent) => void) | undefined;
  inspector: RuntimeInspectorOptions | undefined;
  onError: (error: unknown, context: string) => void;
  durable: boolean;
  checkpointInterval: number | undefined;
  keepCheckpoints: number;
  autoResume: boolean;
  queue: Omit<TaskQueueOptions, 'clock' | 'store'>;
  limits: ResolvedValueLimits;
}

const objectWith = <T>(what: string, ...methods: string[]) =>
  z.custom<T>(
    (value) =>
      typeof value === 'object' &&
      value !== null &&
      methods.every((method) => typeof (value as Record<string, unknown>)[method] === 'function'),
    { error: `must be ${what}` },
  );

const positiveInt = z
  .number({ error: 'must be a number' })
  .int({ error: 'must be a whole number' })
  .min(1, { error: 'must be at least 1' });

/**
 * Every option of {@link RuntimeOptions}, strict: a misspelt key is an error,
 * not silently ignored. Typed against the interface, so an option added there
 * and not here does not compile. Nested objects with an owner (queue,
 * inspector, llm) are checked by that owner.
 */
const runtimeOptionsSchema = z
  .strictObject({
    dataDir: z.union([z.string().min(1, { error: 'must not be empty' }), z.literal(false)], {
      error: 'must be a folder path, or false for memory only',
    }),
    store: z.union(
      [
        objectWith<Store>('a Store', 'batch', 'range', 'get'),
        z.strictObject({
          postgres: z.strictObject({
            connectionString: z.string().min(1, { error: 'must be a postgres:// URL' }),
            maxConnections: positiveInt.optional(),
            reconnectWindowMs: durationMs().optional(),
            ownerId: z.string().min(1).optional(),
            onError: functionSchema<(error: unknown, context: string) => void>().optional(),
          } satisfies Record<keyof PostgresStoreOptions, z.ZodType>),
        }),
      ],
      {
        error:
          'must be a Store (MemoryStore, LevelStore, ...) or { postgres: { connectionString } }',
      },
    ),
    ownership: z
      .strictObject({
        leaseMs: durationMs({ min: 1 }),
        heartbeatMs: durationMs({ min: 1 }),
        sweepMs: durationMs({ min: 1 }),
        sweepLimit: positiveInt,
        takeover: z.boolean(),
        maxRecoveryAttempts: positiveInt,
        commandPollMs: durationMs({ min: 1 }),
      } satisfies Record<keyof OwnershipOptions, z.ZodType>)
      .partial(),
    remoteAgents: z
      .strictObject({
        enabled: z.boolean({ error: 'must be true or false' }),
        pollMs: durationMs({ min: 1 }),
        refreshMs: durationMs({ min: 1 }),
      } satisfies Record<keyof RemoteAgentsOptions, z.ZodType>)
      .partial(),
    communicator: communicatorClusterOptionsSchema,
    sync: z.boolean({ error: 'must be true or false' }),
    agents: z.array(agentDefinitionSchema, { error: 'must be an array of agents' }),
    planner: objectWith<Planner>('a Planner ({ name, plan(request, signal) })', 'plan'),
    llm: z.custom<LlmOptions | LlmClient>((value) => typeof value === 'object' && value !== null, {
      error: 'must be LLM options ({ baseURL?, apiKey?, model? }) or an LlmClient',
    }),
    clock: objectWith<Clock>(
      'a Clock ({ now, setTimeout, clearTimeout })',
      'now',
      'setTimeout',
      'clearTimeout',
    ),
    createId: functionSchema<(kind: 'workflow' | 'plan') => string>(),
    inspect: functionSchema<(event: InspectionEvent) => void>(),
    // Checked by its owner, parseRuntimeInspectorOptions, with its own fields named.
    inspector: z.unknown(),
    onError: functionSchema<(error: unknown, context: string) => void>(),
    durable: z.boolean({ error: 'must be true or false' }),
    checkpointInterval: positiveInt,
    keepCheckpoints: positiveInt,
    autoResume: z.boolean({ error: 'must be true or false' }),
    queue: z.record(z.string(), z.unknown(), { error: 'must be TaskQueue options' }),
    limits: valueLimitsSchema,
  } satisfies Record<keyof RuntimeOptions, z.ZodType>)
  .partial();

/**
 * Validates the options and applies every default, once.
 * @throws TroupeError `INVALID_INPUT` naming each bad or unknown option.
 */
export function resolveRuntimeOptions(input: RuntimeOptions): ResolvedRuntimeOptions {
  const options = parseArgument(
    'createRuntime',
    'options',
    runtimeOptionsSchema,
    input ?? {},
  ) as RuntimeOptions;
  return applyDefaults(options);
}

function applyDefaults(options: RuntimeOptions): ResolvedRuntimeOptions {
  const llm = options.llm ? toLlmClient(options.llm) : undefined;
  const dataDir = options.dataDir ?? '.troupe';
  const limits = resolveValueLimits(options.limits);
  const databaseUrl = process.env.TROUPE_DATABASE_URL;
  const given = options.store;
  const store = given && !('postgres' in given) ? given : undefined;
  const postgres =
    given && 'postgres' in given
      ? given.postgres
      : given === undefined && options.dataDir === undefined && databaseUrl
        ? { connectionString: databaseUrl }
        : undefined;
  return {
    dataDir,
    store,
    postgres,
    ownership: resolveOwnershipOptions(options.ownership),
    remoteAgents: resolveRemoteAgentsOptions(options.remoteAgents),
    communicator: resolveCommunicatorClusterOptions(options.communicator),
    sync: options.sync ?? false,
    durable:
      options.durable ?? (dataDir !== false || store !== undefined || postgres !== undefined),
    checkpointInterval: options.checkpointInterval,
    keepCheckpoints: options.keepCheckpoints ?? 5,
    autoResume: options.autoResume ?? false,
    limits,
    queue: { ...options.queue, maxJobBytes: limits.maxJobBytes },
    agents: options.agents ?? [],
    planner: options.planner ?? (llm ? createLlmPlanner({ llm }) : heuristicPlanner),
    llm,
    clock: options.clock ?? systemClock,
    createId:
      options.createId ?? ((kind) => `${kind === 'workflow' ? 'wf' : 'plan'}-${randomUUID()}`),
    inspect: options.inspect,
    inspector:
      options.inspector === undefined ? undefined : parseRuntimeInspectorOptions(options.inspector),
    onError:
      options.onError ??
      ((error, context) => {
        const message = error instanceof Error ? error.message : String(error);
        process.stderr.write(`troupe: ${context}: ${message}\n`);
      }),
  };
}
