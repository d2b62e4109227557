import { SwitchboardError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import { KeyedBuckets } from '../edge/token-bucket.js';

/**
 * The WebSocket's message rate for gRPC and REST, so a user cannot send faster by
 * switching transport. API keys are the app's own backend pushing at whatever rate it
 * needs, so they pass.
 *
 * ```ts
 * const rate = new PrincipalRateLimiter({ perSecond: 100, burst: 200, what: 'request rate' });
 * rate.check(principal);                 // REST: one bucket per user
 * rate.check(principal, call.getPeer()); // gRPC: one bucket per HTTP/2 connection
 * ```
 */
export class PrincipalRateLimiter {
  readonly #buckets: KeyedBuckets;
  readonly #message: string;

  /** `what` names the rate in the error message ("call rate", "request rate"). */
  constructor(options: { perSecond: number; burst: number; what: string; maxKeys?: number }) {
    this.#buckets = new KeyedBuckets(options);
    this.#message = `Slow down: ${options.what} exceeded.`;
  }

  /**
   * Throws `rate_limited` when this principal asks faster than the limit. `connection`
   * keys the bucket where the transport has one; without it (REST) the user is the key.
   */
  check(principal: Principal, connection?: string): void {
    if (principal.kind === 'server') return;
    if (!this.#buckets.take(connection ?? principal.userId)) throw new SwitchboardError('rate_limited', this.#message);
  }
}
