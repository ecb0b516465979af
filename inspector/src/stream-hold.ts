/**
 * Whether work that can wait (laying out a statechart) waits while a big
 * live run is shown. Laying out the first chart of a page costs about a
 * second of CPU: elkjs's 1.6 MB worker compiled and optimised while it
 * runs. On a small machine that second comes out of the run being watched,
 * so while a live run of {@link STREAM_HOLD_FROM_TASKS} tasks or more is
 * shown, the layout waits until the run ends (or another is opened), or
 * for {@link MAX_STREAM_HOLD_MS} at most. Pure: the clock and timers are
 * injected.
 */

/** Live runs this big hold statechart layouts. */
export const STREAM_HOLD_FROM_TASKS = 1_000;
/** Longest a layout waits for one run. */
export const MAX_STREAM_HOLD_MS = 10_000;

export interface StreamHoldOptions {
  setTimer: (fn: () => void, ms: number) => unknown;
  clearTimer: (timer: unknown) => void;
  /** Called when the hold ends (the run ended, or it waited long enough). */
  onRelease: () => void;
}

export class StreamHold {
  /** The run held for: one run holds once, for {@link MAX_STREAM_HOLD_MS} at most. */
  private heldFor: string | undefined;
  private timer: unknown;

  constructor(private readonly options: StreamHoldOptions) {}

  /** True while layouts wait. */
  get held(): boolean {
    return this.timer !== undefined;
  }

  /** A big live run is shown (called again on its changes: it holds once). */
  hold(workflowId: string): void {
    if (this.heldFor === workflowId) return;
    this.release();
    this.heldFor = workflowId;
    this.timer = this.options.setTimer(() => {
      this.timer = undefined;
      this.options.onRelease();
    }, MAX_STREAM_HOLD_MS);
  }

  /** No big live run is shown: layouts may start now. */
  end(): void {
    this.heldFor = undefined;
    this.release();
  }

  private release(): void {
    if (this.timer === undefined) return;
    this.options.clearTimer(this.timer);
    this.timer = undefined;
    this.options.onRelease();
  }
}
