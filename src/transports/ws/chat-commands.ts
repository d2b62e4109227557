import type { Chat } from '../../core/chat.js';
import { SwitchboardError } from '../../core/errors.js';
import type { Hub } from '../../core/hub.js';
import type { Session } from '../../core/session.js';
import type { ChatFrame } from './chat-client-frames.js';

/** Runs one chat-feature frame and returns the reply's `result`. */
export async function handleChatFrame(hub: Hub, chat: Chat | null, session: Session, frame: ChatFrame): Promise<unknown> {
  if (!chat) throw new SwitchboardError('unavailable', 'Chat features are not enabled on this server.');
  const who = session.principal;
  switch (frame.type) {
    case 'dm.list':
      return { directs: await chat.directs(who, frame.limit) };
    case 'contacts.add':
      return chat.addContact(who, frame.user);
    case 'contacts.remove':
      return chat.removeContact(who, frame.user);
    case 'contacts.list':
      return { contacts: await chat.contacts(who) };
    case 'status.set':
      return chat.setStatus(who, frame.status);
    case 'read.mark':
      return chat.markRead(who, frame.channel, frame.seq);
    case 'read.get':
      return { positions: await chat.readPositions(who, frame.channel) };
    case 'catchup':
      return chat.catchUp(who);
    case 'reaction.add':
    case 'reaction.remove': {
      const remove = frame.type === 'reaction.remove';
      const event = await hub.react(who, { channel: frame.channel, seq: frame.seq, emoji: frame.emoji, remove });
      return { channel: frame.channel, target: frame.seq, seq: event?.seq ?? null, changed: event !== null };
    }
    case 'reactions.get':
      return { reactions: await chat.reactions(who, frame.channel, frame.seqs) };
    case 'thread':
      return chat.thread(who, frame);
    case 'search':
      return chat.search(who, frame);
    case 'list.subscribe':
      return chat.followList(session, frame.list, frame);
    case 'list.unsubscribe':
      return chat.unfollowList(session, frame.list, frame);
  }
}
