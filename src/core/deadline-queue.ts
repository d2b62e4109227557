/** An item's place in a DeadlineQueue: hand it back to `cancel` or `reschedule`. */
export interface Deadline<T> {
  readonly item: T;
  /** Epoch milliseconds. */
  readonly at: number;
}

interface Entry<T> extends Deadline<T> {
  at: number;
  /** Where the entry sits in the heap; -1 once it left. */
  index: number;
}

/** setTimeout holds at most 2^31-1 ms; a later deadline is reached in steps. */
const LONGEST_WAIT_MS = 2 ** 31 - 1;

/**
 * Calls `expired(item)` once each item's deadline has passed, with one timer for all of
 * them: a binary heap ordered by deadline, its timer set for the earliest. Cancelling and
 * moving a deadline are O(log n), so a node with many sessions on expiring tokens keeps
 * one timer, not one per session, and nothing runs per event.
 *
 * @example
 *   const expiries = new DeadlineQueue<Session>((session) => end(session));
 *   const deadline = expiries.schedule(session, principal.expiresAt);
 *   expiries.reschedule(deadline, refreshed.expiresAt);   // auth.refresh
 *   expiries.cancel(deadline);                             // disconnected first
 */
export class DeadlineQueue<T> {
  readonly #heap: Entry<T>[] = [];
  readonly #expired: (item: T) => void;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | null = null;
  /** The deadline the timer is set for. */
  #timerAt = Infinity;

  constructor(expired: (item: T) => void, now: () => number = Date.now) {
    this.#expired = expired;
    this.#now = now;
  }

  get size(): number {
    return this.#heap.length;
  }

  schedule(item: T, at: number): Deadline<T> {
    const entry: Entry<T> = { item, at, index: this.#heap.length };
    this.#heap.push(entry);
    this.#up(entry.index);
    this.#arm();
    return entry;
  }

  /** Moves a deadline (later or earlier). A deadline that already fired or was cancelled is scheduled anew. */
  reschedule(deadline: Deadline<T>, at: number): Deadline<T> {
    const entry = deadline as Entry<T>;
    if (entry.index < 0) return this.schedule(entry.item, at);
    const earlier = at < entry.at;
    entry.at = at;
    if (earlier) this.#up(entry.index);
    else this.#down(entry.index);
    this.#arm();
    return entry;
  }

  /** Forgets a deadline; nothing happens if it fired or was cancelled already. */
  cancel(deadline: Deadline<T>): void {
    const entry = deadline as Entry<T>;
    if (entry.index < 0) return;
    this.#remove(entry.index);
    this.#arm();
  }

  /** Stops the timer; deadlines are kept but never fire (the node is closing). */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = -Infinity;
  }

  #fire(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = this.#now();
    const due: T[] = [];
    while (this.#heap.length > 0 && this.#heap[0]!.at <= now) due.push(this.#remove(0).item);
    this.#arm();
    for (const item of due) this.#expired(item);
  }

  /** Sets the timer for the earliest deadline, unless it is set for it already. */
  #arm(): void {
    if (this.#timerAt === -Infinity) return;
    const first = this.#heap[0];
    if (!first) {
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = null;
      this.#timerAt = Infinity;
      return;
    }
    if (this.#timer && first.at === this.#timerAt) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timerAt = first.at;
    this.#timer = setTimeout(() => this.#fire(), Math.min(Math.max(0, first.at - this.#now()), LONGEST_WAIT_MS));
    this.#timer.unref();
  }

  #remove(index: number): Entry<T> {
    const heap = this.#heap;
    const entry = heap[index]!;
    const last = heap.pop()!;
    if (last !== entry) {
      heap[index] = last;
      last.index = index;
      this.#down(index);
      this.#up(last.index);
    }
    entry.index = -1;
    return entry;
  }

  #up(index: number): void {
    const heap = this.#heap;
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (heap[parent]!.at <= heap[index]!.at) return;
      this.#swap(index, parent);
      index = parent;
    }
  }

  #down(index: number): void {
    const heap = this.#heap;
    for (;;) {
      const left = index * 2 + 1;
      const right = left + 1;
      let smallest = index;
      if (left < heap.length && heap[left]!.at < heap[smallest]!.at) smallest = left;
      if (right < heap.length && heap[right]!.at < heap[smallest]!.at) smallest = right;
      if (smallest === index) return;
      this.#swap(index, smallest);
      index = smallest;
    }
  }

  #swap(a: number, b: number): void {
    const heap = this.#heap;
    const first = heap[a]!;
    const second = heap[b]!;
    heap[a] = second;
    heap[b] = first;
    second.index = a;
    first.index = b;
  }
}
