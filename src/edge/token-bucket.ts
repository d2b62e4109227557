/** A token bucket: `rate` tokens a second, holding at most `burst`. */
export class TokenBucket {
  readonly #rate: number;
  readonly #burst: number;
  #tokens: number;
  #updatedAt: number;

  constructor(rate: number, burst: number, now: number = performance.now()) {
    this.#rate = rate;
    this.#burst = burst;
    this.#tokens = burst;
    this.#updatedAt = now;
  }

  /** What the bucket holds at `now`: `burst` once refilled, when a new one would hold the same. */
  tokensAt(now: number): number {
    return Math.min(this.#burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.#rate);
  }

  /** Takes `cost` tokens if there are that many; false (and nothing taken) otherwise. */
  take(cost = 1, now: number = performance.now()): boolean {
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#updatedAt) / 1000) * this.#rate);
    this.#updatedAt = now;
    if (this.#tokens < cost) return false;
    this.#tokens -= cost;
    return true;
  }
}

/**
 * One token bucket per key (a user, an address), at most `maxKeys` of them. Room for a new
 * key is made by forgetting the buckets that have refilled, which forgives nothing (a key
 * that comes back gets what it would have had). When more keys than that are busy at once,
 * the fullest buckets go next until a quarter of the table is free (so making room stays
 * rare): a throttled key is the last to be forgotten, and a spray of fresh keys, each a
 * full bucket but for what it took, cannot push it out. (It used to start over: 10,000
 * addresses, or users, emptied every bucket, the throttled ones included.)
 */
export class KeyedBuckets {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(options: { perSecond: number; burst: number; maxKeys?: number }) {
    this.#perSecond = options.perSecond;
    this.#burst = options.burst;
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  /** Keys held now. */
  get size(): number {
    return this.#buckets.size;
  }

  take(key: string, cost = 1, now: number = performance.now()): boolean {
    let bucket = this.#buckets.get(key);
    if (!bucket) {
      if (this.#buckets.size >= this.#maxKeys) this.#makeRoom(now);
      bucket = new TokenBucket(this.#perSecond, this.#burst, now);
      this.#buckets.set(key, bucket);
    }
    return bucket.take(cost, now);
  }

  #makeRoom(now: number): void {
    for (const [key, bucket] of this.#buckets) if (bucket.tokensAt(now) >= this.#burst) this.#buckets.delete(key);
    const keep = this.#maxKeys - Math.ceil(this.#maxKeys / 4);
    if (this.#buckets.size <= keep) return;
    const fullestFirst = [...this.#buckets].map(([key, bucket]) => ({ key, tokens: bucket.tokensAt(now) })).sort((a, b) => b.tokens - a.tokens);
    for (const { key } of fullestFirst.slice(0, this.#buckets.size - keep)) this.#buckets.delete(key);
  }
}
