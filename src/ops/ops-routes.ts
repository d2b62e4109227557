import { hostname } from 'node:os';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SERVER_PRINCIPAL } from '../auth/api-keys.js';
import type { Authenticator } from '../auth/authenticator.js';
import { Delivery } from '../core/delivery.js';
import { CLOSE_CODES, SwitchboardError } from '../core/errors.js';
import type { Hub } from '../core/hub.js';
import type { Principal } from '../core/types.js';
import { authenticateRequest } from '../transports/http/request-auth.js';
import { ADMIN_PAGE } from './admin-page.js';
import type { Metrics, ScrapeSources } from './metrics.js';
import type { SessionDirectory } from './session-directory.js';

export interface OpsRouteOptions {
  readonly hub: Hub;
  readonly metrics: Metrics;
  readonly directory: SessionDirectory;
  readonly authenticator: Authenticator;
  readonly sources: ScrapeSources;
  /** Serve /metrics here (behind an API key); false when it has a port of its own. */
  readonly metricsHere: boolean;
}

const STARTED = Date.now();
const CHANNEL_ID = /^[A-Za-z0-9_:@.,+-]{1,200}$/;

/** Who may see operations figures and act: an API key holder or a user with the `admin` role. */
async function requireOperator(request: FastifyRequest, authenticator: Authenticator, keyOnly = false): Promise<Principal> {
  const principal = await authenticateRequest(request, authenticator);
  if (principal.kind === 'server') return principal;
  if (!keyOnly && principal.roles.includes('admin')) return principal;
  throw new SwitchboardError('forbidden', keyOnly ? 'Scraping /metrics needs an API key.' : 'The admin view needs an API key or the admin role.');
}

/**
 * `/metrics` (Prometheus text, API key), `/admin` (a static page) and `/admin/api/...`
 * (its JSON: figures, disconnect a user, close a channel).
 */
export function registerOpsRoutes(app: FastifyInstance, options: OpsRouteOptions): void {
  const { hub, metrics, directory, authenticator, sources } = options;
  if (options.metricsHere) {
    app.get('/metrics', async (request, reply) => {
      await requireOperator(request, authenticator, true);
      const { contentType, body } = await metrics.scrape();
      return reply.type(contentType).send(body);
    });
  }

  app.get('/admin', async (_request, reply) => reply.type('text/html; charset=utf-8').header('cache-control', 'no-store').send(ADMIN_PAGE));

  app.get('/admin/api/stats', async (request) => {
    await requireOperator(request, authenticator);
    return {
      node: { host: hostname(), pid: process.pid, startedAt: STARTED, uptimeSeconds: Math.round((Date.now() - STARTED) / 1000) },
      connections: sources.connections(),
      sessions: directory.size,
      sessionsByTransport: Object.fromEntries(directory.sessionsByTransport()),
      subscriptions: directory.subscriptionCount(),
      channels: directory.occupiedChannels.size,
      published: metrics.published,
      delivered: metrics.deliveredCount,
      latencyMs: await metrics.latencyQuantiles([0.5, 0.99]),
      sendQueueBytes: directory.queuedBytes(),
      memory: process.memoryUsage().rss,
      // The broker keeps no list of nodes; each node answers for itself (poll each behind the balancer).
      nodes: [{ host: hostname(), pid: process.pid, self: true }],
    };
  });

  app.get('/admin/api/users', async (request) => {
    await requireOperator(request, authenticator);
    const users = new Map<string, { user: string; sessions: number; transports: Set<string> }>();
    for (const session of directory.sessions()) {
      const id = session.principal.userId;
      const entry = users.get(id) ?? { user: id, sessions: 0, transports: new Set<string>() };
      entry.sessions++;
      entry.transports.add(session.transport);
      users.set(id, entry);
    }
    return { users: [...users.values()].slice(0, 500).map((u) => ({ ...u, transports: [...u.transports] })) };
  });

  app.post<{ Params: { user: string } }>('/admin/api/users/:user/disconnect', async (request) => {
    await requireOperator(request, authenticator);
    const sessions = directory.sessionsOf(request.params.user);
    const notice = new Delivery({ type: 'close', reason: 'disconnected by an administrator', reconnect: false });
    for (const session of sessions) {
      session.sink.deliver(notice);
      if (session.sink.close) session.sink.close(CLOSE_CODES.forbidden, 'disconnected by an administrator');
      else await hub.disconnect(session);
    }
    return { user: request.params.user, disconnected: sessions.length };
  });

  app.post<{ Params: { channel: string } }>('/admin/api/channels/:channel/close', async (request) => {
    await requireOperator(request, authenticator);
    const channel = request.params.channel;
    if (!CHANNEL_ID.test(channel)) throw new SwitchboardError('bad_request', 'That is not a channel id.');
    // Deleting first: if the channel does not exist nothing else changes.
    await hub.deleteChannel(SERVER_PRINCIPAL, channel);
    const subscribers = directory.subscribersOf(channel);
    await Promise.all(subscribers.map((session) => hub.unsubscribe(session, channel).catch(() => {})));
    return { channel, closed: true, unsubscribed: subscribers.length };
  });
}
