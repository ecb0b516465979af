/**
 * Who runs a stored run, as listings show it on PostgreSQL (`troupe list`,
 * the inspector's stored runs): one rule, so both say the same thing.
 */

/** A run's lease, as `PostgresLeases.all()` reads it. */
export interface LeaseView {
  owner: string;
  expiresAt: number;
  state: string;
}

/**
 * The owner's id; `<owner> (expired)` once it stopped renewing the lease
 * (until another process takes the run over); `parked` after failed
 * recoveries; `-` for an ended run or one no process holds.
 */
export function ownerLabel(lease: LeaseView | undefined, ended: boolean, now: number): string {
  if (!lease || ended) return '-';
  if (lease.state !== 'active') return 'parked';
  return lease.expiresAt < now ? `${lease.owner} (expired)` : lease.owner;
}
