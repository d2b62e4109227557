import type { Registry } from 'prom-client';
import type { HooksConfig, NamespacesConfig } from '../config.js';
import type { Hub } from '../core/hub.js';
import type { Logger } from '../core/logger.js';
import type { Principal } from '../core/types.js';
import type { Handlers } from '../edge/command-registry.js';
import type { CommandHooks, ConnectHook, ConnectionRequest, SubscribeAsk } from '../edge/hook-step.js';
import { BackendClient } from './backend-client.js';
import { BackendHooks } from './backend-hooks.js';
import { anyChannelHooks, channelHooksOf } from './channel-hooks.js';
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
  /** The subscribe hook of a named backend, for a wire that asks it itself (Pusher apps); null: no such backend. */
  subscribeAsk(backend: string | null): SubscribeAsk | null;
  /** Hands the hub to the refresh hook (it extends and ends sessions). */
  attach(hub: Hub): void;
  close(): void;
}

/**
 * Builds the hooks of a node from config `hooks` and the namespaces' `hooks`
 * (docs/backend-hooks.md): one client per backend, shared by every hook that names it,
 * counted in the node's /metrics.
 *
 * @example
 *   const hooks = createHooks(config.hooks, { namespaces: config.namespaces, logger, registry: ops.metrics.registry });
 */
export function createHooks(
  config: HooksConfig,
  options: { namespaces: NamespacesConfig; logger: Logger; registry: Registry | null },
): Hooks {
  const metrics = new HookMetrics(options.registry);
  const logger = options.logger;
  const backends = new Map<string, BackendClient>();
  for (const [name, settings] of Object.entries(config.backends)) {
    const transport = settings.http ? new HttpBackend(settings.http) : new GrpcBackend(settings.grpc!);
    backends.set(name, new BackendClient(transport, { name, ...settings }, metrics, logger));
  }
  const hooks = new BackendHooks(backends, config, channelHooksOf(options.namespaces, config.channelDefault));
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
  const channelHooks = anyChannelHooks(options.namespaces, config.channelDefault);
  return {
    commandHooks: channelHooks ? hooks : null,
    connectHook,
    commands: rpcCommands(hooks.backend(config.rpc), { perSecond: config.rpcPerSecond, burst: config.rpcBurst }),
    subscribeAsk(name) {
      const backend = hooks.backend(name);
      return backend ? (request) => backend.call('subscribe', { ...request, info: null }) : null;
    },
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
