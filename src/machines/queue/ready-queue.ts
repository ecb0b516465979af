/**
 * The queued jobs in the order they start: higher priority first, and within
 * a priority the lower sequence number (first in, first out).
 *
 * Priorities are a few small integers, so this is one FIFO lane per priority
 * (ids and sequence numbers in parallel arrays, read from a head index)
 * rather than one binary heap: a push appends and a pop advances the head,
 * both O(1), where a heap of a million jobs moves entries down twenty levels
 * of cache-missing arrays on every push and pop.
 *
 * A job is pushed with a sequence number that is usually the queue's newest,
 * so it goes at the back of its lane. A job put back at its old place (an
 * interrupted or reloaded job) is inserted where its sequence number belongs:
 * just before the head when it is smaller than every queued one (the common
 * case: it was taken from the head), else by binary search and a splice,
 * which is O(n) but happens only on a stop or a restart.
 *
 * Plain data (arrays and numbers), so it lives in the XState context and
 * survives a JSON round trip; the functions below mutate it in place. Removal
 * is lazy as with the heap: a cancelled or re-queued job's entry stays until
 * it reaches the head, where the queue sees that its sequence number is no
 * longer the job's and drops it.
 */
export interface ReadyLane {
  priority: number;
  ids: string[];
  seqs: number[];
  /** Index of the first entry still queued. */
  head: number;
}

export interface ReadyQueue {
  /** Lanes by descending priority, made when a priority is first pushed. */
  lanes: ReadyLane[];
  /** Entries held, stale ones included. */
  size: number;
}

export function createReadyQueue(): ReadyQueue {
  return { lanes: [], size: 0 };
}

function laneOf(queue: ReadyQueue, priority: number): ReadyLane {
  const { lanes } = queue;
  let at = 0;
  while (at < lanes.length && lanes[at]!.priority > priority) at++;
  const found = lanes[at];
  if (found?.priority === priority) return found;
  const lane: ReadyLane = { priority, ids: [], seqs: [], head: 0 };
  lanes.splice(at, 0, lane);
  return lane;
}

/** Queues `id` by priority, then by `seq`. */
export function readyPush(queue: ReadyQueue, priority: number, seq: number, id: string): void {
  const lane = laneOf(queue, priority);
  const { ids, seqs } = lane;
  queue.size++;
  const last = seqs.length - 1;
  if (last < lane.head || seqs[last]! <= seq) {
    ids.push(id);
    seqs.push(seq);
    return;
  }
  if (lane.head > 0 && seq < seqs[lane.head]!) {
    lane.head--;
    ids[lane.head] = id;
    seqs[lane.head] = seq;
    return;
  }
  // The first queued entry with a larger sequence number.
  let low = lane.head;
  let high = last;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (seqs[mid]! <= seq) low = mid + 1;
    else high = mid;
  }
  ids.splice(low, 0, id);
  seqs.splice(low, 0, seq);
}

/** The lane whose head starts next, or undefined when nothing is queued. */
export function readyPeek(queue: ReadyQueue): ReadyLane | undefined {
  for (const lane of queue.lanes) if (lane.head < lane.ids.length) return lane;
  return undefined;
}

/** Removes the head of `lane` (from {@link readyPeek}). */
export function readyShift(queue: ReadyQueue, lane: ReadyLane): void {
  lane.head++;
  queue.size--;
  const { head, ids } = lane;
  if (head === ids.length) {
    // Empty: start over, so the arrays do not grow for ever.
    ids.length = 0;
    lane.seqs.length = 0;
    lane.head = 0;
  } else if (head > 1024 && head * 2 > ids.length) {
    // Compact now and then, so the lane costs O(1) amortised per job.
    lane.ids = ids.slice(head);
    lane.seqs = lane.seqs.slice(head);
    lane.head = 0;
  }
}
