/**
 * When the pages' list of stored runs is read again. A run that starts,
 * pauses, ends or is checkpointed asks for a read soon ({@link SOON_MS})
 * and one more a little later ({@link AGAIN_MS}: a run's end record is
 * written after its last event). Requests coalesce into one timer.
 *
 * Listing decodes every run record: 2,000 stored 10-task runs take about
 * 70 ms, and the time grows with the store. So reads are also spaced by
 * their own cost: the next starts no sooner than {@link COST_FACTOR} times
 * the last one's duration after it ended (at most {@link MAX_SPACING_MS}),
 * and never while one is under way. However busy the runtime, the inspector
 * spends at most a tenth of its time listing runs until a read takes 3 s
 * (some 80,000 stored runs); a small store is read as soon as asked.
 */
import { type Clock, systemClock } from '../clock.js';

export const SOON_MS = 250;
export const AGAIN_MS = 1_500;
export const COST_FACTOR = 10;
/** Longest wait its cost puts before a read (a store that answers slowly is still read). */
export const MAX_SPACING_MS = 30_000;

export class StoredRunsRefresh {
  /** The earliest pending request for a read, and the latest one (absolute times). */
  private soonAt: number | undefined;
  private againAt: number | undefined;
  /** No read starts before this: the last one's cost, paid back. */
  private allowedAt = Number.NEGATIVE_INFINITY;
  private reading = false;
  private timer: unknown;
  private timerAt: number | undefined;
  private closed = false;

  /**
   * @param read lists the stored runs and hands them to the pages; its
   *   failures are the caller's to handle (it should not reject).
   */
  constructor(
    private readonly read: () => Promise<void>,
    private readonly clock: Clock = systemClock,
  ) {}

  /** Something the list shows has changed: read it soon, and once more a little later. */
  requested(): void {
    if (this.closed) return;
    const now = this.clock.now();
    this.soonAt ??= now + SOON_MS;
    this.againAt = now + AGAIN_MS;
    this.arm();
  }

  close(): void {
    this.closed = true;
    this.disarm();
  }

  private arm(): void {
    if (this.reading || this.closed) return;
    const wanted = Math.min(
      this.soonAt ?? Number.POSITIVE_INFINITY,
      this.againAt ?? Number.POSITIVE_INFINITY,
    );
    if (wanted === Number.POSITIVE_INFINITY) return;
    const at = Math.max(wanted, this.allowedAt);
    if (this.timerAt === at) return;
    this.disarm();
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => this.fire(), Math.max(0, at - this.clock.now()));
    // A pending read must not keep a process alive that is otherwise done.
    (this.timer as { unref?: () => void }).unref?.();
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = undefined;
  }

  private fire(): void {
    const started = this.clock.now();
    // This read answers every request for a time up to the one it was due at
    // (a timer may fire a millisecond early by the wall clock).
    const due = Math.max(started, this.timerAt ?? started);
    this.timer = undefined;
    this.timerAt = undefined;
    if (this.soonAt !== undefined && this.soonAt <= due) this.soonAt = undefined;
    if (this.againAt !== undefined && this.againAt <= due) this.againAt = undefined;
    this.reading = true;
    const done = () => {
      const ended = this.clock.now();
      this.allowedAt = ended + Math.min(MAX_SPACING_MS, COST_FACTOR * (ended - started));
      this.reading = false;
      this.arm();
    };
    this.read().then(done, done);
  }
}
