import { SwitchboardError } from '../core/errors.js';
import type { Handlers } from '../edge/command-registry.js';
import type { ClusterView } from './cluster-view.js';

/**
 * The operations module's commands. `users.disconnect` reaches every node's sessions by
 * asking each node (what a node holds in memory is its own), so it is the console's
 * "disconnect everywhere" and the backend's alike.
 */
export function opsCommands(cluster: ClusterView): Handlers {
  return {
    'users.disconnect': async ({ principal }, { user }) => {
      if (principal.kind !== 'server' && !principal.roles.includes('admin')) {
        throw new SwitchboardError('forbidden', "Only an administrator or the app's backend (an API key) disconnects users.");
      }
      const { answers, missing } = await cluster.ask<{ disconnected: number }>({ type: 'disconnect', user });
      const disconnected = answers.reduce((sum, { answer }) => sum + answer.disconnected, 0);
      return { user, disconnected, ...(missing.length > 0 ? { missing: [...missing] } : {}) };
    },
  };
}
