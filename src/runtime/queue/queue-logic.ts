/**
 * Wiring of the queue machine to its behaviours: the job runner (handlers,
 * clock) and the persister (store). This is the seam for embedding the queue
 * in a bigger actor system:
 *
 * ```ts
 * const deps = createQueueDeps({ maxWorkers: 4, store, clock });
 * const root = setup({ actors: { queue: createQueueLogic(deps) } }).createMachine({
 *   entry: spawnChild('queue', { id: 'queue', systemId: 'queue', input: queueInput(deps) }),
 * });
 * const actor = createActor(root, { clock: deps.clock }).start();
 * const queue = TaskQueue.fromActor(actor.system.get('queue'), deps);
 * ```
 *
 * A persisted snapshot of the root restores the queue with its jobs: the
 * restarted runner child sends `queue.recover`, which re-queues the jobs that
 * were running, re-arms the timers (XState does not persist delayed events)
 * and leaves the queue `stopped`. Register the handlers, then `queue.start()`
 * (which, with a store, also loads the stored jobs the snapshot did not hold).
 */
import type { ActorRefFrom } from 'xstate';
import { JobHandlerRegistry } from '../../actors/queue/job-handlers.js';
import { createJobPersister, JobWriteBuffer } from '../../actors/queue/job-persister.js';
import { createJobRunner } from '../../actors/queue/job-runner.js';
import { queueMachine } from '../../machines/queue/queue-machine.js';
import type { QueueSettings } from '../../machines/queue/queue-types.js';
import { checkValue } from '../../schemas/value-check.js';
import { jobValueCheck } from './job-builder.js';
import {
  type ResolvedTaskQueueOptions,
  resolveTaskQueueOptions,
  type TaskQueueOptions,
  toQueueSettings,
} from './task-queue-options.js';

/** Everything a queue actor and its {@link TaskQueue} facade share. */
export interface QueueDeps {
  options: ResolvedTaskQueueOptions;
  handlers: JobHandlerRegistry;
  writes: JobWriteBuffer;
}

/**
 * Validates the options (defaults applied once) and creates the shared parts.
 * @throws TroupeError `CONFIG_ERROR` for bad options.
 */
export function createQueueDeps(options: TaskQueueOptions = {}): QueueDeps {
  const resolved = resolveTaskQueueOptions(options);
  return {
    options: resolved,
    handlers: new JobHandlerRegistry(),
    writes: new JobWriteBuffer(resolved.store),
  };
}

/** The queue machine with its runner and persister provided. */
export function createQueueLogic(deps: QueueDeps) {
  return queueMachine.provide({
    actors: {
      runner: createJobRunner({
        handlers: deps.handlers,
        clock: deps.options.clock,
        checkResult: (jobId, result) =>
          checkValue(
            result,
            jobValueCheck(
              () => `Job ${JSON.stringify(jobId)} returned a result that cannot be stored`,
              jobId,
              'result',
              deps.options.maxJobBytes,
            ),
          ),
      }),
      persister: createJobPersister(deps.writes),
    },
  });
}

/** The machine input for these deps. */
export function queueInput(deps: QueueDeps): QueueSettings {
  return toQueueSettings(deps.options);
}

export type QueueLogic = ReturnType<typeof createQueueLogic>;
/** A reference to a queue actor spawned from `createQueueLogic`, for `TaskQueue.fromActor`. */
export type QueueActorRef = ActorRefFrom<QueueLogic>;
