import type { Chat } from './chat.js';
import { SwitchboardError } from '../core/errors.js';
import type { Principal } from '../core/types.js';
import type { Handlers } from '../edge/command-registry.js';

/** The chat features' commands: DMs, contacts, status, read state, reactions, threads, search, live lists. */
export function chatCommands(chat: Chat): Handlers {
  return {
    'dm.list': async ({ principal }, { limit }) => ({ directs: await chat.directs(principal, limit) }),
    'contacts.add': async ({ principal }, { user }) => chat.addContact(principal, user),
    'contacts.remove': async ({ principal }, { user }) => {
      await chat.removeContact(principal, user);
      return null;
    },
    'contacts.list': async ({ principal }) => ({ contacts: await chat.contacts(principal) }),
    'status.set': async ({ principal }, { status }) => chat.setStatus(principal, status),

    'read.mark': async ({ principal }, { channel, seq }) => chat.markRead(principal, channel, seq),
    'read.get': async ({ principal }, { channel }) => ({ positions: await chat.readPositions(principal, channel) }),
    catchup: async ({ principal }) => chat.catchUp(principal),

    'reaction.add': async ({ principal }, input) => react(principal, input, false),
    'reaction.remove': async ({ principal }, input) => react(principal, input, true),
    'reactions.get': async ({ principal }, { channel, seqs }) => ({ reactions: await chat.reactions(principal, channel, seqs) }),
    thread: async ({ principal }, input) => chat.thread(principal, input),
    search: async ({ principal }, { cursor, ...filters }) => {
      const page = await chat.search(principal, { ...filters, before: cursor === undefined ? undefined : searchCursor.decode(cursor) });
      return { results: page.results, next: page.next ? searchCursor.encode(page.next) : null };
    },

    'list.subscribe': async ({ session }, { list, ...target }) => chat.followList(session!, list, target),
    'list.unsubscribe': async ({ session }, { list, ...target }) => {
      chat.unfollowList(session!, list, target);
      return null;
    },
  };

  async function react(principal: Principal, input: { channel: string; seq: number; emoji: string }, remove: boolean) {
    const event = await chat.react(principal, { ...input, remove });
    return { channel: input.channel, target: input.seq, seq: event?.seq ?? null, changed: event !== null };
  }
}

/** A search position as one opaque string, so a client passes `next` back unchanged. */
const searchCursor = {
  encode: (at: { createdAt: number; channel: string; seq: number }) =>
    Buffer.from(JSON.stringify([at.createdAt, at.channel, at.seq])).toString('base64url'),
  decode(value: string): { createdAt: number; channel: string; seq: number } {
    try {
      const [createdAt, channel, seq] = JSON.parse(Buffer.from(value, 'base64url').toString('utf8')) as unknown[];
      if (typeof createdAt === 'number' && typeof channel === 'string' && typeof seq === 'number') {
        return { createdAt, channel, seq };
      }
    } catch {
      // fall through to the error below
    }
    throw new SwitchboardError('bad_request', 'Invalid cursor: pass back the `next` of a previous page.');
  },
};
