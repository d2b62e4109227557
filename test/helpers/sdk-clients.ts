import { afterEach } from 'vitest';
import { createClient, type SwitchboardClient } from '../../client/src/index.js';
import { DropProxy } from './drop-proxy.js';

/** The SDK clients and drop proxies a test opened, closed after each test (see `useSdkClients`). */
export interface SdkClients {
  /** Creates a client for `user` at `url` with the file's backoff, and tracks it. */
  connect(url: string, user: string): SwitchboardClient;
  /** Tracks a client created with other options. */
  track<T extends SwitchboardClient>(client: T): T;
  /** Starts a DropProxy in front of `targetPort`, closed after the clients. */
  proxy(targetPort: number): Promise<DropProxy>;
}

/** Reconnect delays short enough that a test sees several reconnects in a second. */
export const TEST_BACKOFF = { initialDelayMs: 20, maxDelayMs: 200 };

/**
 * Registers an afterEach that closes every SDK client the test made through it, then
 * every drop proxy (clients first, so none reconnects through a proxy being closed).
 * Call it once at the top of a test file:
 *
 * ```ts
 * const clients = useSdkClients();
 * const alice = clients.connect(server.wsUrl, 'alice');
 * ```
 */
export function useSdkClients(backoff: { initialDelayMs: number; maxDelayMs: number } = TEST_BACKOFF): SdkClients {
  const clients: SwitchboardClient[] = [];
  const proxies: DropProxy[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close()));
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });
  const track = <T extends SwitchboardClient>(client: T): T => {
    clients.push(client);
    return client;
  };
  return {
    connect: (url, user) => track(createClient({ url, user, backoff })),
    track,
    async proxy(targetPort) {
      const proxy = await DropProxy.start(targetPort);
      proxies.push(proxy);
      return proxy;
    },
  };
}
