/**
 * Issue 17 item 6: while a big live run is shown, the page's statechart
 * layouts wait (elkjs's first layout costs about a second of CPU, which
 * would come out of the watched run) until the run ends or another is
 * opened, or MAX_STREAM_HOLD_MS has passed. The timers are injected: no
 * real time passes.
 */
import { describe, expect, it } from 'vitest';
import { MAX_STREAM_HOLD_MS, StreamHold } from '../../inspector/src/stream-hold.js';

/** Timers the test moves by hand. */
function fakeTimers() {
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    setTimer: (fn: () => void, ms: number) => {
      const id = nextId++;
      timers.set(id, { at: now + ms, fn });
      return id;
    },
    clearTimer: (id: unknown) => {
      timers.delete(id as number);
    },
    /** Moves the clock, firing the timers that fall due on the way, in order. */
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        const due = [...timers.entries()]
          .filter(([, t]) => t.at <= end)
          .sort((a, b) => a[1].at - b[1].at)[0];
        if (!due) break;
        timers.delete(due[0]);
        now = due[1].at;
        due[1].fn();
      }
      now = end;
    },
    pending: () => timers.size,
  };
}

function setUp() {
  const timers = fakeTimers();
  let released = 0;
  const hold = new StreamHold({ ...timers, onRelease: () => released++ });
  return { timers, hold, released: () => released };
}

describe('ISSUE-17 stream hold', () => {
  it('holds while the run is shown, up to MAX_STREAM_HOLD_MS, once per run', () => {
    const { timers, hold, released } = setUp();
    expect(hold.held).toBe(false);
    hold.hold('big');
    expect(hold.held).toBe(true);
    // Its changes (the page calls again on each) do not extend the hold.
    for (let i = 0; i < 9; i++) {
      timers.advance(MAX_STREAM_HOLD_MS / 10);
      hold.hold('big');
      expect(hold.held).toBe(true);
    }
    timers.advance(MAX_STREAM_HOLD_MS / 10 - 1);
    expect(released()).toBe(0);
    timers.advance(1);
    expect(hold.held).toBe(false);
    expect(released()).toBe(1);
    // The same run, still shown, holds no more.
    hold.hold('big');
    expect(hold.held).toBe(false);
    expect(timers.pending()).toBe(0);
  });

  it('releases at once when the run ends, and holds again for another run', () => {
    const { timers, hold, released } = setUp();
    hold.hold('first');
    timers.advance(100);
    hold.end();
    expect(hold.held).toBe(false);
    expect(released()).toBe(1);
    expect(timers.pending()).toBe(0);
    // Ending again (nothing held) releases nothing.
    hold.end();
    expect(released()).toBe(1);
    hold.hold('second');
    expect(hold.held).toBe(true);
    // Opening a third run while the second holds: the hold moves to it, with its own limit.
    timers.advance(MAX_STREAM_HOLD_MS - 1);
    hold.hold('third');
    expect(released()).toBe(2);
    expect(hold.held).toBe(true);
    timers.advance(MAX_STREAM_HOLD_MS - 1);
    expect(hold.held).toBe(true);
    timers.advance(1);
    expect(hold.held).toBe(false);
    expect(released()).toBe(3);
  });
});
