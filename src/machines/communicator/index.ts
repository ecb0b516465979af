export {
  type CommunicatorActorRef,
  type CommunicatorMachine,
  createCommunicatorMachine,
} from './communicator.machine.js';
export { recipientRole } from './effects.js';
export {
  COMMUNICATOR_SYSTEM_ID,
  type CommunicatorEmitted,
  type CommunicatorEvent,
  type Failure,
  type MessageDelivery,
  type OpResult,
} from './events.js';
export { inboxOf, recentMessages, scopeOf } from './mailbox.js';
export { applyUpdate, emptySlot, fromRecord, handoffKey, toRecord } from './shared-context.js';
export {
  type CommunicatorContext,
  type CommunicatorRecord,
  type CommunicatorSettings,
  type ContextChange,
  DEFAULT_COMMUNICATOR_SETTINGS,
  type LockLease,
  type SharedContext,
  type StoredMessage,
  type WorkflowSlot,
} from './types.js';
