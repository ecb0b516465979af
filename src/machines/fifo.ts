/**
 * A first-in first-out queue kept as plain JSON (it lives in machine context,
 * which must survive a JSON round trip). `Array.shift` is O(n); a head index
 * makes taking O(1), and the consumed prefix is dropped only once it is both
 * large and more than half of the array, so the copy is amortised.
 */
export interface Fifo<T> {
  items: T[];
  head: number;
}

export function createFifo<T>(): Fifo<T> {
  return { items: [], head: 0 };
}

export function fifoSize(fifo: Fifo<unknown>): number {
  return fifo.items.length - fifo.head;
}

export function fifoPush<T>(fifo: Fifo<T>, item: T): void {
  fifo.items.push(item);
}

export function fifoTake<T>(fifo: Fifo<T>): T | undefined {
  if (fifo.head >= fifo.items.length) return undefined;
  const item = fifo.items[fifo.head];
  fifo.head++;
  if (fifo.head >= 1024 && fifo.head * 2 >= fifo.items.length) {
    fifo.items = fifo.items.slice(fifo.head);
    fifo.head = 0;
  }
  return item;
}

/** Removes the first item matching `predicate`; O(n), used only for rare cancellations. */
export function fifoRemove<T>(fifo: Fifo<T>, predicate: (item: T) => boolean): T | undefined {
  for (let i = fifo.head; i < fifo.items.length; i++) {
    const item = fifo.items[i] as T;
    if (predicate(item)) {
      fifo.items.splice(i, 1);
      return item;
    }
  }
  return undefined;
}
