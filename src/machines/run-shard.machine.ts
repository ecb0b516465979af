import { enqueueActions, sendParent, setup } from 'xstate';
import type { SerializedError } from '../errors.js';
import { serializeError } from '../errors.js';
import type { WorkflowResult } from '../schemas/workflow-result.js';
import { workflowSystemId } from './protocol.js';
import type { WorkflowInput } from './workflow/context.js';
import type { WorkflowMachine } from './workflow/workflow.machine.js';

/**
 * How many shards hold the live runs. XState copies a parent's table of
 * children on every spawn and every stop, so a parent of n runs pays O(n) per
 * run started or ended: 10,000 live runs under one parent made starting them
 * quadratic. Under 64 shards a spawn copies 1/64th of that.
 */
export const RUN_SHARDS = 64;

/** Id (child id under the root, and system id) of the shard that holds a run. */
export function runShardId(workflowId: string): string {
  // FNV-1a: cheap, and spreads ids that differ only in a counter.
  let hash = 0x811c9dc5;
  for (let i = 0; i < workflowId.length; i++) {
    hash ^= workflowId.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return `runs:${(hash >>> 0) % RUN_SHARDS}`;
}

export type RunShardEvent =
  | { type: 'workflow.create'; input: WorkflowInput }
  | { type: 'workflow.halt'; workflowId: string }
  | { type: `xstate.done.actor.${string}`; actorId: string; output: WorkflowResult }
  | { type: `xstate.error.actor.${string}`; actorId: string; error: unknown };

/** What a shard tells the root when one of its runs ends; the root emits it to the runtime. */
export type RunShardReport =
  | { type: 'run.ended'; workflowId: string; result: WorkflowResult }
  | { type: 'run.crashed'; workflowId: string; error: SerializedError };

const WORKFLOW_PREFIX = workflowSystemId('');

/**
 * A parent for a share of the live workflow runs (see {@link RUN_SHARDS}).
 * Each run keeps its global system id (`workflow:<id>`), so everything that
 * finds a run through the system (agents replying, the engine) is unchanged.
 * A finished run is stopped at once and reported to the root.
 */
export function createRunShardMachine(workflow: WorkflowMachine) {
  return setup({
    types: { events: {} as RunShardEvent },
    actors: { workflow } as { workflow: WorkflowMachine },
  }).createMachine({
    id: 'runShard',
    on: {
      'workflow.create': {
        actions: enqueueActions(({ event, enqueue }) => {
          const id = workflowSystemId(event.input.workflowId);
          enqueue.spawnChild('workflow', { id, systemId: id, input: event.input });
        }),
      },
      'workflow.halt': {
        actions: enqueueActions(({ event, enqueue }) =>
          enqueue.stopChild(workflowSystemId(event.workflowId)),
        ),
      },
      'xstate.done.actor.*': {
        actions: enqueueActions(({ event, enqueue }) => {
          const { actorId, output } = event;
          if (!actorId.startsWith(WORKFLOW_PREFIX)) return;
          enqueue.stopChild(actorId);
          enqueue(
            sendParent({
              type: 'run.ended',
              workflowId: output.workflowId,
              result: output,
            } satisfies RunShardReport),
          );
        }),
      },
      'xstate.error.actor.*': {
        actions: enqueueActions(({ event, enqueue }) => {
          const { actorId, error } = event;
          if (!actorId.startsWith(WORKFLOW_PREFIX)) return;
          enqueue.stopChild(actorId);
          enqueue(
            sendParent({
              type: 'run.crashed',
              workflowId: actorId.slice(WORKFLOW_PREFIX.length),
              error: serializeError(error),
            } satisfies RunShardReport),
          );
        }),
      },
    },
  });
}

export type RunShardMachine = ReturnType<typeof createRunShardMachine>;
