/**
 * Shared helpers of the runtime core suites: deferreds to hold agents where a
 * test wants them, a flush of pending promise work (for the simulated clock:
 * everything then runs in microtasks), and small agent builders.
 */
import { expect } from 'vitest';
import {
  type AgentDefinition,
  type AgentRun,
  defineAgent,
  SPECIALIST_ROLES,
  specialist,
  TroupeError,
  type TroupeErrorCode,
} from '../../src/index.js';

export interface Deferred<T = void> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
  settled: boolean;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  const d: Deferred<T> = {
    promise,
    settled: false,
    resolve: (value) => {
      d.settled = true;
      resolve(value);
    },
    reject: (error) => {
      d.settled = true;
      reject(error);
    },
  };
  return d;
}

/**
 * Lets every pending promise callback run. A macrotask boundary drains the
 * microtask queue, so with a simulated clock (no real timers anywhere) the
 * runtime is quiescent afterwards. Not a sleep: it waits for no duration.
 */
export async function flush(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** An agent with the given role and `run`; concurrency defaults high so tests choose the limit. */
export function agent(
  role: string,
  run: AgentRun,
  options: { concurrency?: number; expertise?: string[] } = {},
): AgentDefinition {
  return defineAgent({ role, run, ...options, concurrency: options.concurrency ?? 100 });
}

/** The eight specialist presets, each returning `{ role, task }`. */
export function specialists(): AgentDefinition[] {
  return SPECIALIST_ROLES.map((role) => specialist(role, (task) => ({ role, task: task.id })));
}

/** Asserts that `action` throws or rejects with a TroupeError of `code`; returns it. */
export async function expectTroupeError(
  action: () => unknown,
  code: TroupeErrorCode,
): Promise<TroupeError> {
  let caught: unknown;
  try {
    await action();
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a TroupeError ${code}`).toBeInstanceOf(TroupeError);
  const error = caught as TroupeError;
  expect(error.code, error.message).toBe(code);
  return error;
}

/** Records `start:<id>` and `end:<id>` in call order. */
export class Timeline {
  readonly entries: string[] = [];
  start(id: string): void {
    this.entries.push(`start:${id}`);
  }
  end(id: string): void {
    this.entries.push(`end:${id}`);
  }
}

/**
 * Named gates an agent waits at. `wait(key)` marks `key` as arrived and
 * returns a promise that settles when the test calls `open(key)` (or
 * `fail(key)`); `arrived(key)` resolves once an agent is waiting at `key`.
 */
export class Gates {
  private readonly gates = new Map<string, Deferred<unknown>>();
  private readonly arrivals = new Map<string, Deferred>();
  /** Keys in the order agents arrived at them. */
  readonly order: string[] = [];

  wait(key: string): Promise<unknown> {
    this.order.push(key);
    this.arrival(key).resolve();
    return this.gate(key).promise;
  }

  arrived(...keys: string[]): Promise<void> {
    return Promise.all(keys.map((key) => this.arrival(key).promise)).then(() => undefined);
  }

  has(key: string): boolean {
    return this.arrival(key).settled;
  }

  open(key: string, value?: unknown): void {
    this.gate(key).resolve(value);
  }

  fail(key: string, error: unknown): void {
    this.gate(key).reject(error);
  }

  private gate(key: string): Deferred<unknown> {
    let gate = this.gates.get(key);
    if (!gate) {
      gate = deferred<unknown>();
      // A gate failed before anyone waits must not be an unhandled rejection.
      gate.promise.catch(() => undefined);
      this.gates.set(key, gate);
    }
    return gate;
  }

  private arrival(key: string): Deferred {
    let arrival = this.arrivals.get(key);
    if (!arrival) {
      arrival = deferred();
      this.arrivals.set(key, arrival);
    }
    return arrival;
  }
}
