import type {
  handleServerStreamingCall,
  handleUnaryCall,
  ServerWritableStream,
  UntypedServiceImplementation,
} from '@grpc/grpc-js';
import type { z } from 'zod';
import type { Authenticator } from '../../auth/authenticator.js';
import type { Hub } from '../../core/hub.js';
import type { Logger } from '../../core/logger.js';
import type { Principal } from '../../core/types.js';
import type { PrincipalRateLimiter } from '../principal-rate-limiter.js';
import { authenticateCall } from './grpc-auth.js';
import { toServiceError } from './grpc-errors.js';
import { channelMessage, eventMessage, memberMessage, presenceMemberMessage } from './grpc-messages.js';
import { parseRequest, requests } from './grpc-requests.js';
import { type ResponseSerializer, SubscribeStream } from './subscribe-stream.js';

export interface SwitchboardServiceOptions {
  readonly hub: Hub;
  readonly authenticator: Authenticator;
  readonly logger: Logger;
  /** Serializer of SubscribeResponse, so each push is encoded once for every stream. */
  readonly serializeSubscribeResponse: ResponseSerializer;
  /** Bytes a subscriber may have waiting before it is cut off as a slow consumer. */
  readonly sendQueueBytes: number;
  /** The per-connection call rate; every call and every Subscribe takes a token. */
  readonly rateLimiter: PrincipalRateLimiter;
  /** Called with each Subscribe stream, so shutdown can end the ones still open. */
  readonly onStream: (stream: SubscribeStream) => void;
}

/**
 * The switchboard.v1.Switchboard service: every call validates its request, authenticates
 * from its metadata, and asks the hub, which applies the same rules as on /ws.
 */
export function switchboardService(options: SwitchboardServiceOptions): UntypedServiceImplementation {
  const { hub, authenticator, logger } = options;

  const unary =
    <S extends z.ZodType>(
      schema: S,
      handler: (principal: Principal, request: z.output<S>) => Promise<object>,
    ): handleUnaryCall<unknown, object> =>
    (call, callback) => {
      (async () => {
        const request = parseRequest(schema, call.request);
        const principal = await authenticateCall(call.metadata, authenticator);
        options.rateLimiter.check(principal, call.getPeer());
        return handler(principal, request);
      })().then(
        (response) => callback(null, response),
        (error: unknown) => callback(toServiceError(error, logger)),
      );
    };

  const subscribe: handleServerStreamingCall<unknown, Buffer> = (call) => {
    let request: z.output<typeof requests.subscribe>;
    try {
      request = parseRequest(requests.subscribe, call.request);
    } catch (error) {
      call.emit('error', toServiceError(error, logger));
      return;
    }
    const stream = new SubscribeStream({
      call,
      serialize: options.serializeSubscribeResponse,
      maxQueuedBytes: options.sendQueueBytes,
      eventsOnly: request.eventsOnly ?? false,
      logger,
    });
    options.onStream(stream);
    runSubscribe(call, stream, request).catch((error: unknown) => stream.end(toServiceError(error, logger)));
  };

  const runSubscribe = async (
    call: ServerWritableStream<unknown, Buffer>,
    stream: SubscribeStream,
    request: z.output<typeof requests.subscribe>,
  ) => {
    const principal = await authenticateCall(call.metadata, authenticator);
    options.rateLimiter.check(principal, call.getPeer());
    if (stream.ended) return;
    const session = await hub.connect(principal, 'grpc', stream);
    let disconnected = false;
    const disconnect = () => {
      if (disconnected) return;
      disconnected = true;
      hub.disconnect(session).catch((error: unknown) => logger.warn({ err: error }, 'gRPC session disconnect failed'));
    };
    call.on('cancelled', disconnect);
    call.on('close', disconnect);
    if (stream.ended) {
      disconnect();
      return;
    }
    try {
      const { channel, seq } = await hub.subscribe(session, request.channel, request.since);
      stream.write(options.serializeSubscribeResponse({ subscribed: { channel: channel.id, seq, session: session.id } }));
    } catch (error) {
      disconnect();
      throw error;
    }
  };

  return {
    Publish: unary(requests.publish, async (who, request) => {
      const { event, duplicate } = await hub.publish(who, request);
      return { channel: event.channel, seq: event.seq, id: event.id, createdAt: event.createdAt, duplicate };
    }),
    Edit: unary(requests.edit, async (who, request) => {
      const event = await hub.edit(who, request);
      return { channel: event.channel, seq: event.seq, target: event.target ?? undefined };
    }),
    Delete: unary(requests.delete, async (who, request) => {
      const event = await hub.delete(who, request);
      return { channel: event.channel, seq: event.seq, target: event.target ?? undefined };
    }),
    Subscribe: subscribe,
    History: unary(requests.history, async (who, { limit, ...rest }) => {
      const page = await hub.history(who, { ...rest, limit: limit || undefined });
      return { events: page.events.map(eventMessage), hasMore: page.hasMore };
    }),
    Presence: unary(requests.presence, async (who, { channel }) => {
      const members = await hub.presence(who, channel);
      return { members: members.map(presenceMemberMessage) };
    }),
    CreateChannel: unary(requests.createChannel, async (who, request) => {
      const channel = await hub.createChannel(who, { ...request, id: request.channel });
      return channelMessage(channel);
    }),
    GetChannel: unary(requests.getChannel, async (who, { channel }) => channelMessage(await hub.getChannel(who, channel))),
    ListChannels: unary(requests.listChannels, async (who, request) => {
      const channels = await hub.listChannels(who, { limit: request.limit || 100, after: request.after });
      return { channels: channels.map(channelMessage) };
    }),
    JoinChannel: unary(requests.joinChannel, async (who, { channel }) => memberMessage(await hub.join(who, channel))),
    LeaveChannel: unary(requests.leaveChannel, async (who, { channel }) => {
      await hub.leave(who, channel);
      return {};
    }),
    AddMember: unary(requests.addMember, async (who, request) => {
      return memberMessage(await hub.addMember(who, request.channel, request.user, request.role));
    }),
    RemoveMember: unary(requests.removeMember, async (who, request) => {
      await hub.removeMember(who, request.channel, request.user);
      return {};
    }),
    ListMembers: unary(requests.listMembers, async (who, { channel }) => {
      const members = await hub.listMembers(who, channel);
      return { members: members.map(memberMessage) };
    }),
  };
}
