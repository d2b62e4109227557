import type { ChannelEvent } from '../core/types.js';
import type { EventRange } from '../core/store.js';

/**
 * The events of an ascending ring that fall in `range`, as the store would answer: with
 * `after`, the oldest after it; otherwise the newest (before `before`). Always ascending.
 */
export function eventsInRange(ring: readonly ChannelEvent[], range: EventRange): ChannelEvent[] {
  const { after, before, limit, messagesOnly } = range;
  const matching = ring.filter(
    (event) =>
      (after === undefined || event.seq > after) &&
      (before === undefined || event.seq < before) &&
      (!messagesOnly || event.kind === 'message'),
  );
  return after !== undefined ? matching.slice(0, limit) : matching.slice(Math.max(0, matching.length - limit));
}
