/**
 * Whether work that can wait (laying out a statechart) waits for a big run's
 * stream of changes to pause. Laying out the first chart of a page costs
 * about a second of CPU: elkjs's 1.6 MB worker compiled and optimised while
 * it runs. On a small machine that second comes out of the run being
 * watched, so while a run of {@link STREAM_HOLD_FROM_TASKS} tasks or more
 * streams, the layout waits until no change has come for
 * {@link STREAM_QUIET_MS}, the run ends, or it has waited
 * {@link MAX_STREAM_HOLD_MS}. Pure: the clock and timers are injected.
 */

/** Runs this big hold statechart layouts while they stream. */
export const STREAM_HOLD_FROM_TASKS = 1_000;
/** A stream that sent nothing for this long has paused. */
export const STREAM_QUIET_MS = 1_000;
/** Longest a layout waits for one stream, however busy it stays. */
export const MAX_STREAM_HOLD_MS = 10_000;

export interface StreamHoldOptions {
  now: () => number;
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (timer: unknown) => void;
  /** Called when the hold ends (paused, ended or waited long enough). */
  onRelease: () => void;
}

export class StreamHold {
  private since = Number.NEGATIVE_INFINITY;
  private lastAt = Number.NEGATIVE_INFINITY;
  private timer: unknown;

  constructor(private readonly options: StreamHoldOptions) {}

  /** True while layouts wait. */
  get held(): boolean {
    return this.timer !== undefined;
  }

  /**
   * A big run is shown or sent changes. A change after a pause starts a new
   * stream; within one stream the hold moves on with each change, up to
   * {@link MAX_STREAM_HOLD_MS} after the stream began.
   */
  noteChange(): void {
    const now = this.options.now();
    if (now - this.lastAt >= STREAM_QUIET_MS) this.since = now;
    this.lastAt = now;
    const until = Math.min(now + STREAM_QUIET_MS, this.since + MAX_STREAM_HOLD_MS);
    if (until <= now) {
      if (this.held) this.release();
      return;
    }
    this.stopTimer();
    this.timer = this.options.setTimer(() => {
      this.timer = undefined;
      this.options.onRelease();
    }, until - now);
  }

  /** The run ended (or another was opened): layouts may start now. */
  end(): void {
    this.lastAt = Number.NEGATIVE_INFINITY;
    if (this.held) this.release();
  }

  private release(): void {
    this.stopTimer();
    this.options.onRelease();
  }

  private stopTimer(): void {
    if (this.timer === undefined) return;
    this.options.clearTimer(this.timer);
    this.timer = undefined;
  }
}
