import type { ChannelEvent, ReactionCount } from '../../../client/src/index.js';

/**
 * What the page holds of one channel: a contiguous window of its messages (usually the
 * newest ones; after a jump, the ones around the target), their reactions, and the live
 * signals (typing, presence, read positions). Values are replaced, never changed, so
 * React can compare them by identity.
 */
export interface ChannelView {
  readonly channel: string;
  /** `message` events in their current state, by seq, oldest first. */
  readonly messages: readonly ChannelEvent[];
  readonly reactions: ReadonlyMap<number, readonly ReactionCount[]>;
  readonly loaded: boolean;
  /** Older messages exist before the window. */
  readonly hasOlder: boolean;
  /** The window stops before the newest message (after a jump back in history). */
  readonly hasNewer: boolean;
  readonly loadingOlder: boolean;
  readonly loadingNewer: boolean;
  /**
   * The last page load before (after) the window failed: nothing loads that way again by
   * itself until the reader asks (a Retry in the list), so a server that keeps failing is
   * not hammered.
   */
  readonly olderFailed: boolean;
  readonly newerFailed: boolean;
  /** Your read position when the channel was opened: the "new messages" divider follows it. */
  readonly unreadAfter: number | null;
  /** Read positions of the other members (private channels and DMs). */
  readonly positions: ReadonlyMap<string, number>;
  /** Who is typing, until when (ms). */
  readonly typing: ReadonlyMap<string, number>;
  /** Who is here now, with their number of sessions. */
  readonly presence: ReadonlyMap<string, number>;
  /**
   * How many users are here, for a channel too large for join/leave events (the server's
   * occupancy mode): `presence` is then the list as last read, and this the live count.
   */
  readonly occupancy: number | null;
  /** A message to bring into view (a jump from search, mentions, a link, or the first unread). */
  readonly focus: { readonly seq: number; readonly token: number; readonly highlight: boolean } | null;
}

/** A new window of messages starts with no failed page load behind it. */
export const NO_FAILED_LOADS = { olderFailed: false, newerFailed: false } as const;

export function emptyView(channel: string): ChannelView {
  return {
    channel,
    messages: [],
    reactions: new Map(),
    loaded: false,
    hasOlder: false,
    hasNewer: false,
    loadingOlder: false,
    loadingNewer: false,
    ...NO_FAILED_LOADS,
    unreadAfter: null,
    positions: new Map(),
    typing: new Map(),
    presence: new Map(),
    occupancy: null,
    focus: null,
  };
}

/** Messages merged by seq (a later copy wins: it is the newer state), oldest first. */
export function mergeMessages(current: readonly ChannelEvent[], incoming: readonly ChannelEvent[]): ChannelEvent[] {
  if (incoming.length === 0) return current as ChannelEvent[];
  const bySeq = new Map<number, ChannelEvent>();
  for (const message of current) bySeq.set(message.seq, message);
  for (const message of incoming) if (message.kind === 'message') bySeq.set(message.seq, message);
  return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
}

/** Index of the message with `seq`, or -1 (binary search: the window can hold 10,000). */
export function indexOfSeq(messages: readonly ChannelEvent[], seq: number): number {
  let low = 0;
  let high = messages.length - 1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    const value = messages[middle]!.seq;
    if (value === seq) return middle;
    if (value < seq) low = middle + 1;
    else high = middle - 1;
  }
  return -1;
}

function replaceAt(messages: readonly ChannelEvent[], index: number, message: ChannelEvent): ChannelEvent[] {
  const copy = messages.slice();
  copy[index] = message;
  return copy;
}

/** A reaction list with `user`'s `emoji` added or removed (idempotent: a replay changes nothing). */
export function withReaction(
  counts: readonly ReactionCount[],
  emoji: string,
  user: string,
  add: boolean,
): readonly ReactionCount[] {
  const existing = counts.find((count) => count.emoji === emoji);
  if (add) {
    if (existing?.users.includes(user)) return counts;
    if (!existing) return [...counts, { emoji, count: 1, users: [user] }];
    return counts.map((count) =>
      count === existing ? { emoji, count: count.users.length + 1, users: [...count.users, user] } : count,
    );
  }
  if (!existing?.users.includes(user)) return counts;
  const users = existing.users.filter((name) => name !== user);
  return users.length === 0
    ? counts.filter((count) => count !== existing)
    : counts.map((count) => (count === existing ? { emoji, count: users.length, users } : count));
}

/** The view after one live event of its channel. */
export function applyEvent(view: ChannelView, event: ChannelEvent): ChannelView {
  switch (event.kind) {
    case 'message': {
      const typing = new Map(view.typing);
      typing.delete(event.author ?? '');
      const shown = event.replyTo === null ? view.messages : countReply(view.messages, event);
      // A window that stops before the newest message gets newer ones by paging forward.
      // One whose first page is still on its way keeps them: that page may have been read
      // before they were stored, and is merged with them when it comes.
      if (view.hasNewer) return { ...view, messages: shown, typing };
      const last = shown.at(-1);
      const messages = last === undefined || last.seq < event.seq ? [...shown, event] : mergeMessages(shown, [event]);
      return { ...view, messages, typing };
    }
    case 'edit':
    case 'delete': {
      const index = event.target === null ? -1 : indexOfSeq(view.messages, event.target);
      if (index < 0) return view;
      const target = view.messages[index]!;
      const changed: ChannelEvent =
        event.kind === 'edit'
          ? { ...target, text: event.text, data: event.data ?? target.data, editedAt: event.createdAt }
          : { ...target, text: null, deletedAt: event.createdAt };
      return { ...view, messages: replaceAt(view.messages, index, changed) };
    }
    case 'reaction':
    case 'unreaction': {
      if (event.target === null || event.text === null || event.author === null) return view;
      const counts = view.reactions.get(event.target) ?? [];
      const next = withReaction(counts, event.text, event.author, event.kind === 'reaction');
      if (next === counts) return view;
      const reactions = new Map(view.reactions);
      if (next.length === 0) reactions.delete(event.target);
      else reactions.set(event.target, next);
      return { ...view, reactions };
    }
    default:
      return view;
  }
}


/**
 * The window with a live reply counted on its root, if the root is in it. The server's
 * summary (`thread`) names the newest reply it counted, so a reply it already counted (the
 * root was loaded after the reply was stored, or a resume replays it) is not counted twice.
 */
function countReply(messages: readonly ChannelEvent[], reply: ChannelEvent): readonly ChannelEvent[] {
  const index = indexOfSeq(messages, reply.replyTo!);
  if (index < 0) return messages;
  const root = messages[index]!;
  if (root.thread && root.thread.lastReplySeq >= reply.seq) return messages;
  const thread = { replies: (root.thread?.replies ?? 0) + 1, lastReplySeq: reply.seq, lastReplyAt: reply.createdAt };
  return replaceAt(messages, index, { ...root, thread });
}
