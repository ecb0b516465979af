/**
 * Options of the communicator across processes, used when the runtime's
 * store is PostgreSQL (`createRuntime({ store: { postgres }, communicator })`):
 * messages to agents of other processes, shared contexts and locks live in
 * the database (see docs/communicator-postgres.md).
 */
import { z } from 'zod';
import { TroupeError } from '../../errors.js';
import { durationMs } from '../../schemas/limits.js';

export interface CommunicatorClusterOptions {
  /**
   * How often this process looks for messages sent to its agents, and for a
   * lock it waits for, as the safety net of `LISTEN/NOTIFY` (lost through
   * some poolers).
   * @default 1000
   */
  pollMs?: number;
  /** How often this process renews its row (the roles of its agents) and sweeps stale messages. @default 1000 */
  heartbeatMs?: number;
  /**
   * How long this process's row stays valid without a heartbeat: after it,
   * other processes stop sending it messages, and responses on their way to
   * it are deleted. Must be longer than `heartbeatMs`.
   * @default 10000
   */
  endpointTtlMs?: number;
  /**
   * How long a process that took a message row has to deliver it to its
   * agent before another process serving the role may take it again. The
   * row is deleted once the message is in the agent's mailbox; a process
   * killed in between leaves it to be redelivered after this lease
   * (at-least-once, see docs/communicator-postgres.md).
   * @default 30000
   */
  messageLeaseMs?: number;
}

export type ResolvedCommunicatorClusterOptions = Required<CommunicatorClusterOptions>;

export const communicatorClusterOptionsSchema = z
  .strictObject({
    pollMs: durationMs({ min: 1 }),
    heartbeatMs: durationMs({ min: 1 }),
    endpointTtlMs: durationMs({ min: 1 }),
    messageLeaseMs: durationMs({ min: 1 }),
  } satisfies Record<keyof CommunicatorClusterOptions, z.ZodType>)
  .partial();

/**
 * @param api the function given the options, named in the error.
 * @throws TroupeError `CONFIG_ERROR` unless `endpointTtlMs` is longer than `heartbeatMs`.
 */
export function resolveCommunicatorClusterOptions(
  options: CommunicatorClusterOptions = {},
  api = 'createRuntime',
): ResolvedCommunicatorClusterOptions {
  const resolved = {
    pollMs: options.pollMs ?? 1_000,
    heartbeatMs: options.heartbeatMs ?? 1_000,
    endpointTtlMs: options.endpointTtlMs ?? 10_000,
    messageLeaseMs: options.messageLeaseMs ?? 30_000,
  };
  if (resolved.endpointTtlMs <= resolved.heartbeatMs) {
    throw new TroupeError(
      'CONFIG_ERROR',
      `${api}: communicator.endpointTtlMs (${resolved.endpointTtlMs}) must be longer than communicator.heartbeatMs (${resolved.heartbeatMs}), or this process would look gone between two heartbeats. Raise endpointTtlMs.`,
      { issues: ['communicator.endpointTtlMs: must be longer than heartbeatMs'] },
    );
  }
  return resolved;
}
