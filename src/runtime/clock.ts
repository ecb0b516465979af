/**
 * Time is injected everywhere so backoff, timeouts and scheduling can be tested
 * without sleeping. XState's `SimulatedClock` satisfies this interface, and so
 * does {@link systemClock}.
 */
export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};
