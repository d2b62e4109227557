import { Delivery } from './delivery.js';
import type { ChannelEvent, Seq } from './types.js';

/**
 * The newest events of a channel with their deliveries, so clients resuming a few dozen
 * events back are served from memory, each event encoded once for all of them, instead
 * of each reading the store and encoding its own copy (the reconnect storm after a
 * restart). Holds one contiguous run of seqs.
 */
export class RecentEvents {
  readonly #capacity: number;
  readonly #ring: Delivery[];
  /** Seq of the oldest event held; meaningless while #count is 0. */
  #firstSeq: Seq = 0;
  #count = 0;
  #changes = 0;

  constructor(capacity: number) {
    this.#capacity = capacity;
    this.#ring = new Array<Delivery>(capacity);
  }

  /** Appends the channel's next event (a gap, healed elsewhere, starts the run afresh). */
  push(event: ChannelEvent, delivery: Delivery): void {
    if (this.#count > 0 && event.seq !== this.#firstSeq + this.#count) this.#count = 0;
    // An edit or delete changes how the store shows its target: copies up to it are stale.
    if (event.target !== null && (event.kind === 'edit' || event.kind === 'delete')) {
      this.#changes++;
      this.#dropThrough(event.target);
    }
    if (this.#count === 0) this.#firstSeq = event.seq;
    if (this.#count === this.#capacity) {
      this.#firstSeq++;
      this.#count--;
    }
    this.#ring[event.seq % this.#capacity] = delivery;
    this.#count++;
  }

  /** Counts the edits and deletes seen: a read made before one may hold a stale copy. */
  get changes(): number {
    return this.#changes;
  }

  /**
   * Events just read from the store that end where the run begins (or, with nothing
   * held, at `lastSeq`): they are kept in front, as many as fit, unless an edit or delete
   * arrived since the read began (`changesAtRead`): the read may predate it.
   */
  prepend(events: readonly ChannelEvent[], lastSeq: Seq, changesAtRead: number): void {
    if (changesAtRead !== this.#changes) return;
    const end = this.#count > 0 ? this.#firstSeq - 1 : lastSeq;
    // Events past the end are committed but not yet delivered live: they come that way.
    let last = events.length - 1;
    while (last >= 0 && events[last]!.seq > end) last--;
    if (last < 0 || events[last]!.seq !== end) return;
    for (let i = last; i >= 0 && this.#count < this.#capacity; i--) {
      const event = events[i]!;
      if (event.seq !== (this.#count > 0 ? this.#firstSeq - 1 : end)) return;
      this.#firstSeq = event.seq;
      this.#ring[event.seq % this.#capacity] = new Delivery({ type: 'event', event });
      this.#count++;
    }
  }

  /** The deliveries of seqs since+1 .. through, or null unless every one of them is held. */
  between(since: Seq, through: Seq): Delivery[] | null {
    if (through <= since) return [];
    if (this.#count === 0 || since + 1 < this.#firstSeq || through > this.#firstSeq + this.#count - 1) return null;
    const deliveries: Delivery[] = [];
    for (let seq = since + 1; seq <= through; seq++) deliveries.push(this.#ring[seq % this.#capacity]!);
    return deliveries;
  }

  #dropThrough(seq: Seq): void {
    if (this.#count === 0 || seq < this.#firstSeq) return;
    const dropped = Math.min(this.#count, seq - this.#firstSeq + 1);
    this.#firstSeq += dropped;
    this.#count -= dropped;
  }
}
