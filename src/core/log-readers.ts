import type { VolatileLog } from './broker.js';
import type { LogReader, Store } from './store.js';
import { storeReader } from './store.js';
import type { Retention } from './types.js';

/**
 * Where each retention's log is read from: durable channels from the store, `memory`
 * channels from the volatile log's ring (events past `maxAge` left out), `none` channels
 * only for their newest seq.
 */
export class LogReaders {
  readonly durable: LogReader;
  readonly #volatile: VolatileLog;
  readonly #none: LogReader;

  constructor(store: Store, volatile: VolatileLog) {
    this.durable = storeReader(store);
    this.#volatile = volatile;
    this.#none = { lastSeq: (channel) => volatile.lastSeq(channel), readEvents: async () => [], keepsNothing: true };
  }

  for(retention: Retention): LogReader {
    switch (retention.mode) {
      case 'durable':
        return this.durable;
      case 'none':
        return this.#none;
      case 'memory': {
        const volatile = this.#volatile;
        const maxAgeMs = retention.maxAge === undefined ? null : retention.maxAge * 1000;
        return {
          lastSeq: (channel) => volatile.lastSeq(channel),
          readEvents: async (channel, range) => {
            const events = await volatile.readEvents(channel, range);
            if (maxAgeMs === null) return events;
            const oldest = Date.now() - maxAgeMs;
            return events.filter((event) => event.createdAt >= oldest);
          },
        };
      }
    }
  }
}
