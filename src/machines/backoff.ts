/**
 * Retry delays: exponential growth with a cap and jitter.
 *
 * The jitter is derived from a key (for example `workflowId:taskId:attempt`)
 * instead of `Math.random()`, so the same failure always waits the same time.
 * That keeps the machines deterministic: replaying a journal reproduces the
 * same deadlines, while different tasks still spread out instead of retrying
 * in lockstep.
 */
export interface BackoffPolicy {
  /** Delay before the first retry, in ms. */
  initialDelayMs: number;
  /** Growth per attempt. */
  factor: number;
  /** Upper bound of any delay, in ms. */
  maxDelayMs: number;
  /** Fraction of the delay that is randomised: 0 = none, 1 = "full jitter". */
  jitter: number;
}

/**
 * Delay before retry number `retry` (1 for the first retry).
 * delay = min(maxDelay, initialDelay * factor^(retry-1)), then the jittered
 * fraction is scaled by a stable pseudo-random number in [0, 1) from `key`.
 */
export function backoffDelay(policy: BackoffPolicy, retry: number, key: string): number {
  const exponential = policy.initialDelayMs * policy.factor ** Math.max(0, retry - 1);
  const capped = Math.min(policy.maxDelayMs, exponential);
  const jitter = Math.min(1, Math.max(0, policy.jitter));
  return Math.round(capped * (1 - jitter) + capped * jitter * unitHash(key));
}

/** FNV-1a over the key, mapped to [0, 1). Not cryptographic; only spread matters. */
export function unitHash(key: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    hash ^= key.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0) / 0x1_0000_0000;
}
