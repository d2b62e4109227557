import { SwitchboardError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import { KeyedBuckets } from './token-bucket.js';

/**
 * One command budget per user on this node, whatever wire the commands arrive on, so a
 * user cannot go faster by switching transport or by batching: a batch of N messages
 * costs N. The app's backend (API keys) pushes at whatever rate it needs and passes.
 */
export class RateBudget {
  readonly #buckets: KeyedBuckets;

  constructor(options: { perSecond: number; burst: number }) {
    this.#buckets = new KeyedBuckets(options);
  }

  /** Takes `cost` from the principal's budget, or throws `rate_limited` and takes nothing. */
  charge(principal: Principal, cost = 1): void {
    if (principal.kind === 'server') return;
    if (!this.#buckets.take(principal.userId, cost)) {
      // Worded apart from a connection's own frame limit, so a client (and a log) can tell
      // that its other connections count too.
      throw new SwitchboardError('rate_limited', 'Slow down: your commands on all your connections exceed the rate.');
    }
  }
}
