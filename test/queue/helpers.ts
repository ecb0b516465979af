/**
 * Shared by the queue tests: a simulated clock that starts at a realistic
 * epoch, and ways to let the queue's promise chains settle without sleeping.
 */
import { afterEach } from 'vitest';
import { SimulatedClock } from 'xstate';
import { TaskQueue } from '../../src/runtime/queue/task-queue.js';
import type { TaskQueueOptions } from '../../src/runtime/queue/task-queue-options.js';

export const EPOCH = Date.UTC(2025, 0, 1);

export function simulatedClock(): SimulatedClock {
  const clock = new SimulatedClock();
  clock.set(EPOCH);
  return clock;
}

/** Runs every pending microtask and the promise chains they start. */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Moves the simulated clock forward in steps, letting handlers react after
 * each one. Time moves only once the queue is quiet, as it would in reality:
 * a timer armed by a pending event must be armed before the clock jumps.
 */
export async function advance(clock: SimulatedClock, ms: number, stepMs = 1): Promise<void> {
  await settle();
  for (let done = 0; done < ms; done += stepMs) {
    clock.increment(Math.min(stepMs, ms - done));
    await settle();
  }
}

/** A queue on a simulated clock. */
export function simulatedQueue(options: TaskQueueOptions = {}): {
  queue: TaskQueue;
  clock: SimulatedClock;
} {
  const clock = simulatedClock();
  return { queue: new TaskQueue({ clock, ...options }), clock };
}

/**
 * For a test file: makes queues on a simulated clock and stops every one of
 * them after each test. Call at the top level of the file.
 */
export function useSimulatedQueues(): (options?: TaskQueueOptions) => {
  queue: TaskQueue;
  clock: SimulatedClock;
} {
  const queues: TaskQueue[] = [];
  afterEach(async () => {
    await Promise.all(queues.splice(0).map((queue) => queue.stop({ graceful: false })));
  });
  return (options = {}) => {
    const made = simulatedQueue(options);
    queues.push(made.queue);
    return made;
  };
}

/** A promise plus its resolve function, for handlers the test releases explicitly. */
export function gate<T = void>(): { promise: Promise<T>; open: (value: T) => void } {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => {
    open = resolve;
  });
  return { promise, open };
}
