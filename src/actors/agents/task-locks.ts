/**
 * The communicator locks one task attempt holds (`ctx.lock`): taken for the
 * owner `<role>:<taskId>`, kept until the attempt ends, then released all at
 * once, so a task cannot forget one and a dead process's lease runs out.
 */
import { TroupeError } from '../../errors.js';
import type { TaskLockOptions } from './define-agent.js';
import type { AgentMessaging } from './message-delivery.js';

/** How long `ctx.lock` waits for a held lock when the caller does not say. */
export const DEFAULT_TASK_LOCK_WAIT_MS = 30_000;
/** The lease of a task's lock: long enough for a model's task, short enough to outlive a crash. */
export const DEFAULT_TASK_LOCK_TTL_MS = 600_000;

export class TaskLocks {
  readonly #port: AgentMessaging | undefined;
  readonly #workflowId: string;
  readonly #owner: string;
  /** Locks asked for, granted or not, by key. */
  readonly #taking = new Map<string, Promise<void>>();
  /** Locks granted and not yet released. */
  readonly #granted = new Set<string>();
  #ended = false;

  constructor(port: AgentMessaging | undefined, workflowId: string, role: string, taskId: string) {
    this.#port = port;
    this.#workflowId = workflowId;
    this.#owner = `${role}:${taskId}`;
  }

  /** Takes `key` for the attempt; a key already taken (or being taken) by it costs nothing. */
  take(key: string, options: TaskLockOptions = {}): Promise<void> {
    const port = this.#port;
    if (!port) {
      return Promise.reject(
        new TroupeError(
          'CONFIG_ERROR',
          `ctx.lock("${key}"): task "${this.#owner}" runs without a communicator, so it cannot take locks.`,
          { key },
        ),
      );
    }
    const known = this.#taking.get(key);
    if (known) return known;
    const taking = port
      .acquireLock(this.#workflowId, key, this.#owner, {
        ttlMs: options.ttlMs ?? DEFAULT_TASK_LOCK_TTL_MS,
        timeout: options.timeoutMs ?? DEFAULT_TASK_LOCK_WAIT_MS,
      })
      .catch((error: unknown) => {
        // An earlier attempt of this task (before a crash) still holds it: it is ours.
        if (error instanceof TroupeError && error.code === 'LOCK_ALREADY_HELD') return;
        this.#taking.delete(key);
        throw error;
      })
      .then(() => {
        if (this.#ended) this.#release(key);
        else this.#granted.add(key);
      });
    this.#taking.set(key, taking);
    return taking;
  }

  /** Releases every lock of the attempt; ones still being taken are released once granted. */
  releaseAll(): void {
    this.#ended = true;
    for (const key of this.#granted) this.#release(key);
    this.#granted.clear();
  }

  #release(key: string): void {
    // A lease that already ran out is nobody's loss.
    this.#port?.releaseLock(this.#workflowId, key, this.#owner).catch(() => undefined);
  }
}
