import { SwitchboardError } from '../../core/errors.js';
import type { Principal, UserId } from '../../core/types.js';
import { TokenBucket } from '../rate-limiter.js';

/**
 * The WebSocket's message rate, for REST: one token bucket per user (REST has no
 * connection to hang it on), so a user cannot publish faster by switching transport.
 * API keys are the app's backend and pass. The map is bounded: past `maxKeys` it starts
 * over, forgiving some users early rather than growing without limit.
 */
export class UserRateLimiter {
  readonly #perSecond: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<UserId, TokenBucket>();

  constructor(options: { perSecond: number; burst: number; maxKeys?: number }) {
    this.#perSecond = options.perSecond;
    this.#burst = options.burst;
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  /** Throws `rate_limited` when the user asks faster than the limit. */
  take(principal: Principal): void {
    if (principal.kind === 'server') return;
    let bucket = this.#buckets.get(principal.userId);
    if (!bucket) {
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.clear();
      bucket = new TokenBucket(this.#perSecond, this.#burst);
      this.#buckets.set(principal.userId, bucket);
    }
    if (!bucket.take()) throw new SwitchboardError('rate_limited', 'Slow down: request rate exceeded.');
  }
}
