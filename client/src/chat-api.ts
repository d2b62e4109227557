import { LiveList, type ListHandlers, type ListHost, type ListTarget } from './live-list.js';
import type {
  CatchUp,
  ChannelId,
  CommandName,
  CommandRequest,
  CommandResult,
  DirectConversation,
  ListName,
  ReactionCount,
  ReactionResult,
  ReadPosition,
  SearchPage,
  SearchQuery,
  Seq,
  Thread,
  ThreadQuery,
  UserId,
  UserState,
} from './protocol.js';

/** What the chat API needs from the client. */
export interface ChatHost extends ListHost {
  request<N extends CommandName>(name: N, input: CommandRequest<N>): Promise<CommandResult<N>>;
}

/**
 * The chat features (docs/protocol.md, "Chat features"), as `client.chat`. On a server
 * without them every call rejects with `unavailable`.
 *
 * @example
 * const { channels, mentions } = await client.chat.catchUp();
 * await client.chat.react('staff', 42, '👍');
 * await client.chat.markRead('staff', 42);
 */
export class ChatApi {
  readonly #host: ChatHost;

  constructor(host: ChatHost) {
    this.#host = host;
  }

  /** Your direct conversations, newest activity first. */
  async listDirects(limit?: number): Promise<DirectConversation[]> {
    return (await this.#host.request('dm.list', { limit })).directs;
  }

  /** Adds a contact (both ways); resolves with their current state. */
  addContact(user: UserId): Promise<UserState> {
    return this.#host.request('contacts.add', { user });
  }

  async removeContact(user: UserId): Promise<void> {
    await this.#host.request('contacts.remove', { user });
  }

  async listContacts(): Promise<UserState[]> {
    return (await this.#host.request('contacts.list', {})).contacts;
  }

  /** `online` or `away` (`offline` is what the server says when you have no connection). */
  setStatus(status: 'online' | 'away'): Promise<UserState> {
    return this.#host.request('status.set', { status });
  }

  /** Moves your read position forward (never back); members of private channels get a receipt. */
  markRead(channel: ChannelId, seq: Seq): Promise<{ channel: ChannelId; seq: Seq }> {
    return this.#host.request('read.mark', { channel, seq });
  }

  /** Read positions in a channel: every member's in private channels and DMs, yours in public ones. */
  async readPositions(channel: ChannelId): Promise<ReadPosition[]> {
    return (await this.#host.request('read.get', { channel })).positions;
  }

  /** Unread channels, new DMs and mentions since you were last online. */
  catchUp(): Promise<CatchUp> {
    return this.#host.request('catchup', {});
  }

  /** Adds a reaction (a stored event: subscribers see it with kind `reaction`). */
  react(channel: ChannelId, seq: Seq, emoji: string): Promise<ReactionResult> {
    return this.#host.request('reaction.add', { channel, seq, emoji });
  }

  unreact(channel: ChannelId, seq: Seq, emoji: string): Promise<ReactionResult> {
    return this.#host.request('reaction.remove', { channel, seq, emoji });
  }

  /** Reaction counts for up to 200 messages, keyed by seq. */
  async reactions(channel: ChannelId, seqs: readonly Seq[]): Promise<Record<string, ReactionCount[]>> {
    return (await this.#host.request('reactions.get', { channel, seqs: [...seqs] })).reactions;
  }

  /** A message and its replies, oldest first; page with `after` (the last reply's seq). */
  thread(channel: ChannelId, seq: Seq, page: ThreadQuery = {}): Promise<Thread> {
    return this.#host.request('thread', { channel, seq, ...page });
  }

  /**
   * Messages with every word of `text`, newest first, in channels you may read. A page's
   * `next` is an opaque cursor: pass it as `cursor`, with the same query, for the next page.
   *
   * @example
   * let page = await client.chat.search('budget', { channel: 'staff' });
   * if (page.next) page = await client.chat.search('budget', { channel: 'staff', cursor: page.next });
   */
  search(text: string, query: SearchQuery = {}): Promise<SearchPage> {
    return this.#host.request('search', { text, ...query });
  }

  /**
   * Follows a live list: a snapshot, then changes, followed again (with a fresh snapshot)
   * after every reconnect.
   *
   * @example
   * const list = await client.chat.followList({ list: 'channels' }, {
   *   onSnapshot: (channels) => render(channels),
   *   onChange: ({ action, item }) => apply(action, item),
   * });
   * await list.close();
   */
  followList<L extends ListName>(target: ListTarget<L>, handlers: ListHandlers<L>): Promise<LiveList<L>> {
    return new LiveList(this.#host, target, handlers).start();
  }
}
