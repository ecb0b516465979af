/**
 * Options of run ownership, used when the runtime's store is PostgreSQL
 * (`createRuntime({ store: { postgres }, ownership })`). With the defaults a
 * SIGKILLed process's runs are taken over within `leaseMs + sweepMs` (6 s).
 */
export interface OwnershipOptions {
  /**
   * How long a lease lasts without renewal: a process that stops renewing
   * (killed, frozen, cut off) loses its runs this long after its last renewal.
   * @default 5000
   */
  leaseMs?: number;
  /** How often this process renews the leases of its runs; keep it well under `leaseMs`. @default 1000 */
  heartbeatMs?: number;
  /** How often this process looks for runs whose lease expired, to take them over. @default 1000 */
  sweepMs?: number;
  /** Runs taken over per sweep at most. @default 10 */
  sweepLimit?: number;
  /**
   * Take over the runs of dead processes. A process that only starts runs
   * (or only reads) can say `false`.
   * @default true
   */
  takeover?: boolean;
  /**
   * Takeovers of a run that do not end in a successful recovery before the
   * run is parked as `recovery_failed` (with the reason) instead of being
   * tried again.
   * @default 3
   */
  maxRecoveryAttempts?: number;
  /**
   * How often commands (pause, resume, cancel sent from another process) are
   * polled for, as the safety net of `LISTEN/NOTIFY` (lost through some poolers).
   * @default 1000
   */
  commandPollMs?: number;
}

export type ResolvedOwnershipOptions = Required<OwnershipOptions>;

export function resolveOwnershipOptions(options: OwnershipOptions = {}): ResolvedOwnershipOptions {
  return {
    leaseMs: options.leaseMs ?? 5_000,
    heartbeatMs: options.heartbeatMs ?? 1_000,
    sweepMs: options.sweepMs ?? 1_000,
    sweepLimit: options.sweepLimit ?? 10,
    takeover: options.takeover ?? true,
    maxRecoveryAttempts: options.maxRecoveryAttempts ?? 3,
    commandPollMs: options.commandPollMs ?? 1_000,
  };
}
