import { SwitchboardError } from '../core/errors.js';
import type { Handlers } from '../edge/command-registry.js';
import { RateBudget } from '../edge/rate-budget.js';
import type { BackendClient } from './backend-client.js';
import { who } from './backend-hooks.js';

/**
 * The `rpc` command: a client's call handed to the app's backend, its answer the reply.
 * It has its own per-user budget besides the shared one, since each call costs a backend
 * round trip.
 */
export function rpcCommands(backend: BackendClient | null, limits: { perSecond: number; burst: number }): Handlers {
  const budget = new RateBudget(limits);
  return {
    rpc: async (call, { method, data }) => {
      if (!backend) throw new SwitchboardError('unavailable', 'This server has no rpc hook set up (config hooks.rpc).');
      try {
        budget.charge(call.principal);
      } catch {
        throw new SwitchboardError('rate_limited', `Slow down: at most ${limits.perSecond} rpc calls per second.`, { limit: limits.perSecond });
      }
      const result = await backend.call('rpc', { ...who(call), method, data: data ?? null });
      return { data: result.data ?? null };
    },
  };
}
