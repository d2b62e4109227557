import { inboxChannelOf } from '../../core/access.js';
import { toSwitchboardError } from '../../core/errors.js';
import type { PublishInput, PublishResult } from '../../core/hub.js';
import type { Principal } from '../../core/types.js';
import { assertServer } from './request-auth.js';
import type { ApiApp, ApiContext } from './api-context.js';
import {
  batchBody,
  batchResult,
  channelParams,
  editBody,
  errors,
  event,
  historyPage,
  historyQuery,
  messageBody,
  messageParams,
  publishResult,
  serverEventBody,
} from './api-schemas.js';

const tags = ['messages'];

function published(result: PublishResult) {
  return { seq: result.event.seq, duplicate: result.duplicate, event: result.event };
}

/** Publish, history, edit, delete, batch and server events: each one Hub call, as on /ws. */
export function registerMessageRoutes(app: ApiApp, { hub, principal }: ApiContext): void {
  app.post(
    '/api/channels/:channel/messages',
    {
      schema: {
        tags,
        summary: 'Publish a message; 201 when stored, 200 when its cid was stored before',
        params: channelParams,
        body: messageBody,
        response: { 200: publishResult, 201: publishResult, ...errors(400, 403, 404, 413, 429) },
      },
    },
    async (request, reply) => {
      const result = await hub.publish(principal(request), { channel: request.params.channel, ...request.body });
      return reply.code(result.duplicate ? 200 : 201).send(published(result));
    },
  );

  app.get(
    '/api/channels/:channel/messages',
    {
      schema: {
        tags,
        summary: 'History: the newest messages, or a page before / after a seq',
        params: channelParams,
        querystring: historyQuery,
        response: { 200: historyPage, ...errors(400, 403, 404) },
      },
    },
    async (request) => hub.history(principal(request), { channel: request.params.channel, ...request.query }),
  );

  app.patch(
    '/api/channels/:channel/messages/:seq',
    {
      schema: {
        tags,
        summary: 'Edit a message (its author); answers the `edit` event',
        params: messageParams,
        body: editBody,
        response: { 200: event, ...errors(400, 403, 404, 409, 413) },
      },
    },
    async (request) => hub.edit(principal(request), { ...request.params, ...request.body }),
  );

  app.delete(
    '/api/channels/:channel/messages/:seq',
    {
      schema: {
        tags,
        summary: 'Delete a message (its author, or channel owners and admins); answers the `delete` event',
        params: messageParams,
        response: { 200: event, ...errors(400, 403, 404, 409) },
      },
    },
    async (request) => hub.delete(principal(request), request.params),
  );

  app.post(
    '/api/messages/batch',
    {
      schema: {
        tags,
        summary: 'Publish up to 100 messages to any channels; each succeeds or fails on its own',
        body: batchBody,
        response: { 200: batchResult, ...errors(400) },
      },
    },
    async (request) => {
      const who = principal(request);
      // Concurrent publishes share the group commit: one transaction for the whole batch.
      const results = await Promise.all(request.body.messages.map((message) => publishOne(who, message)));
      return { results };
    },
  );

  app.post(
    '/api/events',
    {
      schema: {
        tags: ['server'],
        summary: 'The app\'s backend (API key) publishes to a channel or to a user\'s inbox',
        body: serverEventBody,
        response: { 200: publishResult, 201: publishResult, ...errors(400, 403, 404, 413) },
      },
    },
    async (request, reply) => {
      const who = principal(request);
      assertServer(who);
      const { channel, user, ...message } = request.body;
      const result = await hub.publish(who, { channel: channel ?? inboxChannelOf(user!), ...message });
      return reply.code(result.duplicate ? 200 : 201).send(published(result));
    },
  );

  async function publishOne(who: Principal, message: PublishInput) {
    try {
      return { ok: true as const, ...published(await hub.publish(who, message)) };
    } catch (error) {
      const failure = toSwitchboardError(error);
      return { ok: false as const, code: failure.code, message: failure.message };
    }
  }
}
