/**
 * Issue 17 item 6: while a big run streams changes, the page's statechart
 * layouts wait (elkjs's first layout costs about a second of CPU, which
 * would come out of the watched run) until the stream pauses for
 * STREAM_QUIET_MS, the run ends, or they have waited MAX_STREAM_HOLD_MS.
 * The clock and timers are injected: no real time passes.
 */
import { describe, expect, it } from 'vitest';
import {
  MAX_STREAM_HOLD_MS,
  STREAM_QUIET_MS,
  StreamHold,
} from '../../inspector/src/stream-hold.js';

/** A clock and timers the test moves by hand. */
function fakeTime() {
  let now = 0;
  let nextId = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
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
  const time = fakeTime();
  let released = 0;
  const hold = new StreamHold({ ...time, onRelease: () => released++ });
  return { time, hold, released: () => released };
}

describe('ISSUE-17 stream hold', () => {
  it('holds while changes come, and releases once they pause for STREAM_QUIET_MS', () => {
    const { time, hold, released } = setUp();
    expect(hold.held).toBe(false);
    hold.noteChange();
    expect(hold.held).toBe(true);
    // A change every half quiet period keeps it held.
    for (let i = 0; i < 6; i++) {
      time.advance(STREAM_QUIET_MS / 2);
      hold.noteChange();
      expect(hold.held).toBe(true);
    }
    time.advance(STREAM_QUIET_MS - 1);
    expect(hold.held).toBe(true);
    expect(released()).toBe(0);
    time.advance(1);
    expect(hold.held).toBe(false);
    expect(released()).toBe(1);
    expect(time.pending()).toBe(0);
  });

  it('releases after MAX_STREAM_HOLD_MS of a stream that never pauses, and holds no more in it', () => {
    const { time, hold, released } = setUp();
    hold.noteChange();
    const step = STREAM_QUIET_MS / 4;
    let elapsed = 0;
    while (hold.held) {
      time.advance(step);
      elapsed += step;
      if (hold.held) hold.noteChange();
    }
    expect(elapsed).toBe(MAX_STREAM_HOLD_MS);
    expect(released()).toBe(1);
    // The same stream goes on: layouts asked for now do not wait.
    for (let i = 0; i < 8; i++) {
      hold.noteChange();
      expect(hold.held).toBe(false);
      time.advance(step);
    }
    expect(released()).toBe(1);
    // After a pause, a new stream holds again.
    time.advance(STREAM_QUIET_MS);
    hold.noteChange();
    expect(hold.held).toBe(true);
  });

  it('releases at once when the run ends, and a later run holds again', () => {
    const { time, hold, released } = setUp();
    hold.noteChange();
    time.advance(100);
    hold.end();
    expect(hold.held).toBe(false);
    expect(released()).toBe(1);
    expect(time.pending()).toBe(0);
    // Ending again (no hold) releases nothing.
    hold.end();
    expect(released()).toBe(1);
    time.advance(10);
    hold.noteChange();
    expect(hold.held).toBe(true);
  });
});
