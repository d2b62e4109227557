import type { VolatileEvent, VolatileLog } from '../core/broker.js';
import type { EventRange } from '../core/store.js';
import type { ChannelEvent, ChannelId, Seq } from '../core/types.js';
import { eventsInRange } from './volatile-range.js';

/** cids remembered per channel for retried publishes (the newest ones). */
const CIDS_KEPT = 1000;

interface VolatileChannel {
  seq: Seq;
  /** The ring's size as of the last append. */
  keep: number;
  /** The newest events, ascending: the last `keep` count (up to twice as many wait to be trimmed). */
  ring: ChannelEvent[];
  /** cid -> its event, the newest CIDS_KEPT (insertion order is age order). */
  readonly cids: Map<string, ChannelEvent>;
}

/**
 * The volatile log of one process (one node, or an in-process cluster on a MemoryBus):
 * a counter and a ring per channel, gone when the process ends.
 */
export class MemoryVolatileLog implements VolatileLog {
  readonly #channels = new Map<ChannelId, VolatileChannel>();

  async append(request: VolatileEvent, keep: number): Promise<{ event: ChannelEvent; duplicate: boolean }> {
    let channel = this.#channels.get(request.channel);
    if (!channel) this.#channels.set(request.channel, (channel = { seq: 0, keep, ring: [], cids: new Map() }));
    const earlier = request.cid === null ? undefined : channel.cids.get(request.cid);
    if (earlier) return { event: earlier, duplicate: true };
    const event: ChannelEvent = { ...request, seq: ++channel.seq };
    channel.keep = keep;
    if (event.cid !== null) {
      channel.cids.set(event.cid, event);
      if (channel.cids.size > CIDS_KEPT) channel.cids.delete(channel.cids.keys().next().value!);
    }
    if (keep > 0) {
      channel.ring.push(event);
      // Trimmed in steps, not per append: a shift per publish would copy the ring each time.
      if (channel.ring.length >= keep * 2) this.#trim(channel, keep);
    } else if (channel.ring.length > 0) this.#trim(channel, 0);
    return { event, duplicate: false };
  }

  async lastSeq(channel: ChannelId): Promise<Seq> {
    return this.#channels.get(channel)?.seq ?? 0;
  }

  async readEvents(channel: ChannelId, range: EventRange): Promise<ChannelEvent[]> {
    const state = this.#channels.get(channel);
    if (!state || state.keep === 0) return [];
    const { ring, keep } = state;
    return eventsInRange(ring.length > keep ? ring.slice(ring.length - keep) : ring, range);
  }

  async startAfter(channel: ChannelId, seq: Seq): Promise<void> {
    if (!this.#channels.has(channel)) this.#channels.set(channel, { seq, keep: 0, ring: [], cids: new Map() });
  }

  async drop(channel: ChannelId): Promise<void> {
    this.#channels.delete(channel);
  }

  #trim(channel: VolatileChannel, keep: number): void {
    channel.ring.splice(0, channel.ring.length - keep);
  }
}
