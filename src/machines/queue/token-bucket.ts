/**
 * A token bucket for the queue's rate limit. Pure: the caller passes the
 * time in, so the same bucket behaves identically under a simulated clock.
 *
 * The bucket holds at most `capacity` tokens and refills continuously at
 * `ratePerSecond`; starting a job takes one token. Hence over any window of
 * `t` seconds at most `capacity + ratePerSecond * t` jobs start, and a
 * saturated queue runs at `ratePerSecond` in the steady state.
 */
export interface TokenBucket {
  capacity: number;
  ratePerSecond: number;
  /** Fractional tokens available at `updatedAt`. */
  tokens: number;
  updatedAt: number;
}

/** Float error in refills must not make a due token look missing. */
const EPSILON = 1e-9;

/** A full bucket. */
export function createTokenBucket(
  ratePerSecond: number,
  capacity: number,
  now: number,
): TokenBucket {
  return { capacity, ratePerSecond, tokens: capacity, updatedAt: now };
}

/** Adds the tokens earned since the last refill. Time never runs backwards here. */
export function refill(bucket: TokenBucket, now: number): void {
  if (now <= bucket.updatedAt) return;
  const earned = ((now - bucket.updatedAt) * bucket.ratePerSecond) / 1000;
  bucket.tokens = Math.min(bucket.capacity, bucket.tokens + earned);
  bucket.updatedAt = now;
}

/** Takes one token if there is one at `now`. */
export function tryTake(bucket: TokenBucket, now: number): boolean {
  refill(bucket, now);
  if (bucket.tokens + EPSILON < 1) return false;
  bucket.tokens = Math.max(0, bucket.tokens - 1);
  return true;
}

/** The earliest time (epoch ms, whole ms, >= now) at which a token is available. */
export function nextTokenAt(bucket: TokenBucket, now: number): number {
  refill(bucket, now);
  const missing = 1 - bucket.tokens;
  if (missing <= EPSILON) return now;
  return now + Math.ceil((missing * 1000) / bucket.ratePerSecond - EPSILON);
}
