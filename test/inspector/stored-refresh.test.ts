/**
 * Issue 17 item 5 (stored runs update live) at scale: the list is read again
 * soon after a run changes and once more a little later, requests coalesce,
 * and reads are spaced by their own cost, so a store of many runs cannot
 * keep the runtime busy listing them. The clock is XState's SimulatedClock.
 */
import { describe, expect, it } from 'vitest';
import {
  AGAIN_MS,
  COST_FACTOR,
  MAX_SPACING_MS,
  SOON_MS,
  StoredRunsRefresh,
} from '../../src/runtime/inspector/stored-refresh.js';
import { SimulatedClock } from '../../src/testing/index.js';

/** A refresh whose reads take `cost` ms of the clock and record when they started. */
function refresh(cost = 0) {
  const clock = new SimulatedClock();
  const reads: number[] = [];
  let finish: (() => void) | undefined;
  let hold = false;
  const stored = new StoredRunsRefresh(() => {
    reads.push(clock.now());
    if (hold) return new Promise<void>((resolve) => (finish = resolve));
    clock.set(clock.now() + cost);
    return Promise.resolve();
  }, clock);
  const advance = async (ms: number) => {
    for (let i = 0; i < ms; i++) {
      clock.increment(1);
      // Let a finished read re-arm the timer before the clock moves on.
      await Promise.resolve();
      await Promise.resolve();
    }
  };
  return {
    clock,
    reads,
    stored,
    advance,
    holdReads: () => {
      hold = true;
    },
    /** Ends the held read, and lets the refresh see it end before the clock moves. */
    finishRead: async () => {
      finish?.();
      await Promise.resolve();
      await Promise.resolve();
    },
  };
}

describe('ISSUE-17 stored runs refresh', () => {
  it('reads soon after a change and once more a little later; changes in between coalesce', async () => {
    const { reads, stored, advance } = refresh();
    stored.requested();
    await advance(100);
    stored.requested();
    await advance(100);
    stored.requested();
    await advance(AGAIN_MS + 300);
    // One read SOON_MS after the first change, one AGAIN_MS after the last.
    expect(reads).toEqual([SOON_MS, 200 + AGAIN_MS]);
    await advance(5_000);
    expect(reads).toHaveLength(2);
    stored.close();
  });

  it('spaces reads by COST_FACTOR times the cost of the last one', async () => {
    const cost = 200;
    const { clock, reads, stored, advance } = refresh(cost);
    let lastAsked = 0;
    while (clock.now() < 6_000) {
      lastAsked = clock.now();
      stored.requested();
      await advance(50);
    }
    await advance(AGAIN_MS + COST_FACTOR * cost);
    expect(reads[0]).toBe(SOON_MS);
    for (let i = 1; i < reads.length; i++) {
      expect(reads[i]! - reads[i - 1]!).toBeGreaterThanOrEqual(cost * (1 + COST_FACTOR));
    }
    // Busy all along, yet reading at most a tenth of the time; after the last change, the
    // requests still pending are answered (one soon, one again).
    expect(reads.length).toBeLessThanOrEqual(Math.ceil(lastAsked / (cost * (1 + COST_FACTOR))) + 2);
    expect(reads.at(-1)).toBeGreaterThanOrEqual(lastAsked + AGAIN_MS);
    stored.close();
  });

  it('never starts a read while one is under way, and reads again after it when asked meanwhile', async () => {
    const { reads, stored, advance, holdReads, finishRead } = refresh();
    holdReads();
    stored.requested();
    await advance(300);
    stored.requested();
    // Asked SOON_MS after 300, but the first read is still under way.
    await advance(SOON_MS + 100);
    expect(reads).toEqual([SOON_MS]);
    // It ends at 650 after 400 ms: the next waits 10 x 400 ms, then answers what was asked meanwhile.
    await finishRead();
    await advance(COST_FACTOR * 400 - 1);
    expect(reads).toEqual([SOON_MS]);
    await advance(1);
    expect(reads).toEqual([SOON_MS, 650 + COST_FACTOR * 400]);
    await advance(AGAIN_MS * 2);
    expect(reads).toHaveLength(2);
    stored.close();
  });

  it('waits at most MAX_SPACING_MS after a slow read', async () => {
    const { reads, stored, advance } = refresh(10_000);
    stored.requested();
    await advance(SOON_MS + 1);
    stored.requested();
    await advance(MAX_SPACING_MS + AGAIN_MS);
    expect(reads).toEqual([SOON_MS, SOON_MS + 10_000 + MAX_SPACING_MS]);
    stored.close();
  });

  it('reads nothing after close', async () => {
    const { reads, stored, advance } = refresh();
    stored.requested();
    stored.close();
    stored.requested();
    await advance(AGAIN_MS * 2);
    expect(reads).toEqual([]);
  });
});
