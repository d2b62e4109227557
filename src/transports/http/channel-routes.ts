import type { ApiApp, ApiContext } from './api-context.js';
import {
  addMemberBody,
  channel,
  channelPage,
  channelParams,
  createChannelBody,
  errors,
  listQuery,
  member,
  memberList,
  memberParams,
  presenceList,
  updateChannelBody,
} from './api-schemas.js';
import { z } from 'zod';

const tags = ['channels'];

/** Channels, members and presence: each route is one Hub call, so the rules are the WebSocket's. */
export function registerChannelRoutes(app: ApiApp, { hub, principal }: ApiContext): void {
  app.post(
    '/api/channels',
    {
      schema: {
        tags,
        summary: 'Create a channel (a direct channel is opened once and returned afterwards)',
        body: createChannelBody,
        response: { 201: channel, ...errors(400, 409) },
      },
    },
    async (request, reply) => reply.code(201).send(await hub.createChannel(principal(request), request.body)),
  );

  app.get(
    '/api/channels',
    {
      schema: {
        tags,
        summary: 'Channels you may see: public ones and those you belong to (all, for an API key)',
        querystring: listQuery,
        response: { 200: channelPage, ...errors(400) },
      },
    },
    async (request) => {
      const { limit, after } = request.query;
      const channels = await hub.listChannels(principal(request), { limit, after });
      return { channels, next: channels.length === limit ? channels.at(-1)!.id : null };
    },
  );

  app.get(
    '/api/channels/:channel',
    { schema: { tags, summary: 'A channel', params: channelParams, response: { 200: channel, ...errors(400, 403, 404) } } },
    async (request) => hub.getChannel(principal(request), request.params.channel),
  );

  app.patch(
    '/api/channels/:channel',
    {
      schema: {
        tags,
        summary: 'Change the title or publish policy (owners and admins)',
        params: channelParams,
        body: updateChannelBody,
        response: { 200: channel, ...errors(400, 403, 404) },
      },
    },
    async (request) => hub.updateChannel(principal(request), request.params.channel, request.body),
  );

  app.delete(
    '/api/channels/:channel',
    {
      schema: {
        tags,
        summary: 'Delete a channel with its history (owners)',
        params: channelParams,
        response: { 204: z.null().describe('Deleted'), ...errors(400, 403, 404) },
      },
    },
    async (request, reply) => {
      await hub.deleteChannel(principal(request), request.params.channel);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/channels/:channel/members',
    {
      schema: { tags, summary: 'Members of a channel', params: channelParams, response: { 200: memberList, ...errors(400, 403, 404) } },
    },
    async (request) => ({ members: await hub.listMembers(principal(request), request.params.channel) }),
  );

  app.post(
    '/api/channels/:channel/members',
    {
      schema: {
        tags,
        summary: 'Add a member (owners and admins), or join a public channel yourself',
        params: channelParams,
        body: addMemberBody,
        response: { 201: member, ...errors(400, 403, 404) },
      },
    },
    async (request, reply) => {
      const who = principal(request);
      const { user, role } = request.body;
      const joined =
        who.kind === 'user' && user === who.userId && role === undefined
          ? await hub.join(who, request.params.channel)
          : await hub.addMember(who, request.params.channel, user, role);
      return reply.code(201).send(joined);
    },
  );

  app.delete(
    '/api/channels/:channel/members/:user',
    {
      schema: {
        tags,
        summary: 'Remove a member (owners and admins), or leave yourself',
        params: memberParams,
        response: { 204: z.null().describe('Removed'), ...errors(400, 403, 404) },
      },
    },
    async (request, reply) => {
      await hub.removeMember(principal(request), request.params.channel, request.params.user);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/channels/:channel/presence',
    {
      schema: {
        tags,
        summary: 'Who is online in the channel, with their number of sessions',
        params: channelParams,
        response: { 200: presenceList, ...errors(400, 403, 404) },
      },
    },
    async (request) => ({ members: await hub.presence(principal(request), request.params.channel) }),
  );
}
