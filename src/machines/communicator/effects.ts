/**
 * The seam between the communicator's pure rules and XState. Rules report
 * what should happen to an {@link Outbox}; at the end of the transition the
 * machine's action turns it into `enqueue` calls, grouped: one emitted event
 * per kind and one delivery event per recipient, however many messages the
 * transition handled. XState's cost is per event and per action, so grouping
 * is what lets a batch of messages cost little more than one.
 */
import type { AnyActorRef } from 'xstate';
import type { AgentMessage } from '../../schemas/agent-message.js';
import type {
  CommunicatorEmitted,
  CommunicatorTimerEvent,
  Failure,
  MessageDelivery,
  OpResult,
} from './events.js';
import type { StoredMessage } from './types.js';

/** What the machine knows about agents: it reads the actor system's registry, nothing else. */
export interface AgentDirectory {
  has(role: string): boolean;
  /** Roles of every registered agent. */
  roles(): string[];
}

/** The part of XState's `enqueue` object the outbox uses. */
export interface OutboxEnqueue {
  sendTo(to: AnyActorRef, event: MessageDelivery): void;
  raise(event: CommunicatorTimerEvent, options: { id: string; delay: number }): void;
  cancel(id: string): void;
  emit(event: CommunicatorEmitted): void;
}

type Notice = Extract<CommunicatorEmitted, { type: 'lock.expired' | 'scope.unloaded' }>;
type Timer =
  | { arm: true; id: string; event: CommunicatorTimerEvent; delay: number }
  | { arm: false; id: string };

/** Effects of one transition, carried out together by {@link Outbox.flush}. */
export class Outbox {
  readonly #sent: number[] = [];
  readonly #done: { op: number; result: OpResult }[] = [];
  readonly #failed: { op: number; failure: Failure }[] = [];
  readonly #recorded: StoredMessage[] = [];
  readonly #changed = new Set<string>();
  readonly #deliveries = new Map<string, AgentMessage[]>();
  readonly #notices: Notice[] = [];
  readonly #timers: Timer[] = [];

  /** A direct message op went through; its caller already holds the message. */
  sent(op: number): void {
    this.#sent.push(op);
  }

  done(op: number, result: OpResult): void {
    this.#done.push({ op, result });
  }

  failed(op: number, failure: Failure): void {
    this.#failed.push({ op, failure });
  }

  /** A message to store. */
  recorded(stored: StoredMessage): void {
    this.#recorded.push(stored);
  }

  /** A workflow whose shared context or lock table must be stored again. */
  changed(workflowId: string): void {
    this.#changed.add(workflowId);
  }

  /** Queues `message` for the actor `agent:<role>`; one delivery event per agent per transition. */
  deliver(role: string, message: AgentMessage): void {
    const queued = this.#deliveries.get(role);
    if (queued) queued.push(message);
    else this.#deliveries.set(role, [message]);
  }

  notice(notice: Notice): void {
    this.#notices.push(notice);
  }

  /** Raises `event` after `delayMs`, replacing a timer armed under `id`. */
  arm(id: string, event: CommunicatorTimerEvent, delayMs: number): void {
    this.#timers.push({ arm: true, id, event, delay: delayMs });
  }

  cancel(id: string): void {
    this.#timers.push({ arm: false, id });
  }

  /** Carries everything out, in this order: timers, state notices, deliveries, results. */
  flush(enqueue: OutboxEnqueue, agentRef: (role: string) => AnyActorRef | undefined): void {
    for (const timer of this.#timers) {
      // Scheduling under an id in use does not clear the old timer: cancel first.
      enqueue.cancel(timer.id);
      if (timer.arm) enqueue.raise(timer.event, { id: timer.id, delay: timer.delay });
    }
    if (this.#recorded.length > 0) {
      enqueue.emit({ type: 'messages.recorded', stored: this.#recorded });
    }
    if (this.#changed.size > 0) {
      enqueue.emit({ type: 'workflows.changed', workflowIds: [...this.#changed] });
    }
    for (const notice of this.#notices) enqueue.emit(notice);
    // Recipients were checked in this same transition, so every ref exists.
    for (const [role, messages] of this.#deliveries) {
      const agent = agentRef(role);
      if (agent) enqueue.sendTo(agent, { type: 'message.deliver', messages });
    }
    if (this.#sent.length > 0 || this.#done.length > 0 || this.#failed.length > 0) {
      enqueue.emit({
        type: 'ops.settled',
        sent: this.#sent,
        done: this.#done,
        failed: this.#failed,
      });
    }
  }
}

const AGENT_ID_PREFIX = 'agent:';

/** The role a recipient names: `backend` and `agent:backend` both mean the agent `backend`. */
export function recipientRole(to: string): string {
  return to.startsWith(AGENT_ID_PREFIX) ? to.slice(AGENT_ID_PREFIX.length) : to;
}
