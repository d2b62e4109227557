import { TokenBucket } from './rate-limiter.js';

/**
 * One token bucket per key (an IP address), for endpoints worth guessing at (log-in).
 * The map is bounded: past `maxKeys` it starts over, which at worst forgives a few
 * clients early rather than letting a scan of many addresses exhaust memory.
 */
export class KeyedRateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(options: { perMinute: number; maxKeys?: number }) {
    this.#perSecond = options.perMinute / 60;
    this.#burst = options.perMinute;
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
