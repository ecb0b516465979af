import { enqueueActions, fromPromise, setup } from 'xstate';
import type { PlanRequest } from '../../actors/planners/planner.js';
import type { SerializedError } from '../../errors.js';
import { serializeError } from '../../errors.js';
import type { WorkflowDefinitionInput } from '../../schemas/workflow-definition.js';

export type OrchestratorEvent =
  | { type: 'plan.request'; requestId: string; request: PlanRequest }
  /** Stops a request's planner (its AbortSignal fires); the caller has already settled it. */
  | { type: 'plan.cancel'; requestId: string }
  | { type: `xstate.done.actor.${string}`; actorId: string; output: WorkflowDefinitionInput }
  | { type: `xstate.error.actor.${string}`; actorId: string; error: unknown };

export type OrchestratorEmitted =
  | { type: 'plan.ready'; requestId: string; definition: WorkflowDefinitionInput }
  | { type: 'plan.failed'; requestId: string; error: SerializedError };

/** Replaced by the runtime with the configured planner (see `provide`). */
const plannerPlaceholder = fromPromise<WorkflowDefinitionInput, PlanRequest>(async () => {
  throw new Error('planner not provided');
});

/**
 * The orchestrator: turns task descriptions into workflow definitions through
 * the planner, one planning child per request, so several requests can plan
 * at once. `planning` while any request is open, `idle` otherwise.
 */
export const orchestratorMachine = setup({
  types: {
    context: {} as { open: number; planned: number; failed: number },
    events: {} as OrchestratorEvent,
    emitted: {} as OrchestratorEmitted,
  },
  actors: { planner: plannerPlaceholder },
  guards: {
    hasOpen: ({ context }) => context.open > 0,
    noneOpen: ({ context }) => context.open === 0,
  },
  actions: {
    startPlanning: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'plan.request') return;
      context.open++;
      enqueue.spawnChild('planner', { id: event.requestId, input: event.request });
    }),
  },
}).createMachine({
  id: 'orchestrator',
  context: { open: 0, planned: 0, failed: 0 },
  on: {
    'plan.request': { actions: 'startPlanning' },
    'plan.cancel': {
      actions: enqueueActions(({ context, event, enqueue, self }) => {
        if (!self.getSnapshot().children[event.requestId]) return;
        context.open--;
        context.failed++;
        enqueue.stopChild(event.requestId);
      }),
    },
    'xstate.done.actor.*': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const { actorId, output } = event;
        context.open--;
        context.planned++;
        enqueue.stopChild(actorId);
        enqueue.emit({ type: 'plan.ready', requestId: actorId, definition: output });
      }),
    },
    'xstate.error.actor.*': {
      actions: enqueueActions(({ context, event, enqueue }) => {
        const { actorId, error } = event;
        context.open--;
        context.failed++;
        enqueue.stopChild(actorId);
        enqueue.emit({ type: 'plan.failed', requestId: actorId, error: serializeError(error) });
      }),
    },
  },
  initial: 'idle',
  states: {
    idle: { always: { guard: 'hasOpen', target: 'planning' } },
    planning: { always: { guard: 'noneOpen', target: 'idle' } },
  },
});
