/**
 * A typed listener map: `on('task.completed', (event) => ...)` is checked by
 * the compiler against the event's own payload. A listener that throws or
 * rejects never reaches the emitter; its error goes to `onListenerError`.
 */
export type EventMap<TEvent extends { type: string }> = {
  [K in TEvent['type']]: Extract<TEvent, { type: K }>;
};

export type Listener<T> = (event: T) => unknown;

/** The listener of event type `K` (or of every event, for `*`). */
export type ListenerFor<TEvent extends { type: string }, K extends TEvent['type'] | '*'> = Listener<
  K extends '*' ? TEvent : EventMap<TEvent>[Exclude<K, '*'>]
>;

export class EventBus<TEvent extends { type: string }> {
  private readonly listeners = new Map<string, Set<Listener<TEvent>>>();

  constructor(private readonly onListenerError: (error: unknown, event: TEvent) => void) {}

  on<K extends TEvent['type'] | '*'>(type: K, listener: ListenerFor<TEvent, K>): () => void {
    let set = this.listeners.get(type);
    if (!set) {
      set = new Set();
      this.listeners.set(type, set);
    }
    set.add(listener as Listener<TEvent>);
    return () => this.off(type, listener);
  }

  off<K extends TEvent['type'] | '*'>(type: K, listener: ListenerFor<TEvent, K>): void {
    this.listeners.get(type)?.delete(listener as Listener<TEvent>);
  }

  /** True when someone listens to `type`; lets callers skip building events nobody reads. */
  has(type: TEvent['type']): boolean {
    return (this.listeners.get(type)?.size ?? 0) > 0 || (this.listeners.get('*')?.size ?? 0) > 0;
  }

  emit(event: TEvent): void {
    this.deliver(this.listeners.get(event.type), event);
    this.deliver(this.listeners.get('*'), event);
  }

  private deliver(set: Set<Listener<TEvent>> | undefined, event: TEvent): void {
    if (!set) return;
    for (const listener of set) {
      try {
        const result = listener(event);
        if (result instanceof Promise) result.catch((error) => this.onListenerError(error, event));
      } catch (error) {
        this.onListenerError(error, event);
      }
    }
  }
}
