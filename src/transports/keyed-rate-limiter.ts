import { TokenBucket } from './rate-limiter.js';

/**
 * One token bucket per key (an IP address, a connection, a user), for the transports
 * that have no socket of their own to hang a bucket on. The map is bounded: past
 * `maxKeys` it starts over, which at worst forgives a few keys early rather than letting
 * a scan of many addresses exhaust memory.
 */
export class KeyedRateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(options: { perSecond: number; burst: number; maxKeys?: number }) {
    this.#perSecond = options.perSecond;
    this.#burst = options.burst;
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  take(key: string): boolean {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.clear();
      bucket = new TokenBucket(this.#perSecond, this.#burst);
      this.#buckets.set(key, bucket);
    }
    return bucket.take();
  }
}
