/**
 * Options of remote agents on a run's owner, used when the runtime's store is
 * PostgreSQL (`createRuntime({ store: { postgres }, remoteAgents })`): tasks
 * of roles that no local agent serves but live workers do go to the workers
 * (see docs/workers.md).
 */
export interface RemoteAgentsOptions {
  /** Send tasks of roles only workers serve to the workers. @default true */
  enabled?: boolean;
  /**
   * How often the owner reads the state of the remote tasks it waits for, as
   * the safety net of `LISTEN/NOTIFY` (lost through some poolers).
   * @default 1000
   */
  pollMs?: number;
  /** How often the owner reads which roles live workers serve. @default 1000 */
  refreshMs?: number;
}

export type ResolvedRemoteAgentsOptions = Required<RemoteAgentsOptions>;

export function resolveRemoteAgentsOptions(
  options: RemoteAgentsOptions = {},
): ResolvedRemoteAgentsOptions {
  return {
    enabled: options.enabled ?? true,
    pollMs: options.pollMs ?? 1_000,
    refreshMs: options.refreshMs ?? 1_000,
  };
}
