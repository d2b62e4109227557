import { SwitchboardError } from '../../core/errors.js';
import type { Principal } from '../../core/types.js';
import { TokenBucket } from '../rate-limiter.js';

/**
 * The WebSocket's per-connection message rate, for gRPC: one token bucket per HTTP/2
 * connection (the peer address) of a user. API keys are the app's own backend pushing at
 * whatever rate it needs, so they pass. The map is bounded: past `maxKeys` it starts over,
 * which at worst forgives a few connections early rather than growing without end.
 */
export class CallRateLimiter {
  readonly #rate: number;
  readonly #burst: number;
  readonly #maxKeys: number;
  readonly #buckets = new Map<string, TokenBucket>();

  constructor(options: { perSecond: number; burst: number; maxKeys?: number }) {
    this.#rate = options.perSecond;
    this.#burst = options.burst;
    this.#maxKeys = options.maxKeys ?? 10_000;
  }

  /** Throws `rate_limited` when this connection calls faster than the limit. */
  check(principal: Principal, peer: string): void {
    if (principal.kind === 'server') return;
    let bucket = this.#buckets.get(peer);
    if (!bucket) {
      if (this.#buckets.size >= this.#maxKeys) this.#buckets.clear();
      bucket = new TokenBucket(this.#rate, this.#burst);
      this.#buckets.set(peer, bucket);
    }
    if (!bucket.take()) throw new SwitchboardError('rate_limited', 'Slow down: call rate exceeded.');
  }
}
