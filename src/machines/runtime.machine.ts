import { type AnyStateMachine, type CallbackActorLogic, enqueueActions, setup } from 'xstate';
import type { SerializedError } from '../errors.js';
import type { WorkflowResult } from '../schemas/workflow-result.js';
import type { AgentMachineInput, agentMachine } from './agent/agent.machine.js';
import type { CommunicatorMachine } from './communicator/communicator.machine.js';
import type { orchestratorMachine } from './orchestrator/orchestrator.machine.js';
import { agentSystemId, COMPENSATOR_SYSTEM_ID, type CompensationRequest } from './protocol.js';
import type { queueMachine } from './queue/queue-machine.js';
import type { QueueSettings } from './queue/queue-types.js';
import { type RunShardMachine, type RunShardReport, runShardId } from './run-shard.machine.js';

/** Runs compensation handlers; provided by the runtime (`src/actors/saga/compensator.ts`). */
export type CompensatorLogic = CallbackActorLogic<CompensationRequest>;

import type { WorkflowInput } from './workflow/context.js';

export type RuntimeEvent =
  | { type: 'agent.register'; input: AgentMachineInput }
  | { type: 'agent.unregister'; role: string }
  | { type: 'workflow.create'; input: WorkflowInput }
  /** Stops a run without ending it: its state stays as stored (fail-stop after a failed write). */
  | { type: 'workflow.halt'; workflowId: string }
  | RunShardReport;

export type RuntimeEmitted =
  | { type: 'workflow.ended'; workflowId: string; result: WorkflowResult }
  | { type: 'workflow.crashed'; workflowId: string; error: SerializedError };

/**
 * The root of the actor system. It owns the orchestrator, the saga
 * compensator (`compensator`), the communicator, the task queue (`queue`),
 * one actor per registered agent (`agent:<role>`) and the shards (`runs:<n>`,
 * made as runs need them) that hold one actor per live workflow run (`workflow:<id>`, see
 * run-shard.machine.ts), so one system holds the whole runtime and the
 * inspector sees all of it. Finished runs are stopped at once: children
 * accumulate cost in XState, and a finished run's result lives in its output.
 */
export function createRuntimeMachine(logic: {
  agent: typeof agentMachine;
  runShard: RunShardMachine;
  orchestrator: typeof orchestratorMachine;
  compensator: CompensatorLogic;
  communicator: CommunicatorMachine;
  queue: typeof queueMachine;
  queueInput: QueueSettings;
}) {
  return setup({
    types: {
      events: {} as RuntimeEvent,
      emitted: {} as RuntimeEmitted,
    },
    actors: {
      agent: logic.agent,
      runShard: logic.runShard,
      orchestrator: logic.orchestrator,
      compensator: logic.compensator,
      communicator: logic.communicator,
      queue: logic.queue,
    } as {
      agent: typeof agentMachine;
      runShard: RunShardMachine;
      orchestrator: typeof orchestratorMachine;
      compensator: CompensatorLogic;
      communicator: CommunicatorMachine;
      queue: typeof queueMachine;
    },
  }).createMachine({
    id: 'troupe',
    invoke: [
      { id: 'orchestrator', systemId: 'orchestrator', src: 'orchestrator' },
      { id: COMPENSATOR_SYSTEM_ID, systemId: COMPENSATOR_SYSTEM_ID, src: 'compensator' },
      { id: 'communicator', systemId: 'communicator', src: 'communicator' },
      { id: 'queue', systemId: 'queue', src: 'queue', input: logic.queueInput },
    ],
    on: {
      'agent.register': {
        actions: enqueueActions(({ event, enqueue }) => {
          const id = agentSystemId(event.input.role);
          enqueue.spawnChild('agent', { id, systemId: id, input: event.input });
        }),
      },
      'agent.unregister': {
        actions: enqueueActions(({ event, enqueue }) =>
          enqueue.stopChild(agentSystemId(event.role)),
        ),
      },
      'workflow.create': {
        actions: enqueueActions(({ event, enqueue, system }) => {
          const shard = runShardId(event.input.workflowId);
          // Shards are made as runs need them: a runtime with a few runs shows a few.
          if (!system.get(shard)) enqueue.spawnChild('runShard', { id: shard, systemId: shard });
          enqueue.sendTo(shard, event);
        }),
      },
      'workflow.halt': {
        actions: enqueueActions(({ event, enqueue, system }) => {
          const shard = runShardId(event.workflowId);
          if (system.get(shard)) enqueue.sendTo(shard, event);
        }),
      },
      'run.ended': {
        actions: enqueueActions(({ event, enqueue }) =>
          enqueue.emit({
            type: 'workflow.ended',
            workflowId: event.workflowId,
            result: event.result,
          }),
        ),
      },
      'run.crashed': {
        actions: enqueueActions(({ event, enqueue }) =>
          enqueue.emit({
            type: 'workflow.crashed',
            workflowId: event.workflowId,
            error: event.error,
          }),
        ),
      },
    },
  });
}

export type RuntimeMachine = ReturnType<typeof createRuntimeMachine> & AnyStateMachine;
