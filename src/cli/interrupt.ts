/**
 * Ctrl+C (SIGINT) and SIGTERM while a command runs a workflow: the first
 * signal asks the command to stop cleanly (abort in-flight work, flush the
 * journal, close the store); a second one exits at once.
 */
import { EXIT } from './exit-codes.js';

export interface Interruption {
  /** Resolves with the first signal received. */
  readonly signal: Promise<NodeJS.Signals>;
  /** Stops listening (the process's default handling comes back). */
  dispose(): void;
}

export function listenForInterrupt(): Interruption {
  let received: NodeJS.Signals | undefined;
  let resolve!: (signal: NodeJS.Signals) => void;
  const signal = new Promise<NodeJS.Signals>((res) => {
    resolve = res;
  });
  const handler = (name: NodeJS.Signals) => {
    if (received) process.exit(exitCodeOf(received));
    received = name;
    resolve(name);
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal,
    dispose() {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

export function exitCodeOf(signal: NodeJS.Signals): number {
  return signal === 'SIGTERM' ? EXIT.terminated : EXIT.interrupted;
}
