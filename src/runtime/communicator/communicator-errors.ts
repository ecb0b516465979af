/**
 * Turns the communicator machine's failures (plain data) into the errors
 * callers get: a code to switch on, the facts in `context`, and a message
 * that names the API, the entity and what to do about it.
 */
import { TroupeError } from '../../errors.js';
import type { Failure } from '../../machines/communicator/index.js';

export function failureError(failure: Failure): TroupeError {
  switch (failure.reason) {
    case 'unknown_recipient':
      return new TroupeError(
        'UNKNOWN_RECIPIENT',
        `Unknown recipient "${failure.to}": no agent with that role is registered (registered: ${list(failure.known)}). Register it with rt.registerAgent() or fix the message's "to".`,
        { agent: failure.to, known: failure.known },
      );
    case 'no_recipients': {
      const target = failure.groups ? `role group ${list(failure.groups)}` : 'any agent';
      return new TroupeError(
        'UNKNOWN_RECIPIENT',
        `broadcast from "${failure.from}" has no recipient: no agent in ${target} besides the sender (registered: ${list(failure.known)}).`,
        { agent: failure.from, groups: failure.groups, known: failure.known },
      );
    }
    case 'duplicate_request':
      return new TroupeError(
        'INVALID_MESSAGE',
        `request: a request with correlationId "${failure.correlationId}" is already waiting for its response; give each request its own id.`,
        {
          correlationId: failure.correlationId,
          issues: ['message.correlationId: already pending'],
        },
      );
    case 'request_timeout':
      return new TroupeError(
        'REQUEST_TIMEOUT',
        `Request "${failure.requestId}" to agent "${failure.to}" got no response within ${failure.timeoutMs} ms. Check that "${failure.to}" answers requests in its onMessage hook, or raise the timeout.`,
        { agent: failure.to, requestId: failure.requestId, timeoutMs: failure.timeoutMs },
      );
    case 'request_failed': {
      const payload = failure.response.payload as { message?: unknown } | null;
      const reason =
        payload && typeof payload === 'object' && typeof payload.message === 'string'
          ? payload.message
          : JSON.stringify(failure.response.payload);
      return new TroupeError(
        'REQUEST_FAILED',
        `Request "${failure.requestId}" to agent "${failure.to}" failed: ${reason}`,
        { agent: failure.to, requestId: failure.requestId, response: failure.response },
      );
    }
    case 'version_conflict':
      return new TroupeError(
        'VERSION_CONFLICT',
        `updateSharedContext("${failure.workflowId}"): expected version ${failure.expected}, but the shared context is at version ${failure.actual}: another writer got there first. Read it again and retry with expectedVersion ${failure.actual}.`,
        {
          workflowId: failure.workflowId,
          expectedVersion: failure.expected,
          actualVersion: failure.actual,
        },
      );
    case 'lock_not_held':
      return new TroupeError(
        'LOCK_NOT_HELD',
        `releaseLock("${failure.workflowId}", "${failure.key}"): "${failure.owner}" does not hold this lock; ${failure.holder === null ? 'it is free' : `"${failure.holder}" does`}. A lock whose lease ran out passes to the next waiter.`,
        {
          workflowId: failure.workflowId,
          key: failure.key,
          owner: failure.owner,
          holder: failure.holder,
        },
      );
    case 'lock_already_held':
      return new TroupeError(
        'LOCK_ALREADY_HELD',
        `acquireLock("${failure.workflowId}", "${failure.key}"): "${failure.owner}" already holds this lock. Locks are not reentrant: release it first, or take it once around the whole section.`,
        {
          workflowId: failure.workflowId,
          key: failure.key,
          owner: failure.owner,
          expiresAt: failure.expiresAt,
        },
      );
    case 'lock_timeout':
      return new TroupeError(
        'LOCK_TIMEOUT',
        `acquireLock("${failure.workflowId}", "${failure.key}"): "${failure.owner}" gave up after ${failure.waitedMs} ms; the lock is held by "${failure.holder ?? 'nobody'}". Raise the timeout, or shorten what the holder does under the lock.`,
        {
          workflowId: failure.workflowId,
          key: failure.key,
          owner: failure.owner,
          holder: failure.holder,
        },
      );
  }
}

export function closedError(api: string): TroupeError {
  return new TroupeError('RUNTIME_CLOSED', `communicator.${api}: the runtime is closed.`);
}

function list(items: readonly string[]): string {
  return items.length === 0 ? 'none' : items.map((item) => `"${item}"`).join(', ');
}
