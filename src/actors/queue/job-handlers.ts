/**
 * The code behind jobs. A job names its handler (`register(name, fn)`), which
 * is what lets a stored job run again in a new process, or carries a function,
 * which lives only here, keyed by job id, until the job finishes.
 */
import { TroupeError } from '../../errors.js';
import type { JobHandler } from '../../machines/queue/job.js';

export class JobHandlerRegistry {
  readonly #named = new Map<string, JobHandler>();
  readonly #functions = new Map<string, JobHandler>();

  /**
   * Registers a named handler.
   * @throws TroupeError `INVALID_INPUT` for an empty name, a non-function or a name taken.
   */
  register(name: string, handler: JobHandler): void {
    if (typeof name !== 'string' || name.length === 0) {
      throw new TroupeError(
        'INVALID_INPUT',
        'TaskQueue.register() needs a non-empty handler name.',
        { issues: ['name: must be a non-empty string'] },
      );
    }
    if (typeof handler !== 'function') {
      throw new TroupeError(
        'INVALID_INPUT',
        `TaskQueue.register(${JSON.stringify(name)}) needs a function as the handler.`,
        { handler: name, issues: ['handler: must be a function'] },
      );
    }
    if (this.#named.has(name)) {
      throw new TroupeError(
        'INVALID_INPUT',
        `TaskQueue.register(): a handler named ${JSON.stringify(name)} is already registered. Use another name; stored jobs refer to handlers by name, so one name must mean one function.`,
        { handler: name },
      );
    }
    this.#named.set(name, handler);
  }

  has(name: string): boolean {
    return this.#named.has(name);
  }

  named(name: string): JobHandler | undefined {
    return this.#named.get(name);
  }

  /** Keeps a function handler for job `jobId` until {@link release}. */
  bind(jobId: string, handler: JobHandler): void {
    this.#functions.set(jobId, handler);
  }

  forJob(jobId: string): JobHandler | undefined {
    return this.#functions.get(jobId);
  }

  /** The job finished: its function handler is no longer needed. */
  release(jobId: string): void {
    this.#functions.delete(jobId);
  }
}
