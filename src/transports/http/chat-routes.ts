import { z } from 'zod';
import type { Chat } from '../../core/chat.js';
import { SwitchboardError } from '../../core/errors.js';
import type { ApiApp, ApiContext } from './api-context.js';
import { channel, channelId, channelParams, errors, event, messageParams, userId, userParams } from './api-schemas.js';

/**
 * The chat features over REST, the same Chat calls as the /ws chat frames (see "Chat
 * features" in docs/protocol.md). Live pushes (status, receipts, lists) stay on /ws and SSE.
 */

const tags = ['chat'];
const millis = z.number().int();
const seq = z.number().int().nonnegative();
const limit = z.coerce.number().int().min(1).max(100).optional();

const userState = z
  .object({ user: userId, name: z.string(), status: z.enum(['online', 'away', 'offline']), lastSeen: millis.nullable() })
  .meta({ id: 'UserState' });
const direct = z
  .object({ channel, members: z.array(userId), latest: event.nullable() })
  .meta({ id: 'DirectConversation' });
const reactionCount = z.object({ emoji: z.string(), count: z.number().int(), users: z.array(userId) });
const emoji = z.string().regex(/^\S{1,32}$/u, 'an emoji is 1-32 characters without spaces');

/** A search position as one opaque string, so a client passes `next` back unchanged. */
const cursor = {
  encode: (at: { createdAt: number; channel: string; seq: number }) =>
    Buffer.from(JSON.stringify([at.createdAt, at.channel, at.seq])).toString('base64url'),
  decode(value: string): { createdAt: number; channel: string; seq: number } {
    try {
      const [createdAt, channelId, seqValue] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[];
      if (typeof createdAt === 'number' && typeof channelId === 'string' && typeof seqValue === 'number') {
        return { createdAt, channel: channelId, seq: seqValue };
      }
    } catch {
      // fall through to the error below
    }
    throw new SwitchboardError('bad_request', 'Invalid cursor: pass back the `next` of a previous page.');
  },
};

export function registerChatRoutes(app: ApiApp, { hub, principal }: ApiContext, chat: Chat): void {
  app.get(
    '/api/me/directs',
    {
      schema: {
        tags,
        summary: 'Your direct conversations with their newest message, newest activity first',
        querystring: z.strictObject({ limit }),
        response: { 200: z.object({ directs: z.array(direct) }), ...errors(400) },
      },
    },
    async (request) => ({ directs: await chat.directs(principal(request), request.query.limit) }),
  );

  app.get(
    '/api/me/contacts',
    { schema: { tags, summary: 'Your contacts and their status', response: { 200: z.object({ contacts: z.array(userState) }) } } },
    async (request) => ({ contacts: await chat.contacts(principal(request)) }),
  );

  app.put(
    '/api/me/contacts/:user',
    {
      schema: {
        tags,
        summary: 'Add a contact (both ways)',
        params: userParams,
        response: { 200: userState, ...errors(400, 404) },
      },
    },
    async (request) => chat.addContact(principal(request), request.params.user),
  );

  app.delete(
    '/api/me/contacts/:user',
    {
      schema: {
        tags,
        summary: 'Remove a contact (both ways)',
        params: userParams,
        response: { 204: z.null().describe('Removed'), ...errors(404) },
      },
    },
    async (request, reply) => {
      await chat.removeContact(principal(request), request.params.user);
      return reply.code(204).send(null);
    },
  );

  app.put(
    '/api/me/status',
    {
      schema: {
        tags,
        summary: 'Set your status to online or away (offline follows your connections)',
        body: z.strictObject({ status: z.enum(['online', 'away']) }),
        response: { 200: userState, ...errors(400) },
      },
    },
    async (request) => chat.setStatus(principal(request), request.body.status),
  );

  app.get(
    '/api/me/catchup',
    {
      schema: {
        tags,
        summary: 'What changed since you were last seen: unread channels, DMs, mentions',
        response: {
          200: z.object({
            lastSeen: millis.nullable(),
            channels: z.array(
              z.object({ channel: channelId, type: z.string(), lastSeq: seq, readSeq: seq, unread: z.number().int() }),
            ),
            directs: z.array(direct),
            mentions: z.array(event),
          }),
        },
      },
    },
    async (request) => chat.catchUp(principal(request)),
  );

  app.put(
    '/api/channels/:channel/read',
    {
      schema: {
        tags,
        summary: 'Move your read position forward (members of private channels and DMs get a receipt)',
        params: channelParams,
        body: z.strictObject({ seq }),
        response: { 200: z.object({ channel: channelId, seq }), ...errors(400, 403, 404) },
      },
    },
    async (request) => chat.markRead(principal(request), request.params.channel, request.body.seq),
  );

  app.get(
    '/api/channels/:channel/read',
    {
      schema: {
        tags,
        summary: "Read positions: every member's in private channels and DMs, only yours in public ones",
        params: channelParams,
        response: {
          200: z.object({ positions: z.array(z.object({ user: userId, seq, at: millis })) }),
          ...errors(403, 404),
        },
      },
    },
    async (request) => ({ positions: await chat.readPositions(principal(request), request.params.channel) }),
  );

  const reactionParams = z.object({ channel: channelId, seq: z.coerce.number().int().positive(), emoji });
  const reactionResult = z.object({ channel: channelId, target: seq, seq: seq.nullable(), changed: z.boolean() });
  for (const [method, remove] of [['put', false], ['delete', true]] as const) {
    app[method](
      '/api/channels/:channel/messages/:seq/reactions/:emoji',
      {
        schema: {
          tags,
          summary: remove ? 'Remove your reaction' : 'React to a message (a `reaction` event; twice is once)',
          params: reactionParams,
          response: { 200: reactionResult, ...errors(400, 403, 404, 409) },
        },
      },
      async (request) => {
        const { channel: id, seq: target, emoji: chosen } = request.params;
        const changed = await hub.react(principal(request), { channel: id, seq: target, emoji: chosen, remove });
        return { channel: id, target, seq: changed?.seq ?? null, changed: changed !== null };
      },
    );
  }

  app.get(
    '/api/channels/:channel/reactions',
    {
      schema: {
        tags,
        summary: 'Reaction counts per emoji for up to 200 messages',
        params: channelParams,
        querystring: z.strictObject({
          seqs: z
            .string()
            .regex(/^\d{1,15}(,\d{1,15}){0,199}$/, 'comma-separated seqs, at most 200')
            .describe('e.g. 41,42,43'),
        }),
        response: { 200: z.object({ reactions: z.record(z.string(), z.array(reactionCount)) }), ...errors(400, 403, 404) },
      },
    },
    async (request) => ({
      reactions: await chat.reactions(principal(request), request.params.channel, request.query.seqs.split(',').map(Number)),
    }),
  );

  app.get(
    '/api/channels/:channel/messages/:seq/thread',
    {
      schema: {
        tags,
        summary: 'A message and its replies, oldest first; page on with `after`',
        params: messageParams,
        querystring: z.strictObject({ after: z.coerce.number().int().nonnegative().optional(), limit }),
        response: { 200: z.object({ root: event, replies: z.array(event), hasMore: z.boolean() }), ...errors(400, 403, 404) },
      },
    },
    async (request) => chat.thread(principal(request), { ...request.params, ...request.query }),
  );

  app.get(
    '/api/search',
    {
      schema: {
        tags,
        summary: 'Full-text search over the messages you may read, newest first',
        querystring: z.strictObject({
          q: z.string().min(1).max(200).describe('Words to find (all of them).'),
          channel: channelId.optional(),
          author: userId.optional(),
          cursor: z.string().max(400).optional().describe('The `next` of the previous page.'),
          limit,
        }),
        response: { 200: z.object({ results: z.array(event), next: z.string().nullable() }), ...errors(400, 403, 404) },
      },
    },
    async (request) => {
      const { q, cursor: after, ...filters } = request.query;
      const page = await chat.search(principal(request), {
        ...filters,
        text: q,
        before: after === undefined ? undefined : cursor.decode(after),
      });
      return { results: page.results, next: page.next ? cursor.encode(page.next) : null };
    },
  );
}
