import { randomUUID } from 'node:crypto';
import type { InspectionEvent } from 'xstate';
import type { AgentDefinition } from '../actors/agents/define-agent.js';
import { heuristicPlanner } from '../actors/planners/heuristic-planner.js';
import type { Planner } from '../actors/planners/planner.js';
import { type Clock, systemClock } from './clock.js';

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /**
   * Folder of the LevelDB store, created if missing; `false` keeps everything
   * in memory (nothing survives the process).
   * @default '.troupe' in the working directory
   */
  dataDir?: string | false;
  /** Agents to register at once (more can be added with `registerAgent`). @default [] */
  agents?: readonly AgentDefinition[];
  /** Decomposes task descriptions into workflows. @default the heuristic planner */
  planner?: Planner;
  /** Source of time for timestamps, timeouts and retry backoff. @default the system clock */
  clock?: Clock;
  /** Makes workflow and request ids. @default `wf-` + a random UUID */
  createId?: (kind: 'workflow' | 'plan') => string;
  /** Receives every XState inspection event of the whole actor system. @default none */
  inspect?: (event: InspectionEvent) => void;
  /**
   * Receives errors that must not stop the runtime: a throwing event handler,
   * a failed store write of a finished run.
   * @default logs to stderr
   */
  onError?: (error: unknown, context: string) => void;
}

/** Options with every default applied, once. */
export interface ResolvedRuntimeOptions {
  dataDir: string | false;
  agents: readonly AgentDefinition[];
  planner: Planner;
  clock: Clock;
  createId: (kind: 'workflow' | 'plan') => string;
  inspect: ((event: InspectionEvent) => void) | undefined;
  onError: (error: unknown, context: string) => void;
}

export function resolveRuntimeOptions(options: RuntimeOptions): ResolvedRuntimeOptions {
  return {
    dataDir: options.dataDir ?? '.troupe',
    agents: options.agents ?? [],
    planner: options.planner ?? heuristicPlanner,
    clock: options.clock ?? systemClock,
    createId:
      options.createId ?? ((kind) => `${kind === 'workflow' ? 'wf' : 'plan'}-${randomUUID()}`),
    inspect: options.inspect,
    onError:
      options.onError ??
      ((error, context) => {
        const message = error instanceof Error ? error.message : String(error);
        process.stderr.write(`troupe: ${context}: ${message}\n`);
      }),
  };
}
