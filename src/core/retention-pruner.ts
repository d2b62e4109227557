import { type ChannelPolicies, retentionOf } from './channel-options.js';
import type { Logger } from './logger.js';
import type { Store } from './store.js';

export interface PruningOptions {
  /** How often bounded durable channels are swept. Default 10 s. */
  readonly intervalMs?: number;
  /** Events deleted per transaction: small, so a publish never waits behind a long delete. Default 500. */
  readonly batchSize?: number;
}

/**
 * Keeps durable channels within their `maxAge` / `maxCount`: every interval, for each
 * bounded channel, deletes its oldest events beyond the bounds in small transactions,
 * yielding between them so publishes (which share the database) go first. One sweep at a
 * time; every node sweeps, and a delete of what another node deleted is a no-op.
 */
export class RetentionPruner {
  readonly #store: Store;
  readonly #policies: ChannelPolicies;
  readonly #logger: Logger;
  readonly #intervalMs: number;
  readonly #batchSize: number;
  #timer: NodeJS.Timeout | null = null;
  #sweeping: Promise<number> | null = null;
  #stopped = false;

  constructor(options: { store: Store; policies: ChannelPolicies; logger: Logger } & PruningOptions) {
    this.#store = options.store;
    this.#policies = options.policies;
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs ?? 10_000;
    this.#batchSize = options.batchSize ?? 500;
  }

  start(): void {
    if (this.#timer) return;
    // A timer tick while a sweep runs is skipped: sweeps never queue up behind a slow one.
    const sweep = () => void (this.#sweeping ?? this.sweep()).catch((error: unknown) => this.#logger.warn({ err: error }, 'pruning failed; the next sweep retries'));
    this.#timer = setInterval(sweep, this.#intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }

  /** One pass over every bounded durable channel; resolves with how many events went. */
  async sweep(): Promise<number> {
    // A sweep under way may have passed a channel before its newest events: the caller gets
    // one that starts after it (and never two at once).
    while (this.#sweeping) await this.#sweeping.catch(() => 0);
    this.#sweeping = this.#sweepOnce().finally(() => (this.#sweeping = null));
    return this.#sweeping;
  }

  async #sweepOnce(): Promise<number> {
    let pruned = 0;
    for (const channel of await this.#store.boundedChannels(this.#policies.boundedPrefixes)) {
      const retention = retentionOf(channel, this.#policies);
      if (retention.mode !== 'durable' || (retention.maxAge === undefined && retention.maxCount === undefined)) continue;
      for (;;) {
        const bounds = {
          throughSeq: retention.maxCount === undefined ? undefined : channel.lastSeq - retention.maxCount,
          createdBefore: retention.maxAge === undefined ? undefined : Date.now() - retention.maxAge * 1000,
        };
        const deleted = await this.#store.pruneEvents(channel.id, bounds, this.#batchSize);
        pruned += deleted;
        if (deleted < this.#batchSize || this.#stopped) break;
        // Let the publishes queued meanwhile have the database first.
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return pruned;
  }
}
