import { type ActorRefFrom, type AnyActorRef, enqueueActions, setup } from 'xstate';
import { dict, dictFrom } from '../../schemas/dict.js';
import { agentSystemId } from '../protocol.js';
import { type AgentDirectory, Outbox, type OutboxEnqueue } from './effects.js';
import type { CommunicatorEmitted, CommunicatorEvent } from './events.js';
import { acquireLock, expireLock, giveUp, rearmLocks, releaseLock } from './locks.js';
import { ensureMailbox } from './mailbox.js';
import {
  broadcast,
  expireRequest,
  handOff,
  receive,
  sendDirect,
  sendRequest,
} from './messaging.js';
import { applyUpdate, ensureSlot, fromRecord } from './shared-context.js';
import {
  type CommunicatorContext,
  type CommunicatorSettings,
  DEFAULT_COMMUNICATOR_SETTINGS,
} from './types.js';

interface SystemView {
  get(systemId: string): AnyActorRef | undefined;
  getAll(): Partial<Record<string, AnyActorRef>>;
}

const AGENT_PREFIX = agentSystemId('');

/** Runs one transition's rules against an outbox, then carries the outbox out. */
function step(
  enqueue: OutboxEnqueue,
  system: SystemView,
  rules: (out: Outbox, agents: AgentDirectory) => void,
): void {
  const out = new Outbox();
  rules(out, directory(system));
  out.flush(enqueue, (role) => system.get(agentSystemId(role)));
}

/** Agents are the system's `agent:<role>` actors; the machine keeps no list of its own to go stale. */
function directory(system: SystemView): AgentDirectory {
  return {
    has: (role) => system.get(agentSystemId(role)) !== undefined,
    roles: () =>
      Object.keys(system.getAll())
        .filter((id) => id.startsWith(AGENT_PREFIX))
        .map((id) => id.slice(AGENT_PREFIX.length)),
  };
}

/**
 * The communicator: messages between agents, request-response, per-workflow
 * shared contexts with versions and history, locks with leases, and a
 * bounded message history. One actor (system id `communicator`) owns all of
 * it, so every operation is serialised and none can interleave with another:
 * the version check of an update and its write are one step, and so are a
 * release and the grant to the next waiter.
 *
 * Pure: no I/O and no clock. Time arrives on events (`now`); timers are
 * delayed events computed from deadlines kept in context, re-armed by
 * `communicator.recover` after a snapshot restore and by `scope.load` for
 * state read from the store. Persistence is the facade's job: the machine
 * emits `messages.recorded` and `workflows.changed`, and the facade writes them
 * in batches (see `src/runtime/communicator/communicator-store.ts`).
 *
 * One state, `open`: the communicator's behaviour has no modes; what varies
 * is the data in its tables.
 */
export function createCommunicatorMachine(settings: Partial<CommunicatorSettings> = {}) {
  const resolved: CommunicatorSettings = { ...DEFAULT_COMMUNICATOR_SETTINGS, ...settings };
  return setup({
    types: {
      context: {} as CommunicatorContext,
      events: {} as CommunicatorEvent,
      emitted: {} as CommunicatorEmitted,
    },
    actions: {
      load: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'scope.load') return;
        step(enqueue, system, (out) => {
          const box = ensureMailbox(context, event.scope);
          // Memory may be ahead of the store (an op that arrived first); keep the newer.
          box.seq = Math.max(box.seq, event.lastSeq);
          if (box.recent.length === 0) box.recent = event.messages;
          if (event.record && !context.workflows[event.scope]) {
            const slot = fromRecord(event.record);
            context.workflows[event.scope] = slot;
            rearmLocks(slot, event.scope, event.now, false, context.stats, out);
          }
        });
      }),
      unload: enqueueActions(({ context, event, enqueue }) => {
        if (event.type !== 'scope.unload') return;
        const slot = context.workflows[event.scope];
        // Held locks need their lease timers; everything else is in the store.
        if (slot && Object.keys(slot.locks).length > 0) return;
        delete context.workflows[event.scope];
        delete context.mailboxes[event.scope];
        enqueue.emit({ type: 'scope.unloaded', scope: event.scope });
      }),
      send: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'messages.send') return;
        step(enqueue, system, (out, agents) => {
          for (const { op, message } of event.batch) sendDirect(context, op, message, agents, out);
        });
      }),
      broadcast: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'message.broadcast') return;
        step(enqueue, system, (out, agents) =>
          broadcast(context, event.op, event.message, event.groups, agents, out),
        );
      }),
      receive: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'message.receive') return;
        step(enqueue, system, (out, agents) =>
          receive(context, event.op, event.message, event.roles, agents, out),
        );
      }),
      request: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'request.send') return;
        const { op, message, timeoutMs, now } = event;
        step(enqueue, system, (out, agents) =>
          sendRequest(context, op, message, timeoutMs, now, agents, out),
        );
      }),
      expireRequest: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'request.expire') return;
        step(enqueue, system, (out) => expireRequest(context, event.correlationId, out));
      }),
      handoff: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'handoff.send') return;
        step(enqueue, system, (out, agents) =>
          handOff(context, event.op, event.message, event.now, agents, out),
        );
      }),
      update: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'context.update') return;
        const { op, workflowId, expectedVersion } = event;
        step(enqueue, system, (out) => {
          const slot = ensureSlot(context, workflowId);
          const actual = slot.shared.version;
          if (expectedVersion !== null && expectedVersion !== actual) {
            context.stats.conflicts++;
            const failure = { reason: 'version_conflict' as const, workflowId, actual };
            out.failed(op, { ...failure, expected: expectedVersion });
            return;
          }
          const limit = context.settings.contextHistoryLimit;
          const version = applyUpdate(slot, event.role, event.updates, event.now, limit);
          context.stats.updates++;
          out.changed(workflowId);
          out.done(op, { kind: 'context', workflowId, version });
        });
      }),
      acquire: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'lock.acquire') return;
        const slot = ensureSlot(context, event.workflowId);
        step(enqueue, system, (out) => acquireLock(slot, event, context.stats, out));
      }),
      release: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'lock.release') return;
        const slot = ensureSlot(context, event.workflowId);
        step(enqueue, system, (out) => releaseLock(slot, event, context.stats, out));
      }),
      expireLock: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'lock.expire') return;
        const slot = context.workflows[event.workflowId];
        if (!slot) return;
        const { workflowId, key, expiresAt } = event;
        step(enqueue, system, (out) =>
          expireLock(slot, workflowId, key, expiresAt, context.stats, out),
        );
      }),
      giveUp: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'lock.giveUp') return;
        const slot = context.workflows[event.workflowId];
        if (!slot) return;
        step(enqueue, system, (out) =>
          giveUp(slot, event.workflowId, event.key, event.op, event.now, out),
        );
      }),
      /**
       * After a restore no timer survived and no caller did either: pending
       * requests and lock waiters are dropped, leases are re-armed (or expire
       * at once if their deadline passed while nothing ran).
       */
      recover: enqueueActions(({ context, event, enqueue, system }) => {
        if (event.type !== 'communicator.recover') return;
        // A restored snapshot went through JSON: its tables have prototypes again.
        context.requests = dict();
        context.workflows = dictFrom(context.workflows, fromRecord);
        context.mailboxes = dictFrom(context.mailboxes, (box) => box);
        step(enqueue, system, (out) => {
          for (const workflowId of Object.keys(context.workflows)) {
            const slot = context.workflows[workflowId]!;
            rearmLocks(slot, workflowId, event.now, true, context.stats, out);
          }
        });
      }),
    },
  }).createMachine({
    id: 'communicator',
    context: () => ({
      settings: resolved,
      workflows: dict(),
      mailboxes: dict(),
      requests: dict(),
      stats: {
        messages: 0,
        deliveries: 0,
        updates: 0,
        conflicts: 0,
        lockGrants: 0,
        lockExpiries: 0,
      },
    }),
    initial: 'open',
    states: {
      open: {
        on: {
          'scope.load': { actions: 'load' },
          'scope.unload': { actions: 'unload' },
          'messages.send': { actions: 'send' },
          'message.broadcast': { actions: 'broadcast' },
          'message.receive': { actions: 'receive' },
          'request.send': { actions: 'request' },
          'request.expire': { actions: 'expireRequest' },
          'handoff.send': { actions: 'handoff' },
          'context.update': { actions: 'update' },
          'lock.acquire': { actions: 'acquire' },
          'lock.release': { actions: 'release' },
          'lock.expire': { actions: 'expireLock' },
          'lock.giveUp': { actions: 'giveUp' },
          'communicator.recover': { actions: 'recover' },
        },
      },
    },
  });
}

export type CommunicatorMachine = ReturnType<typeof createCommunicatorMachine>;
export type CommunicatorActorRef = ActorRefFrom<CommunicatorMachine>;
