import type { Hub } from '../core/hub.js';
import type { Logger } from '../core/logger.js';
import type { Principal } from '../core/types.js';
import { WebhookDispatcher } from './webhook-dispatcher.js';
import { WebhookEvents } from './webhook-events.js';
import type { WebhookOutbox } from './webhook-outbox.js';

export interface WebhookSettings {
  readonly urls: readonly string[];
  readonly secret: string;
  readonly timeoutMs: number;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
}

export interface Webhooks {
  /** Stores the events raised so far, then stops sending (pending rows wait for the next start). */
  close(): Promise<void>;
}

/** The webhooks module reading as the server (members given at creation). */
const SERVER: Principal = { kind: 'server', userId: 'switchboard', name: 'switchboard', roles: [] };

/**
 * Wires webhooks into a node: hub changes become events in the outbox, and this node's
 * dispatcher sends what is due (including rows left over from before a restart).
 */
export function startWebhooks(options: { hub: Hub; outbox: WebhookOutbox; logger: Logger; settings: WebhookSettings }): Webhooks {
  const { hub, outbox, logger, settings } = options;
  const dispatcher = new WebhookDispatcher({ outbox, logger, ...settings });
  const events = new WebhookEvents(async (entries) => {
    await outbox.add(entries, settings.urls, Date.now());
    dispatcher.kick();
  }, logger, (channel) => hub.listMembers(SERVER, channel));
  hub.observe(events);
  dispatcher.start();
  return {
    async close() {
      await events.flushed();
      await dispatcher.close();
    },
  };
}
