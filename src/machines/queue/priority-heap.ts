/**
 * A binary min-heap of job ids ordered by two numbers: `primary`, then
 * `secondary`. The timer heap uses (due time, sequence number); the ready
 * queue has its own structure (ready-queue.ts).
 *
 * The heap is plain data (three parallel arrays) so it can live in an XState
 * context and survive a JSON round trip; the functions below mutate it in
 * place. Push and pop are O(log n) and never copy the arrays.
 *
 * Removal is lazy: the queue leaves an entry in place when its job is
 * cancelled or re-timed, and skips it when it reaches the top (an entry is
 * live only while its `secondary` equals the job's current sequence number).
 */
export interface PriorityHeap {
  primary: number[];
  secondary: number[];
  ids: string[];
}

export function createHeap(): PriorityHeap {
  return { primary: [], secondary: [], ids: [] };
}

export function heapSize(heap: PriorityHeap): number {
  return heap.ids.length;
}

/** Primary key at the top, or undefined when empty. */
export function heapPeekPrimary(heap: PriorityHeap): number | undefined {
  return heap.primary[0];
}

/** Secondary key at the top, or undefined when empty. */
export function heapPeekSecondary(heap: PriorityHeap): number | undefined {
  return heap.secondary[0];
}

function less(heap: PriorityHeap, a: number, b: number): boolean {
  const pa = heap.primary[a]!;
  const pb = heap.primary[b]!;
  return pa < pb || (pa === pb && heap.secondary[a]! < heap.secondary[b]!);
}

function swap(heap: PriorityHeap, a: number, b: number): void {
  const { primary, secondary, ids } = heap;
  const p = primary[a]!;
  primary[a] = primary[b]!;
  primary[b] = p;
  const s = secondary[a]!;
  secondary[a] = secondary[b]!;
  secondary[b] = s;
  const id = ids[a]!;
  ids[a] = ids[b]!;
  ids[b] = id;
}

export function heapPush(heap: PriorityHeap, primary: number, secondary: number, id: string): void {
  heap.primary.push(primary);
  heap.secondary.push(secondary);
  heap.ids.push(id);
  let child = heap.ids.length - 1;
  while (child > 0) {
    const parent = (child - 1) >> 1;
    if (!less(heap, child, parent)) break;
    swap(heap, child, parent);
    child = parent;
  }
}

/** Removes the top entry and returns its id (undefined when empty). */
export function heapPop(heap: PriorityHeap): string | undefined {
  const { primary, secondary, ids } = heap;
  const n = ids.length;
  if (n === 0) return undefined;
  const top = ids[0];
  const lastPrimary = primary.pop()!;
  const lastSecondary = secondary.pop()!;
  const lastId = ids.pop()!;
  if (n === 1) return top;
  primary[0] = lastPrimary;
  secondary[0] = lastSecondary;
  ids[0] = lastId;
  const size = n - 1;
  let parent = 0;
  while (true) {
    const left = 2 * parent + 1;
    if (left >= size) break;
    const right = left + 1;
    const child = right < size && less(heap, right, left) ? right : left;
    if (!less(heap, child, parent)) break;
    swap(heap, child, parent);
    parent = child;
  }
  return top;
}
