import { describe, expect, it } from 'vitest';
import {
  applySharedUpdates,
  releaseSharedView,
  sharedViewOf,
} from '../../src/machines/workflow/shared-versions.js';

describe('shared context updated in place, seen by each task as at its dispatch', () => {
  it('rebuilds the view of a task still in flight after later updates and new keys', () => {
    const shared: Record<string, unknown> = { a: 1 };
    const first = sharedViewOf(shared, 'first');
    applySharedUpdates(shared, { a: 2, b: 1 });
    const second = sharedViewOf(shared, 'second');
    applySharedUpdates(shared, JSON.parse('{"b":2,"__proto__":"x"}'));
    expect(first()).toEqual({ a: 1 });
    expect(second()).toEqual({ a: 2, b: 1 });
    expect(shared.b).toBe(2);
    expect(Object.hasOwn(shared, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(shared)).toBe(Object.prototype);
  });

  it('keeps a view exact while the log is trimmed for thousands of updates of other tasks', () => {
    const shared: Record<string, unknown> = {};
    const slow = sharedViewOf(shared, 'slow');
    for (let i = 0; i < 5_000; i++) {
      const view = sharedViewOf(shared, `t${i}`);
      releaseSharedView(shared, `t${i}`);
      applySharedUpdates(shared, { [`k${i}`]: i });
      if (i === 10)
        expect(view()).toEqual(
          Object.fromEntries(Array.from({ length: 10 }, (_, j) => [`k${j}`, j])),
        );
    }
    expect(slow()).toEqual({});
    expect(Object.keys(shared)).toHaveLength(5_000);
  });

  it('logs nothing when no other task is in flight, as in a chain', () => {
    const shared: Record<string, unknown> = {};
    for (let i = 0; i < 1_000; i++) {
      const view = sharedViewOf(shared, `t${i}`);
      releaseSharedView(shared, `t${i}`);
      applySharedUpdates(shared, { [`k${i}`]: i });
      if (i === 999) expect(Object.keys(view())).toHaveLength(1_000);
    }
  });
});
