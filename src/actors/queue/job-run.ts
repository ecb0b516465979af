/**
 * One run of a job's handler, shared by the local queue's runner and the
 * shared (PostgreSQL) queue's worker: the handler's `ctx`, and how a thrown
 * or returned value is read.
 */
import {
  type SerializedError,
  serializeError,
  TroupeError,
  type TroupeErrorCode,
} from '../../errors.js';
import type { JobContext } from '../../machines/queue/job.js';

/** The handler's view of one run. */
export class Run implements JobContext {
  #controller: AbortController | undefined;
  #abortReason: unknown;
  done = false;
  /** The local runner's event-loop turn in which this run started (see job-runner.ts). */
  turn = 0;

  constructor(
    readonly jobId: string,
    readonly name: string,
    readonly attempt: number,
    readonly args: readonly unknown[],
    readonly durable: boolean,
    private readonly onProgress: (run: Run, value: number, message: string | null) => void,
  ) {}

  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason);
    }
    return this.#controller.signal;
  }

  /** A getter so `({ progress }) => ...` works; the function is made on first use only. */
  get progress(): (value: number, message?: string) => void {
    return (value, message) => this.#progress(value, message);
  }

  #progress(value: number, message: string | undefined): void {
    if (this.done) return;
    if (typeof value !== 'number' || !Number.isFinite(value)) {
      throw new TroupeError(
        'INVALID_INPUT',
        `ctx.progress() of job ${JSON.stringify(this.jobId)} needs a finite number (0..100), got ${String(value)}.`,
        { jobId: this.jobId },
      );
    }
    this.onProgress(this, value, typeof message === 'string' ? message : null);
  }

  abort(reason: unknown): void {
    this.done = true;
    this.#abortReason = reason;
    this.#controller?.abort(reason);
  }
}

export function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return (
    value !== null &&
    (typeof value === 'object' || typeof value === 'function') &&
    typeof (value as { then?: unknown }).then === 'function'
  );
}

export function failure(code: TroupeErrorCode, message: string, jobId: string): SerializedError {
  return serializeError(new TroupeError(code, message, { jobId }));
}

/** Throwing an error with `retryable: false` fails the job without further retries. */
export function isRetryable(error: unknown): boolean {
  return !(
    typeof error === 'object' &&
    error !== null &&
    (error as { retryable?: unknown }).retryable === false
  );
}
