import type { VolatileLog } from './broker.js';
import type { Logger } from './logger.js';
import type { Store } from './store.js';
import type { Channel, ChannelEvent, ChannelId, Seq } from './types.js';

/** Channels remembered as started; past this the set is cleared (starting again is harmless). */
const STARTED_LIMIT = 100_000;

/**
 * Keeps the numbering of `memory` and `none` channels going across a restart of the
 * volatile log (one node's memory, or a Redis that lost its data): the seq the database
 * last recorded for a channel starts the log's count the first time this process uses the
 * channel, and the seqs handed out are written back in the background, never on the
 * publish path. A crash can lose the last `flushMs` of them.
 */
export class VolatileNumbering {
  readonly #store: Store;
  readonly #volatile: VolatileLog;
  readonly #logger: Logger;
  readonly #flushMs: number;
  readonly #started = new Set<ChannelId>();
  #numbered = new Map<ChannelId, Seq>();
  #timer: NodeJS.Timeout | null = null;

  constructor(options: { store: Store; volatile: VolatileLog; logger: Logger; flushMs?: number }) {
    this.#store = options.store;
    this.#volatile = options.volatile;
    this.#logger = options.logger;
    this.#flushMs = options.flushMs ?? 1000;
  }

  /** Before the first use of the channel here: its numbering goes on from the database's record. */
  async prepare(channel: Channel): Promise<void> {
    if (this.#started.has(channel.id)) return;
    if (channel.lastSeq > 0) await this.#volatile.startAfter(channel.id, channel.lastSeq);
    if (this.#started.size >= STARTED_LIMIT) this.#started.clear();
    this.#started.add(channel.id);
  }

  /** A seq was handed out: recorded with the next flush. */
  numbered(event: ChannelEvent): void {
    this.#numbered.set(event.channel, event.seq);
    this.#timer ??= setTimeout(() => void this.flush(), this.#flushMs).unref();
  }

  /** The channel was deleted: nothing more to record, and a new one starts afresh. */
  forget(channel: ChannelId): void {
    this.#started.delete(channel);
    this.#numbered.delete(channel);
  }

  /** Writes the newest seqs handed out (at every interval, and at shutdown). */
  async flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const numbered = this.#numbered;
    this.#numbered = new Map();
    for (const [channel, seq] of numbered) {
      try {
        await this.#store.raiseLastSeq(channel, seq);
      } catch (error) {
        // Kept for the next flush; a newer seq of the channel replaces it.
        if (!this.#numbered.has(channel)) this.#numbered.set(channel, seq);
        this.#logger.warn({ err: error, channel }, 'recording a volatile channel\'s seq failed; retrying');
      }
    }
    if (this.#numbered.size > 0) this.#timer ??= setTimeout(() => void this.flush(), this.#flushMs).unref();
  }
}
