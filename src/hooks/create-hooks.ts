import type { Registry } from 'prom-client';
import type { HooksConfig } from '../config.js';
import type { Hub } from '../core/hub.js';
import type { Logger } from '../core/logger.js';
import type { Principal } from '../core/types.js';
import type { Handlers } from '../edge/command-registry.js';
import type { CommandHooks, ConnectHook, ConnectionRequest } from '../edge/hook-step.js';
import { BackendClient } from './backend-client.js';
import { BackendHooks } from './backend-hooks.js';
import { GrpcBackend } from './grpc-backend.js';
import { HookMetrics } from './hook-metrics.js';
import { HttpBackend } from './http-backend.js';
import { RefreshScheduler } from './refresh-scheduler.js';
import { rpcCommands } from './rpc-commands.js';

/** What the composition root wires in: the pipeline's hooks step, the connect hook, the `rpc` command. */
export interface Hooks {
  /** Null when no subscribe or publish hook is set up: the pipeline skips the step entirely. */
  readonly commandHooks: CommandHooks | null;
  readonly connectHook: ConnectHook | null;
  readonly commands: Handlers;
  /** Hands the hub to the refresh hook (it extends and ends sessions). */
  attach(hub: Hub): void;
  close(): void;
}

/**
 * Builds the hooks of a node from config `hooks` (docs/backend-hooks.md): one client per
 * backend, shared by every hook that names it, counted in the node's /metrics.
 *
 * @example
 *   const hooks = createHooks(config.hooks, { logger, registry: ops.metrics.registry });
 */
export function createHooks(config: HooksConfig, options: { logger: Logger; registry: Registry | null }): Hooks {
  const metrics = new HookMetrics(options.registry);
  const logger = options.logger;
  const backends = new Map<string, BackendClient>();
  for (const [name, settings] of Object.entries(config.backends)) {
    const transport = settings.http ? new HttpBackend(settings.http) : new GrpcBackend(settings.grpc!);
    backends.set(name, new BackendClient(transport, { name, ...settings }, metrics, logger));
  }
  const hooks = new BackendHooks(backends, config);
  const refreshBackend = hooks.backend(config.refresh);
  let refresher: RefreshScheduler | null = null;
  const connectHook: ConnectHook | null = config.connect
    ? {
        async connect(request: ConnectionRequest, principal: Principal | null): Promise<Principal> {
          const admitted = await hooks.connect(request, principal);
          return refresher ? refresher.granted(admitted) : admitted;
        },
      }
    : null;
  const channelHooks = Object.values(config.channels).some((entry) => entry.subscribe ?? entry.publish);
  return {
    commandHooks: channelHooks ? hooks : null,
    connectHook,
    commands: rpcCommands(hooks.backend(config.rpc), { perSecond: config.rpcPerSecond, burst: config.rpcBurst }),
    attach(hub) {
      if (!refreshBackend) return;
      refresher = new RefreshScheduler({ hub, backend: refreshBackend, refreshBeforeMs: config.refreshBeforeMs, logger });
      hub.observe(refresher);
    },
    close() {
      for (const backend of backends.values()) backend.close();
    },
  };
}
