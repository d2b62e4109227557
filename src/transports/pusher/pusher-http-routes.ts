import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { SwitchboardError, toSwitchboardError } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { PusherAppState } from './pusher-app-state.js';
import type { PusherApp } from './pusher-apps.js';
import { type HubChannelRef, parseChannelName, type PusherChannelName, toHubChannel } from './pusher-channel-names.js';
import { encodeEventData, MAX_EVENT_DATA_BYTES } from './pusher-frames.js';
import { checkRequestSignature } from './pusher-request-auth.js';
import type { PusherTransport } from './pusher-transport.js';

const MAX_CHANNELS_PER_EVENT = 100;
const MAX_BATCH = 10;
/** Requests larger than this are refused before parsing (a full batch fits easily). */
const BODY_LIMIT_BYTES = 256 * 1024;

const eventSchema = z.object({
  name: z.string().min(1).max(200),
  data: z.unknown(),
  channels: z.array(z.string()).min(1).optional(),
  channel: z.string().optional(),
  socket_id: z.string().regex(/^\d+\.\d+$/).optional(),
  info: z.string().optional(),
});
const batchSchema = z.object({ batch: z.array(eventSchema.omit({ channels: true })).min(1) });

type Params = { appId: string; channel?: string; user?: string };

/**
 * The Pusher HTTP API under /apps/:appId, for the Pusher server SDKs. Every request is
 * checked against the app's secret (see pusher-request-auth.ts) before it is read.
 */
export function registerPusherRoutes(app: FastifyInstance, transport: PusherTransport, logger: Logger): void {
  void app.register(async (scope) => {
    // The signature covers the body's MD5, so the route needs the exact bytes as sent.
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string', bodyLimit: BODY_LIMIT_BYTES }, (_req, body, done) =>
      done(null, body),
    );

    const route = (
      method: 'GET' | 'POST',
      url: string,
      handler: (ctx: { state: PusherAppState; body: unknown; request: FastifyRequest<{ Params: Params }> }) => Promise<unknown>,
    ) =>
      scope.route<{ Params: Params }>({
        method,
        url,
        bodyLimit: BODY_LIMIT_BYTES,
        handler: async (request, reply) => {
          try {
            const state = authenticate(transport, request);
            const body = parseBody(request.body);
            return await handler({ state, body, request });
          } catch (error) {
            return sendError(reply, error, logger);
          }
        },
      });

    route('POST', '/apps/:appId/events', async ({ state, body }) => {
      const event = parse(eventSchema, body);
      const channels = event.channels ?? (event.channel === undefined ? [] : [event.channel]);
      if (channels.length === 0) throw new SwitchboardError('bad_request', 'Give channels (or channel).');
      if (channels.length > MAX_CHANNELS_PER_EVENT) {
        throw new SwitchboardError('bad_request', `At most ${MAX_CHANNELS_PER_EVENT} channels per event.`);
      }
      const parsed = channels.map(requireChannel);
      const data = checkData(event.data);
      await publish(transport, hubChannels(state, parsed), { ...event, data });
      return event.info === undefined ? {} : { channels: channelInfo(state, parsed, event.info) };
    });

    route('POST', '/apps/:appId/batch_events', async ({ state, body }) => {
      const { batch } = parse(batchSchema, body);
      if (batch.length > MAX_BATCH) throw new SwitchboardError('bad_request', `At most ${MAX_BATCH} events per batch.`);
      // Every item is checked before any is published, so a bad one changes nothing.
      const targets = batch.map((event) => {
        if (event.channel === undefined) throw new SwitchboardError('bad_request', 'Every batch event needs a channel.');
        const channel = requireChannel(event.channel);
        const data = checkData(event.data);
        return { event, data, channel, refs: hubChannels(state, [channel]) };
      });
      for (const { event, data, refs } of targets) await publish(transport, refs, { ...event, data });
      const wantsInfo = batch.some((event) => event.info !== undefined);
      if (!wantsInfo) return {};
      return {
        batch: targets.map(({ event, channel }) =>
          event.info === undefined ? {} : (channelInfo(state, [channel], event.info)[channel.name] ?? {}),
        ),
      };
    });

    route('GET', '/apps/:appId/channels', async ({ state, request }) => {
      const query = request.query as Record<string, unknown>;
      const prefix = typeof query.filter_by_prefix === 'string' ? query.filter_by_prefix : '';
      const info = infoFields(query.info);
      if (info.has('user_count') && !prefix.startsWith('presence-')) {
        throw new SwitchboardError('bad_request', 'info=user_count needs filter_by_prefix=presence-.');
      }
      const channels: Record<string, Record<string, number>> = {};
      for (const channel of state.occupied()) {
        if (!channel.name.startsWith(prefix) || channel.name.startsWith('#')) continue;
        channels[channel.name] = info.has('user_count') && channel.userCount !== null ? { user_count: channel.userCount } : {};
      }
      return { channels };
    });

    route('GET', '/apps/:appId/channels/:channel', async ({ state, request }) => {
      const channel = requireChannel(request.params.channel ?? '');
      const info = infoFields((request.query as Record<string, unknown>).info);
      if (info.has('user_count') && channel.kind !== 'presence') {
        throw new SwitchboardError('bad_request', 'user_count is for presence channels only.');
      }
      const found = state.occupied().find((c) => c.name === channel.name);
      const result: Record<string, unknown> = { occupied: found !== undefined };
      if (info.has('subscription_count')) result.subscription_count = found?.subscriptionCount ?? 0;
      if (info.has('user_count')) result.user_count = found?.userCount ?? 0;
      return result;
    });

    route('GET', '/apps/:appId/channels/:channel/users', async ({ state, request }) => {
      const channel = requireChannel(request.params.channel ?? '');
      if (channel.kind !== 'presence') throw new SwitchboardError('bad_request', 'Users are listed for presence channels only.');
      return { users: state.presence(channel.name).ids.map((id) => ({ id })) };
    });

    route('POST', '/apps/:appId/users/:user/terminate_connections', async ({ state, request }) => {
      state.terminate(request.params.user ?? '');
      return {};
    });
  });
}

function authenticate(transport: PusherTransport, request: FastifyRequest<{ Params: Params }>): PusherAppState {
  const app: PusherApp | undefined = transport.apps.byId(request.params.appId);
  if (!app) throw new SwitchboardError('not_found', `No Pusher app ${request.params.appId}.`);
  const refusal = checkRequestSignature(app, {
    method: request.method,
    path: request.url.split('?')[0]!,
    query: request.query as Record<string, unknown>,
    body: typeof request.body === 'string' ? request.body : '',
  });
  if (refusal) throw new SwitchboardError('unauthorized', refusal);
  return transport.stateOf(app);
}

function parseBody(body: unknown): unknown {
  if (typeof body !== 'string' || body.length === 0) return {};
  try {
    return JSON.parse(body);
  } catch {
    throw new SwitchboardError('bad_request', 'The body is not valid JSON.');
  }
}

function parse<T>(schema: z.ZodType<T>, body: unknown): T {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  throw new SwitchboardError('bad_request', `Invalid ${issue.path.join('.') || 'body'}: ${issue.message}.`);
}

function requireChannel(name: string): PusherChannelName {
  const channel = parseChannelName(name);
  if (!channel) throw new SwitchboardError('bad_request', `Invalid channel name "${name}".`);
  return channel;
}

/** The event's data as it is stored and sent (a string), once it is within Pusher's limits. */
function checkData(data: unknown): string {
  const encoded = encodeEventData(data ?? null);
  if (encoded === null) throw new SwitchboardError('bad_request', 'Event data nests too deep: send it as a JSON string.');
  if (Buffer.byteLength(encoded, 'utf8') > MAX_EVENT_DATA_BYTES) {
    throw new SwitchboardError('too_large', `Event data is larger than ${MAX_EVENT_DATA_BYTES} bytes.`, {
      limit: MAX_EVENT_DATA_BYTES,
    });
  }
  return encoded;
}

function hubChannels(state: PusherAppState, channels: readonly PusherChannelName[]): HubChannelRef[] {
  return channels.map((channel) => toHubChannel(state.app, channel));
}

/** Stores the event in each channel's hub log; the hub fans it out to every protocol. */
async function publish(
  transport: PusherTransport,
  refs: readonly HubChannelRef[],
  event: { name: string; data: string; socket_id?: string },
): Promise<void> {
  await Promise.all(
    refs.map((ref) =>
      transport.bridge.publish(ref, {
        pusherEvent: event.name,
        data: event.data,
        ...(event.socket_id === undefined ? {} : { pusherSocketId: event.socket_id }),
      }),
    ),
  );
}

function infoFields(value: unknown): Set<string> {
  return new Set(typeof value === 'string' ? value.split(',').map((field) => field.trim()) : []);
}

function channelInfo(
  state: PusherAppState,
  channels: readonly PusherChannelName[],
  info: string,
): Record<string, Record<string, number>> {
  const fields = infoFields(info);
  const occupied = new Map(state.occupied().map((c) => [c.name, c]));
  const out: Record<string, Record<string, number>> = {};
  for (const channel of channels) {
    const found = occupied.get(channel.name);
    const entry: Record<string, number> = {};
    if (fields.has('subscription_count')) entry.subscription_count = found?.subscriptionCount ?? 0;
    if (fields.has('user_count') && channel.kind === 'presence') entry.user_count = found?.userCount ?? 0;
    out[channel.name] = entry;
  }
  return out;
}

function sendError(reply: FastifyReply, error: unknown, logger: Logger): FastifyReply {
  const failure = toSwitchboardError(error);
  if (failure.code === 'internal') logger.error({ err: error }, 'pusher API request failed');
  return reply.code(failure.httpStatus).send(failure.toJSON());
}
