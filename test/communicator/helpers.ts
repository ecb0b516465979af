/**
 * Shared by the communicator suites: runtimes on a simulated clock, agents
 * that record what they receive, and a way to let promise chains settle
 * without sleeping.
 */
import { SimulatedClock } from 'xstate';
import {
  type AgentOptions,
  createRuntime,
  defineAgent,
  type Runtime,
  type RuntimeOptions,
} from '../../src/index.js';
import type { AgentMessage } from '../../src/schemas/agent-message.js';

export const EPOCH = Date.UTC(2025, 0, 1);

export function simulatedClock(start = EPOCH): SimulatedClock {
  const clock = new SimulatedClock();
  clock.set(start);
  return clock;
}

/** Lets pending promise callbacks and `setImmediate` work (store batches) run. */
export async function settle(rounds = 3): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Moves a simulated clock forward, letting the runtime react after the jump. */
export async function advance(clock: SimulatedClock, ms: number): Promise<void> {
  await settle();
  clock.increment(ms);
  await settle();
}

/** An agent that keeps every message its `onMessage` hook got. */
export interface Listener {
  role: string;
  received: AgentMessage[];
}

export function listener(
  role: string,
  options: Partial<AgentOptions> = {},
): Listener & { agent: ReturnType<typeof defineAgent> } {
  const received: AgentMessage[] = [];
  const agent = defineAgent({
    role,
    concurrency: 10,
    run: () => null,
    ...options,
    onMessage: (message, ctx) => {
      received.push(message);
      return options.onMessage?.(message, ctx);
    },
  });
  return { role, received, agent };
}

/** An in-memory runtime on a simulated clock with the given agents. */
export async function memoryRuntime(
  agents: RuntimeOptions['agents'] = [],
  options: RuntimeOptions = {},
): Promise<{ rt: Runtime; clock: SimulatedClock }> {
  const clock = simulatedClock();
  const rt = await createRuntime({ dataDir: false, clock, agents, ...options });
  return { rt, clock };
}
