import type { FastifyInstance, FastifyRequest } from 'fastify';
import { SwitchboardError } from '../core/errors.js';
import { USER_ID_PATTERN } from '../core/names.js';
import type { ActionContext, AdminActions } from './admin-actions.js';
import { ADMIN_PAGE } from './admin-page.js';
import { ADMIN_SCRIPT } from './admin-script.js';
import { ADMIN_STYLE } from './admin-style.js';
import type { ClusterView, Question } from './cluster-view.js';
import type { OperatorAccess } from './operator-access.js';

export interface AdminRouteOptions {
  readonly access: OperatorAccess;
  readonly actions: AdminActions;
  readonly cluster: ClusterView;
  /** The auth mode, for the sign-in screen. */
  readonly mode: string;
  /** This node's own figures, as /admin/api/stats has always answered. */
  readonly stats: () => Promise<Record<string, unknown>>;
}

/** One connected user across the cluster, as the console lists them. */
export interface ConnectedUser {
  readonly user: string;
  readonly name: string;
  readonly sessions: number;
  readonly transports: readonly string[];
  readonly nodes: readonly string[];
}

/** What each node answers to a `users` question. */
export interface LocalUsers {
  readonly users: readonly { readonly user: string; readonly name: string; readonly sessions: number; readonly transports: readonly string[] }[];
  /** Users on this node matching the query, beyond the limit too. */
  readonly matching: number;
}

/**
 * The console's page, the script and style it loads, and its JSON API under /admin/api:
 * the cluster view, connected users, the channel browser, the actions and the audit log.
 * Everything but the static files needs an operator (see OperatorAccess).
 *
 * The page allows nothing but its own script, style and API (a strict Content-Security-
 * Policy) and no framing, so an injected string cannot run and another site cannot lay
 * the console under a click.
 */
export function registerAdminRoutes(app: FastifyInstance, options: AdminRouteOptions): void {
  const { access, actions, cluster } = options;
  const context = async (request: FastifyRequest): Promise<ActionContext> => ({ operator: await access.admin(request), address: request.ip ?? null });
  const staticFile = (body: string, type: string) => async (_request: FastifyRequest, reply: import('fastify').FastifyReply) =>
    reply
      .type(type)
      .header('cache-control', 'no-store')
      .header(
        'content-security-policy',
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
      )
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .send(body);

  app.get('/admin', staticFile(ADMIN_PAGE, 'text/html; charset=utf-8'));
  app.get('/admin/console.js', staticFile(ADMIN_SCRIPT, 'text/javascript; charset=utf-8'));
  app.get('/admin/console.css', staticFile(ADMIN_STYLE, 'text/css; charset=utf-8'));

  // Who is signed in: the console's first call. Answers 200 either way, with the auth mode,
  // so the sign-in screen knows whether to offer an account's password or a token.
  app.get('/admin/api/session', async (request) => {
    try {
      const { operator } = await context(request);
      return { signedIn: true, mode: options.mode, keyless: access.keyless, operator: { kind: operator.kind, actor: operator.actor, name: operator.principal.name } };
    } catch (error) {
      if (!(error instanceof SwitchboardError)) throw error;
      return { signedIn: false, mode: options.mode, keyless: access.keyless, code: error.code, message: error.message };
    }
  });

  app.get('/admin/api/cluster', async (request) => {
    await context(request);
    const nodes = cluster.nodes().map(({ report, status, self, lastSeenMs }) => ({ ...report, status, self, lastSeenMs }));
    const up = nodes.filter((node) => node.status === 'up');
    const sum = (field: 'connections' | 'sessions' | 'subscriptions' | 'publishedPerSecond' | 'deliveredPerSecond' | 'sendQueueBytes' | 'slowConsumerCuts' | 'published' | 'delivered' | 'rateLimited') =>
      Math.round(up.reduce((total, node) => total + node[field], 0) * 10) / 10;
    return {
      at: Date.now(),
      self: cluster.node,
      nodes,
      throughput: cluster.throughput(),
      totals: {
        nodes: nodes.length,
        nodesUp: up.length,
        connections: sum('connections'),
        sessions: sum('sessions'),
        subscriptions: sum('subscriptions'),
        publishedPerSecond: sum('publishedPerSecond'),
        deliveredPerSecond: sum('deliveredPerSecond'),
        published: sum('published'),
        delivered: sum('delivered'),
        sendQueueBytes: sum('sendQueueBytes'),
        slowConsumerCuts: sum('slowConsumerCuts'),
        rateLimited: sum('rateLimited'),
      },
    };
  });

  app.get('/admin/api/stats', async (request) => {
    await context(request);
    return options.stats();
  });

  app.get<{ Querystring: { q?: string; limit?: string } }>('/admin/api/users', async (request) => {
    await context(request);
    const query = (request.query.q ?? '').trim().slice(0, 64);
    const limit = boundedInt(request.query.limit, 200, 1000);
    const question: Question = { type: 'users', query, limit };
    const { answers, missing } = await cluster.ask<LocalUsers>(question);
    const users = new Map<string, { user: string; name: string; sessions: number; transports: Set<string>; nodes: string[] }>();
    for (const { name: node, answer } of answers) {
      for (const entry of answer.users) {
        const merged = users.get(entry.user) ?? { user: entry.user, name: entry.name, sessions: 0, transports: new Set<string>(), nodes: [] };
        merged.sessions += entry.sessions;
        for (const transport of entry.transports) merged.transports.add(transport);
        merged.nodes.push(node);
        users.set(entry.user, merged);
      }
    }
    const list: ConnectedUser[] = [...users.values()]
      .sort((a, b) => a.user.localeCompare(b.user))
      .slice(0, limit)
      .map((entry) => ({ ...entry, transports: [...entry.transports].sort(), nodes: entry.nodes.sort() }));
    // Matching users per node, summed: a user on two nodes counts twice, so this is an upper bound.
    const matching = answers.reduce((total, { answer }) => total + answer.matching, 0);
    return { users: list, truncated: matching > list.length && list.length === limit, missing };
  });

  app.post<{ Params: { user: string } }>('/admin/api/users/:user/disconnect', async (request) => {
    const ctx = await context(request);
    // The other actions' commands check their input; this one is the console's own.
    if (!USER_ID_PATTERN.test(request.params.user)) throw new SwitchboardError('bad_request', 'That is not a user id.');
    return actions.disconnectUser(ctx, request.params.user);
  });

  app.post<{ Params: { user: string }; Body: { reason?: unknown } | undefined }>('/admin/api/users/:user/ban', async (request) => {
    const reason = typeof request.body?.reason === 'string' && request.body.reason.trim() !== '' ? request.body.reason.trim() : undefined;
    return actions.banUser(await context(request), request.params.user, reason);
  });

  app.post<{ Params: { user: string } }>('/admin/api/users/:user/unban', async (request) => {
    return actions.unbanUser(await context(request), request.params.user);
  });

  app.get<{ Querystring: { after?: string; limit?: string } }>('/admin/api/channels', async (request) => {
    const ctx = await context(request);
    const input = { limit: boundedInt(request.query.limit, 100, 500), ...(request.query.after ? { after: request.query.after } : {}) };
    return actions.run(ctx, 'channel.list', input);
  });

  app.get<{ Params: { channel: string } }>('/admin/api/channels/:channel', async (request) => {
    const ctx = await context(request);
    const input = { channel: request.params.channel };
    const [channel, members, presence] = await Promise.all([
      actions.run(ctx, 'channel.get', input),
      actions.run(ctx, 'members.list', input),
      actions.run(ctx, 'presence', input),
    ]);
    return { channel, members: (members as { members: unknown[] }).members, online: (presence as { members: unknown[] }).members };
  });

  app.get<{ Params: { channel: string }; Querystring: { before?: string } }>('/admin/api/channels/:channel/history', async (request) => {
    const ctx = await context(request);
    const before = request.query.before === undefined ? undefined : Number(request.query.before);
    return actions.run(ctx, 'history', { channel: request.params.channel, limit: 50, ...(before !== undefined ? { before } : {}) });
  });

  const deleteChannel = async (request: FastifyRequest<{ Params: { channel: string } }>) =>
    actions.deleteChannel(await context(request), request.params.channel);
  app.post<{ Params: { channel: string } }>('/admin/api/channels/:channel/delete', deleteChannel);
  // The first admin view's name for it; kept for scripts that use it.
  app.post<{ Params: { channel: string } }>('/admin/api/channels/:channel/close', deleteChannel);

  app.post<{ Params: { channel: string } }>('/admin/api/channels/:channel/archive', async (request) => {
    return actions.archiveChannel(await context(request), request.params.channel);
  });
  app.post<{ Params: { channel: string } }>('/admin/api/channels/:channel/unarchive', async (request) => {
    return actions.archiveChannel(await context(request), request.params.channel, false);
  });

  app.delete<{ Params: { channel: string; user: string } }>('/admin/api/channels/:channel/members/:user', async (request) => {
    return actions.removeMember(await context(request), request.params.channel, request.params.user);
  });

  app.get<{ Querystring: { before?: string; limit?: string } }>('/admin/api/audit', async (request) => {
    await context(request);
    const limit = boundedInt(request.query.limit, 50, 200);
    const [at, id] = (request.query.before ?? '').split('/');
    const before = at && id ? { at: Number(at), id } : undefined;
    if (before && !Number.isFinite(before.at)) throw new SwitchboardError('bad_request', 'before is `at/id` of an entry.');
    return { entries: await actions.audit({ limit, before }) };
  });
}

function boundedInt(text: string | undefined, fallback: number, max: number): number {
  const value = Number(text);
  return Number.isInteger(value) && value > 0 ? Math.min(value, max) : fallback;
}
