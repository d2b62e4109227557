import type { PusherAppConfig } from '../../config.js';

export type PusherApp = PusherAppConfig;

/** The configured Pusher apps, found by key (WebSocket path) or id (HTTP API path). */
export class PusherApps {
  readonly #byKey = new Map<string, PusherApp>();
  readonly #byId = new Map<string, PusherApp>();

  constructor(apps: readonly PusherApp[]) {
    for (const app of apps) {
      this.#byKey.set(app.key, app);
      this.#byId.set(app.id, app);
    }
  }

  get all(): PusherApp[] {
    return [...this.#byId.values()];
  }

  byKey(key: string): PusherApp | undefined {
    return this.#byKey.get(key);
  }

  byId(id: string): PusherApp | undefined {
    return this.#byId.get(id);
  }
}
