/**
 * Limits as data: the longest time limit a Node timer can honour, and the
 * size limits of values handed to the runtime, with their defaults. Every
 * time limit (task `timeoutMs`, retry delays, lock and request timeouts,
 * `waitForJob`) is checked with {@link durationMs}; every size limit with
 * {@link checkValue} (see `value-check.ts`).
 */
import { z } from 'zod';

/**
 * The longest delay `setTimeout` can wait: 2^31-1 ms, about 24.8 days. A
 * longer one fires at once (Node prints a TimeoutOverflowWarning), so a limit
 * above it is refused rather than silently turned into "now".
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

const TOO_LONG = `must be at most ${MAX_TIMER_MS} ms (about 24.8 days), the longest delay a Node timer can wait`;

/** How a duration may look besides being at most {@link MAX_TIMER_MS}. */
export interface DurationRule {
  /** `0` allows 0 ("at once"); `1` requires more than 0. @default 0 */
  min?: 0 | 1;
  /** Whole milliseconds only. @default false */
  int?: boolean;
  /** `Infinity` means "no limit" and is allowed. @default false */
  infinite?: boolean;
}

/**
 * The one schema of a time limit in ms: a number, within the rule, at most
 * {@link MAX_TIMER_MS}. (Custom rather than `z.number()`, which refuses `Infinity`.)
 */
export function durationMs(rule: DurationRule = {}) {
  const { min = 0, int = false, infinite = false } = rule;
  return z
    .custom<number>((value) => typeof value === 'number' && !Number.isNaN(value), {
      error: 'must be a number of milliseconds',
    })
    .superRefine((ms, ctx) => {
      const problem =
        ms === Infinity && infinite
          ? undefined
          : min === 1 && !(ms > 0)
            ? 'must be more than 0 ms'
            : ms < 0
              ? 'must be >= 0 ms'
              : ms > MAX_TIMER_MS
                ? infinite
                  ? `${TOO_LONG}, or Infinity for no limit`
                  : TOO_LONG
                : int && !Number.isInteger(ms)
                  ? 'must be a whole number of milliseconds'
                  : undefined;
      if (problem) ctx.addIssue({ code: 'custom', message: problem });
    });
}

/** A delay clamped to what a timer can wait; the caller re-arms when it fires early (deadlines are data). */
export function timerDelay(ms: number): number {
  return Math.min(MAX_TIMER_MS, Math.max(0, ms));
}

/**
 * Size limits of values handed to the runtime, in bytes of their JSON text
 * (measured during the value check, approximately: strings by length).
 * A value over its limit is refused with `VALUE_TOO_LARGE` naming the limit.
 * Pass them as `createRuntime({ limits })`; a standalone queue takes
 * `new TaskQueue({ maxJobBytes })`.
 */
export interface ValueLimits {
  /** One message's payload (`sendMessage`, `broadcast`, `request`, replies, handoffs, `ctx.send`). @default 1_048_576 (1 MiB) */
  maxMessageBytes?: number;
  /** One task's output, and the inputs of the tasks one attempt adds. @default 1_048_576 (1 MiB) */
  maxTaskOutputBytes?: number;
  /** One shared-context update (`ctx.updateShared`, `updateSharedContext`, a run's initial `context`). @default 1_048_576 (1 MiB) */
  maxSharedUpdateBytes?: number;
  /** One stored job's arguments, and its result. @default 1_048_576 (1 MiB) */
  maxJobBytes?: number;
}

export type ResolvedValueLimits = Required<ValueLimits>;

const MIB = 1_048_576;

/** The size limits used when `createRuntime({ limits })` leaves one out: 1 MiB each. */
export const DEFAULT_VALUE_LIMITS: Readonly<ResolvedValueLimits> = Object.freeze({
  maxMessageBytes: MIB,
  maxTaskOutputBytes: MIB,
  maxSharedUpdateBytes: MIB,
  maxJobBytes: MIB,
});

const byteLimit = z
  .number({ error: 'must be a number of bytes' })
  .int({ error: 'must be a whole number of bytes' })
  .min(1, { error: 'must be at least 1' });

export const valueLimitsSchema = z.strictObject({
  maxMessageBytes: byteLimit.optional(),
  maxTaskOutputBytes: byteLimit.optional(),
  maxSharedUpdateBytes: byteLimit.optional(),
  maxJobBytes: byteLimit.optional(),
});

/** `limits` with every default applied. */
export function resolveValueLimits(limits: ValueLimits = {}): ResolvedValueLimits {
  return {
    maxMessageBytes: limits.maxMessageBytes ?? DEFAULT_VALUE_LIMITS.maxMessageBytes,
    maxTaskOutputBytes: limits.maxTaskOutputBytes ?? DEFAULT_VALUE_LIMITS.maxTaskOutputBytes,
    maxSharedUpdateBytes: limits.maxSharedUpdateBytes ?? DEFAULT_VALUE_LIMITS.maxSharedUpdateBytes,
    maxJobBytes: limits.maxJobBytes ?? DEFAULT_VALUE_LIMITS.maxJobBytes,
  };
}
