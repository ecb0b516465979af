/** A promise with its settle functions, for write batches whose waiters settle when the batch is written. */
export interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * A new {@link Deferred}. Its promise never reports an unhandled rejection:
 * a failed batch reaches its waiters and onError, and a batch nobody awaits
 * must not end the process.
 */
export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => undefined);
  return { promise, resolve, reject };
}
