import { COMMANDS, type CommandResult } from '../../protocol/commands.js';
import { inboxChannelOf } from '../../protocol/names.js';
import { toSwitchboardError } from '../core/errors.js';
import type { Hub, PublishInput, PublishResult } from '../core/hub.js';
import type { ChannelEvent } from '../core/types.js';
import type { Handlers } from './command-registry.js';
import { isRefusedMessage } from './hook-step.js';
import { parseInput } from './validation.js';

/** The core's commands: channels, members, the log, presence, users. Each is one Hub call. */
export function coreCommands(hub: Hub): Handlers {
  return {
    ping: async () => ({ at: Date.now() }),

    'channel.create': async ({ principal }, input) =>
      hub.createChannel(principal, {
        id: input.channel,
        type: input.channelType,
        title: input.title,
        topic: input.topic,
        publish: input.publish,
        members: input.members,
        retention: input.retention,
      }),
    'channel.get': async ({ principal }, { channel }) => hub.getChannel(principal, channel),
    'channel.list': async ({ principal }, { limit, after }) => {
      const channels = await hub.listChannels(principal, { limit, after });
      return { channels, next: channels.length === limit ? channels.at(-1)!.id : null };
    },
    'channel.update': async ({ principal }, { channel, ...changes }) => hub.updateChannel(principal, channel, changes),
    'channel.delete': async ({ principal }, { channel }) => {
      await hub.deleteChannel(principal, channel);
      return null;
    },
    'channel.join': async ({ principal }, { channel }) => hub.join(principal, channel),
    'channel.leave': async ({ principal }, { channel }) => {
      await hub.leave(principal, channel);
      return null;
    },
    'members.list': async ({ principal }, { channel }) => ({ members: await hub.listMembers(principal, channel) }),
    // Adding yourself without a role is joining (a public channel's open door).
    'members.add': async ({ principal }, { channel, user, role }) =>
      principal.kind === 'user' && user === principal.userId && role === undefined
        ? hub.join(principal, channel)
        : hub.addMember(principal, channel, user, role),
    'members.remove': async ({ principal }, { channel, user }) => {
      await hub.removeMember(principal, channel, user);
      return null;
    },

    subscribe: async ({ session, hookInfo }, { channel, since, epoch, presence }) => {
      const subscribed = await hub.subscribe(session!, channel, since, { presence, info: hookInfo, epoch });
      const result = { channel: subscribed.channel.id, seq: subscribed.seq, epoch: subscribed.epoch };
      return subscribed.truncatedFrom === undefined ? result : { ...result, truncated: true as const, from: subscribed.truncatedFrom };
    },
    unsubscribe: async ({ session }, { channel }) => {
      await hub.unsubscribe(session!, channel);
      return null;
    },
    publish: async ({ principal }, input) => acknowledge(await hub.publish(principal, input)),
    'publish.batch': async ({ principal }, { messages }) => {
      // Concurrent publishes share the group commit: one transaction for the whole batch.
      const results = await Promise.all(messages.map((message: unknown) => publishOne(hub, principal, message)));
      return { results };
    },
    push: async ({ principal }, { channel, user, ...message }) =>
      acknowledge(await hub.publish(principal, { channel: channel ?? inboxChannelOf(user!), ...message })),
    edit: async ({ principal }, input) => acknowledge({ event: await hub.edit(principal, input), duplicate: false }),
    delete: async ({ principal }, input) => acknowledge({ event: await hub.delete(principal, input), duplicate: false }),
    history: async ({ principal }, input) => hub.history(principal, input),

    presence: ({ principal }, { channel, after, limit }) => hub.presence(principal, channel, { after, limit }),
    typing: async ({ principal, session }, { channel }) => {
      if (session) {
        hub.typing(session, channel);
        return null;
      }
      // Without a connection (REST, a unary gRPC call) the caller must still be a reader.
      await hub.getChannel(principal, channel);
      hub.signal({ type: 'typing', channel, user: principal.userId, at: Date.now() });
      return null;
    },

    'users.get': async ({ principal }, { user }) => hub.getUser(principal, user),
    'users.list': async ({ principal }, { limit, after }) => {
      const users = await hub.listUsers(principal, { limit, after });
      return { users, next: users.length === limit ? users.at(-1)!.id : null };
    },
    'users.update': async ({ principal }, { user, ...changes }) => hub.updateUser(principal, user, changes),
  };
}

/** The one ack of every stored write: where the event sits in its channel's log. */
export function acknowledge({ event, duplicate }: { event: ChannelEvent; duplicate: boolean }): CommandResult<'publish'> {
  return { channel: event.channel, seq: event.seq, id: event.id, createdAt: event.createdAt, target: event.target, duplicate };
}

/**
 * One message of a batch, which succeeds or fails on its own (the app's publish hook may
 * have refused it already: see RefusedMessage). The pipeline checked the
 * batch's shape (1-100 messages); a message its schema let through unchecked (`{unchecked:
 * <the message as sent>}`) is checked here against `publish`'s own input, so it is refused
 * in the words a single publish would get, and the other messages are published.
 */
async function publishOne(
  hub: Hub,
  principal: Parameters<Hub['publish']>[0],
  message: unknown,
): Promise<CommandResult<'publish.batch'>['results'][number]> {
  try {
    if (isRefusedMessage(message)) throw message.refused;
    const input: PublishInput = isUnchecked(message) ? parseInput(COMMANDS.publish.input, message.unchecked) : (message as PublishInput);
    const result: PublishResult = await hub.publish(principal, input);
    return { ok: true, ...acknowledge(result) };
  } catch (error) {
    const failure = toSwitchboardError(error);
    return { ok: false, code: failure.code, message: failure.message };
  }
}

function isUnchecked(message: unknown): message is { readonly unchecked: unknown } {
  return typeof message === 'object' && message !== null && 'unchecked' in message;
}
