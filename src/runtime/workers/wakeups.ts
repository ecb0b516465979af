/**
 * What wakes a process that waits on PostgreSQL rows: timers on the injected
 * clock (each step finishes before the next is scheduled, so steps never
 * overlap) and `LISTEN` on a dedicated connection (a lost connection is
 * replaced after `relistenMs`; the timers are the safety net meanwhile).
 */
import type pg from 'pg';
import type { PostgresStore } from '../../store/postgres/postgres-store.js';
import type { Clock } from '../clock.js';

export class Wakeups {
  readonly #timers = new Set<unknown>();
  #listener: pg.PoolClient | undefined;
  #closed = false;

  constructor(
    private readonly clock: Clock,
    private readonly onError: (error: unknown, context: string) => void,
  ) {}

  /** Runs `step` every `ms`, each run after the previous one finished. */
  every(ms: number, context: string, step: () => Promise<unknown>): void {
    const schedule = () => {
      if (this.#closed) return;
      const timer = this.clock.setTimeout(() => {
        this.#timers.delete(timer);
        step()
          .catch((error) => {
            if (!this.#closed) this.onError(error, context);
          })
          .finally(schedule);
      }, ms);
      this.#timers.add(timer);
    };
    schedule();
  }

  /** `LISTEN`s on `channels`, calling `onNotify(channel, payload)` for each notification. */
  async listen(
    store: PostgresStore,
    channels: readonly string[],
    onNotify: (channel: string, payload: string) => void,
    relistenMs: number,
  ): Promise<void> {
    if (this.#closed || store.closed) return;
    const client = await store.connect();
    this.#listener = client;
    client.on('notification', (message) => onNotify(message.channel, message.payload ?? ''));
    client.on('error', () => {
      client.release(true);
      if (this.#listener === client) this.#listener = undefined;
      const timer = this.clock.setTimeout(() => {
        this.#timers.delete(timer);
        this.listen(store, channels, onNotify, relistenMs).catch(() => undefined);
      }, relistenMs);
      this.#timers.add(timer);
    });
    for (const channel of channels) await client.query(`LISTEN ${channel}`);
  }

  /** Stops the timers and the listening connection. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) this.clock.clearTimeout(timer);
    this.#timers.clear();
    this.#listener?.release(true);
    this.#listener = undefined;
  }
}
