import type { DirectConversation, UnreadChannel } from '../../protocol/values.js';
import { inboxChannelOf } from '../core/names.js';
import type { ChannelEvent, Millis, Principal } from '../core/types.js';
import { type ChatContext, MAX_PAGE, userOf } from './chat-context.js';
import { isMention } from './mentions.js';

export interface CatchUp {
  /** When the user was last online before this session (null: never). */
  readonly lastSeen: Millis | null;
  readonly channels: UnreadChannel[];
  /** Direct conversations with a message from someone else since `lastSeen`. */
  readonly directs: DirectConversation[];
  /** Mention notices in the user's inbox after its read position. */
  readonly mentions: ChannelEvent[];
}

/** What changed while the user was away: unread channels, new DMs, mentions. */
export async function catchUp(context: ChatContext, principal: Principal): Promise<CatchUp> {
  const user = userOf(principal);
  const { tables, log } = context;
  const inbox = inboxChannelOf(user);
  const [[state], channels, directs] = await Promise.all([
    // The row alone: last seen is the table's, and catching up needs no word from the registry.
    tables.userStates([user]),
    tables.unreadChannels(user),
    tables.directConversations(user, MAX_PAGE),
  ]);
  const lastSeen = state?.lastSeen ?? null;
  const inboxRead = channels.find((c) => c.channel === inbox)?.readSeq;
  const mentions =
    inboxRead === undefined
      ? []
      : (await log.readEvents(inbox, { after: inboxRead, limit: MAX_PAGE, messagesOnly: true })).filter((event) =>
          isMention(event.data),
        );
  return {
    lastSeen,
    channels,
    directs: directs.filter((d) => d.latest !== null && d.latest.author !== user && d.latest.createdAt > (lastSeen ?? 0)),
    mentions,
  };
}
