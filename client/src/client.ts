import { expandEvent } from '../../protocol/compact-event.js';
import { ChatApi } from './chat-api.js';
import { isRetried, RETRY_LATER } from './command-retry.js';
import { type ClientOptions, Connection } from './connection.js';
import { Emitter } from './emitter.js';
import { ClientError, type ClientErrorCode, withChannel } from './errors.js';
import type { ClientEvents, ConnectionState } from './events.js';
import type { DeliveredFrame } from './frames.js';
import { newCid } from './ids.js';
import type {
  Ban,
  Disconnected,
  BatchMessage,
  BatchResult,
  Channel,
  ChannelChange,
  ChannelEvent,
  ChannelId,
  ChannelPage,
  ChannelQuery,
  CommandName,
  CommandRequest,
  CommandResult,
  CreateChannelInput,
  EditInput,
  EventAck,
  FileLinks,
  HistoryPage,
  HistoryQuery,
  Member,
  MemberRole,
  PresenceEvent,
  PresenceMember,
  PublishInput,
  PushInput,
  RegisterInput,
  Registration,
  Seq,
  SubscribeResult,
  Ticket,
  TicketInput,
  User,
  UserChange,
  UserId,
  UserPage,
  UserQuery,
  Welcome,
} from './protocol.js';
import { type SubscribeOptions, Subscription } from './subscription.js';
import { type UploadOptions, uploadFile } from './uploads.js';

export interface RequestOptions {
  /** Reject with `timeout` after this long. Default: the client's `requestTimeoutMs`. */
  readonly timeoutMs?: number;
}

/** Failures to restore a subscription that another connection may not have. */
const TRANSIENT: ReadonlySet<ClientErrorCode> = new Set<ClientErrorCode>([
  'timeout',
  'unavailable',
  'internal',
  'rate_limited',
  'conflict',
]);

/**
 * A Switchboard client that heals itself: its connection reconnects with backoff, its
 * subscriptions resume from the last seq seen, and publishes in flight are repeated with
 * their cid. Every command of the protocol is a typed method (or `request`). Create it
 * with {@link createClient}.
 */
export class SwitchboardClient {
  readonly #emitter = new Emitter<ClientEvents>();
  readonly #connection: Connection;
  readonly #subscriptions = new Map<ChannelId, Subscription>();
  /** Server-side subscriptions (the connect hook's channels, a token's claim): the last seq seen in each. */
  readonly #serverSide = new Map<ChannelId, Seq>();
  /** The channel epoch of each of those positions, as the welcome said: sent with them, so a deleted epoch is not resumed. */
  readonly #serverSideEpochs = new Map<ChannelId, number>();
  #chat: ChatApi | null = null;

  constructor(options: ClientOptions) {
    this.#connection = new Connection(options, this.#emitter, {
      opened: () => {
        for (const { channel, seq, epoch } of this.#connection.welcome?.subscriptions ?? []) {
          // A position kept from a deleted epoch was reset by its `channelDeleted`, sent before the welcome.
          this.#serverSide.set(channel, Math.max(seq, this.#serverSide.get(channel) ?? 0));
          if (typeof epoch === 'number') this.#serverSideEpochs.set(channel, epoch);
        }
        for (const subscription of this.#subscriptions.values()) {
          if (subscription.confirmed) this.#restore(subscription);
        }
      },
      pushed: (frame) => this.#onPush(frame),
      positions: () => Object.fromEntries(this.#serverSide),
      epochs: () => Object.fromEntries(this.#serverSideEpochs),
      lost: () => {
        for (const subscription of this.#subscriptions.values()) {
          subscription.live = false;
          subscription.resyncing = false;
        }
      },
      stopped: (error) => {
        const subscriptions = [...this.#subscriptions.values()];
        this.#subscriptions.clear();
        for (const subscription of subscriptions) {
          if (error) subscription.fail(error);
          else subscription.end();
        }
      },
    });
    this.#connection.start();
  }

  // --- state and events -------------------------------------------------------------

  get state(): ConnectionState {
    return this.#connection.state;
  }

  /** Who the server says we are, once connected. */
  get welcome(): Welcome | null {
    return this.#connection.welcome;
  }

  /** The chat features: DMs, contacts, read state, reactions, threads, search, live lists. */
  get chat(): ChatApi {
    return (this.#chat ??= new ChatApi({
      request: this.request.bind(this),
      on: this.on.bind(this),
      // The server forgets what a connection followed when it closes: on a new connection
      // this is a first request, not a repeat, so it waits for one whatever `retry` says.
      follow: (target) =>
        this.#connection.send<CommandResult<'list.subscribe'>>('list.subscribe', target, { repeatable: true }),
    }));
  }

  /** The subscription to a channel, if there is one. */
  subscription(channel: ChannelId): Subscription | undefined {
    return this.#subscriptions.get(channel);
  }

  /**
   * Listens to a client event; returns a function that stops listening.
   *
   * @example
   * client.on('state', ({ state }) => (banner.textContent = state));
   * client.on('error', (error) => console.warn(error.code, error.message));
   */
  on<K extends keyof ClientEvents>(name: K, listener: (payload: ClientEvents[K]) => void): () => void {
    return this.#emitter.on(name, listener);
  }

  once<K extends keyof ClientEvents>(name: K, listener: (payload: ClientEvents[K]) => void): () => void {
    return this.#emitter.once(name, listener);
  }

  off<K extends keyof ClientEvents>(name: K, listener: (payload: ClientEvents[K]) => void): void {
    this.#emitter.off(name, listener);
  }

  /**
   * Resolves once the client is connected (at once if it is). Rejects if it stops for
   * good first, or after `timeoutMs`. Requests do not need it: they wait for a connection.
   */
  ready(timeoutMs?: number): Promise<Welcome> {
    return this.#connection.ready(timeoutMs);
  }

  /**
   * While waiting to reconnect, connects at once instead of at the end of the backoff
   * delay (for a "retry now" button, or when the browser says it is back online). Returns
   * false when there is no wait to skip.
   *
   * @example
   * window.addEventListener('online', () => client.reconnectNow());
   */
  reconnectNow(): boolean {
    return this.#connection.reconnectNow();
  }

  /**
   * Closes the connection and stops reconnecting. Pending requests reject with
   * `closed`; no timer is left running. Safe to call twice.
   */
  close(): Promise<void> {
    return this.#connection.close();
  }

  // --- commands -----------------------------------------------------------------------

  /**
   * Sends any command of the protocol and resolves with its result, typed from
   * protocol/commands.ts. If the connection drops before the reply, the request waits
   * for the next connection when the protocol marks the command safe to retry, and
   * rejects with `connection_lost` otherwise. The named methods below are friendlier.
   *
   * @example
   * const { users, next } = await client.request('users.list', { limit: 100 });
   */
  request<N extends CommandName>(
    name: N,
    input: CommandRequest<N>,
    options: RequestOptions = {},
  ): Promise<CommandResult<N>> {
    return this.#connection.send<CommandResult<N>>(name, input as object, {
      timeoutMs: options.timeoutMs,
      repeatable: isRetried(name),
      retryLater: RETRY_LATER.has(name),
    });
  }

  /**
   * Calls the app's backend through the connection (its rpc hook) and resolves with the
   * backend's answer. Never sent twice: a lost reply rejects with `connection_lost`.
   *
   * @example
   * const total = await client.rpc<{ total: number }>('cart.total', { cart: 7 });
   */
  async rpc<T = unknown>(method: string, data?: unknown, options: RequestOptions = {}): Promise<T> {
    const result = await this.request('rpc', data === undefined ? { method } : { method, data }, options);
    return result.data as T;
  }

  /** Round trip to the server; resolves with the server's clock. */
  ping(): Promise<{ at: number }> {
    return this.request('ping', {});
  }

  /**
   * Creates a channel.
   *
   * @example
   * await client.createChannel({ channel: 'support', type: 'public', title: 'Support' });
   * const dm = await client.createChannel({ type: 'direct', members: ['bob'] }); // dm.id === 'dm:alice,bob'
   */
  createChannel(input: CreateChannelInput): Promise<Channel> {
    const { type, ...rest } = input;
    return this.request('channel.create', { ...rest, channelType: type });
  }

  getChannel(channel: ChannelId): Promise<Channel> {
    return this.request('channel.get', { channel });
  }

  /**
   * Public channels and yours (every channel, for an API key), by id, a page at a time.
   *
   * @example
   * let page = await client.listChannels({ limit: 100 });
   * while (page.next) page = await client.listChannels({ after: page.next, limit: 100 });
   */
  listChannels(query: ChannelQuery = {}): Promise<ChannelPage> {
    return this.request('channel.list', query);
  }

  /** Changes a channel's title, topic or publish policy (owners and admins). */
  updateChannel(channel: ChannelId, change: ChannelChange): Promise<Channel> {
    return this.request('channel.update', { channel, ...change });
  }

  /** Deletes a channel with its history (owners). */
  async deleteChannel(channel: ChannelId): Promise<void> {
    await this.request('channel.delete', { channel });
  }

  /** Joins a public channel (as a member). Joining twice is harmless. */
  joinChannel(channel: ChannelId): Promise<Member> {
    return this.request('channel.join', { channel });
  }

  async leaveChannel(channel: ChannelId): Promise<void> {
    await this.request('channel.leave', { channel });
  }

  async listMembers(channel: ChannelId): Promise<Member[]> {
    return (await this.request('members.list', { channel })).members;
  }

  /** Adds a member, or changes their role (owners and admins; only owners make owners). */
  addMember(channel: ChannelId, user: UserId, role?: MemberRole): Promise<Member> {
    return this.request('members.add', { channel, user, role });
  }

  async removeMember(channel: ChannelId, user: UserId): Promise<void> {
    await this.request('members.remove', { channel, user });
  }

  /**
   * Follows a channel. The handler sees each event exactly once and in seq order, also
   * across reconnects and server restarts. Resolves once the server has confirmed (after
   * replaying the events after `since`, if given).
   *
   * @example
   * const sub = await client.subscribe('support', (event) => render(event));
   * // or resume where the app left off, with presence and typing:
   * const sub = await client.subscribe('support', {
   *   since: savedSeq,
   *   onEvent: render,
   *   onTyping: ({ user }) => showTyping(user),
   * });
   * await sub.unsubscribe();
   */
  async subscribe(
    channel: ChannelId,
    handler: ((event: ChannelEvent) => void) | SubscribeOptions,
  ): Promise<Subscription> {
    if (this.#connection.state === 'disconnected') throw this.#connection.closedError('subscribe');
    if (this.#subscriptions.has(channel)) {
      throw new ClientError('conflict', `Already subscribed to ${channel}.`, { request: 'subscribe' });
    }
    const options: SubscribeOptions = typeof handler === 'function' ? { onEvent: handler } : handler;
    const subscription = new Subscription(channel, options, (sub) => this.#unsubscribe(sub));
    this.#subscriptions.set(channel, subscription);
    try {
      // A subscription lives on its connection: after a drop this is a first subscribe on
      // the next one (not a repeat), from what was delivered meanwhile, so no event slips.
      const send = () =>
        this.#connection.send<SubscribeResult>('subscribe', () => subscribeInput(subscription), {
          timeoutMs: options.timeoutMs,
          repeatable: true,
        });
      let result: SubscribeResult;
      try {
        result = await send();
      } catch (error) {
        // The app's position is in a deleted channel's log: start the new channel from 0.
        const current = staleEpochOf(error);
        if (current === null) throw error;
        this.#emitter.emit('staleEpoch', subscription.restartEpoch(current));
        result = await send();
      }
      this.#onSubscribed(subscription, result);
      if (subscription.closed) throw this.#connection.closedError('subscribe');
      return subscription;
    } catch (error) {
      this.#forget(subscription);
      subscription.end();
      throw error;
    }
  }

  /**
   * Publishes a message. It is sent again with the same `cid` if the connection drops
   * before the reply, so it is stored once and the promise resolves once, with its seq.
   *
   * @example
   * const { seq } = await client.publish('support', 'hello');
   * await client.publish('support', { text: 'see this', data: { url }, replyTo: seq });
   */
  publish(channel: ChannelId, message: string | PublishInput): Promise<EventAck> {
    const input: PublishInput = typeof message === 'string' ? { text: message } : message;
    return this.request('publish', { channel, ...input, cid: input.cid ?? newCid() });
  }

  /**
   * Uploads a file for a channel and resolves with it, links included: small files in one
   * request, large ones resumable (a dropped connection resumes from what the server
   * holds). Attach it by publishing its id. Needs `user` or `token` credentials.
   *
   * @example
   * const file = await client.upload(input.files[0], { channel: 'support', onProgress: ({ sent, total }) => bar.value = sent / total });
   * await client.publish('support', { text: 'the screenshot', attachments: [file.id] });
   */
  async upload(file: Blob, options: UploadOptions): Promise<FileLinks> {
    const id = await uploadFile(() => this.#connection.httpAccess(), file, options);
    const [links] = await this.fileLinks([id]);
    if (!links) throw new ClientError('not_found', `The uploaded file ${id} is gone.`, { request: 'upload' });
    return links;
  }

  /**
   * Signed links to files that messages carry (an event's `attachments`), for a reader of
   * their channels; files you may not read, or whose message was deleted, are left out.
   * Links work without headers (`<img src>`) until `urlsExpireAt`; ask again after that.
   */
  async fileLinks(ids: readonly string[]): Promise<FileLinks[]> {
    if (ids.length === 0) return [];
    return (await this.request('files.get', { ids: [...ids] })).files;
  }

  /**
   * Publishes up to 100 messages, to any channels, in one request; each is stored or
   * refused on its own, and each carries a cid (generated when missing), so the batch is
   * repeated safely after a drop. Results come in the order of the messages.
   *
   * @example
   * const results = await client.publishBatch([{ channel: 'a', text: 'one' }, { channel: 'b', text: 'two' }]);
   * for (const r of results) if (!r.ok) console.warn(r.code, r.message);
   */
  async publishBatch(messages: readonly BatchMessage[]): Promise<BatchResult[]> {
    const withCids = messages.map((message) => ({ ...message, cid: message.cid ?? newCid() }));
    return (await this.request('publish.batch', { messages: withCids })).results;
  }

  /**
   * Publishes as the app's backend (a client signed in with an API key): to a channel, or
   * to one user's inbox on all their devices. Users get `forbidden`.
   *
   * @example
   * await client.push({ user: 'ann', text: 'Your order shipped', data: { order: 42 } });
   */
  push(input: PushInput): Promise<EventAck> {
    return this.request('push', { ...input, cid: input.cid ?? newCid() });
  }

  /** Changes a message's text or data (its author); the edit takes its own seq. */
  editMessage(channel: ChannelId, seq: Seq, change: string | EditInput): Promise<EventAck> {
    const input: EditInput = typeof change === 'string' ? { text: change } : change;
    return this.request('edit', { channel, seq, ...input });
  }

  /** Turns a message into a tombstone (its author, or channel owners and admins). */
  deleteMessage(channel: ChannelId, seq: Seq): Promise<EventAck> {
    return this.request('delete', { channel, seq });
  }

  /**
   * A page of messages in their current state, oldest first.
   *
   * @example
   * let page = await client.history('support', { limit: 50 });          // newest 50
   * page = await client.history('support', { before: page.events[0].seq }); // the 50 before
   */
  history(channel: ChannelId, query: HistoryQuery = {}): Promise<HistoryPage> {
    return this.request('history', { channel, ...query });
  }

  /** Who is subscribed to a channel now, with their number of sessions, in user id order (every page). */
  async presence(channel: ChannelId): Promise<PresenceMember[]> {
    const members: PresenceMember[] = [];
    let after: UserId | undefined;
    do {
      const page = await this.presencePage(channel, { after });
      members.push(...page.members);
      after = page.next ?? undefined;
    } while (after !== undefined);
    return members;
  }

  /**
   * One page of a channel's presence (a large one's, in occupancy mode, say): `users` is
   * the total; pass `next` as `after` for the following page, null on the last.
   *
   * @example
   * const { members, next, users } = await client.presencePage('lobby', { limit: 100 });
   */
  presencePage(channel: ChannelId, page: { readonly after?: UserId; readonly limit?: number } = {}): Promise<CommandResult<'presence'>> {
    return this.request('presence', { channel, ...page });
  }

  /** Tells the channel's other subscribers you are typing (needs a subscription). */
  async typing(channel: ChannelId): Promise<void> {
    await this.request('typing', { channel });
  }

  getUser(user: UserId): Promise<User> {
    return this.request('users.get', { user });
  }

  /**
   * Users in id order, a page at a time.
   *
   * @example
   * let page = await client.listUsers();
   * while (page.next) page = await client.listUsers({ after: page.next });
   */
  listUsers(query: UserQuery = {}): Promise<UserPage> {
    return this.request('users.list', query);
  }

  /** Renames a user (yourself; an API key or an admin: anyone). */
  updateUser(user: UserId, change: UserChange): Promise<User> {
    return this.request('users.update', { user, ...change });
  }

  /**
   * Registers (or refreshes) a user as the app's backend (a client signed in with an API
   * key) and returns a token for that user's own client.
   */
  registerUser(input: RegisterInput): Promise<Registration> {
    return this.request('users.register', input);
  }

  /**
   * A single-use connect ticket for `/ws?ticket=` or `/sse?ticket=`: for yourself, or, as
   * the app's backend, for the user you name.
   */
  createTicket(input: TicketInput = {}): Promise<Ticket> {
    return this.request('ticket.create', input);
  }

  /**
   * Bans a user as the app's backend (a client signed in with an API key): their sessions
   * end on every node and they cannot authenticate until `unbanUser`.
   *
   * @example
   * await backend.banUser('mallory', 'spam');
   */
  banUser(user: UserId, reason?: string): Promise<Ban> {
    return this.request('users.ban', { user, reason });
  }

  async unbanUser(user: UserId): Promise<void> {
    await this.request('users.unban', { user });
  }

  /**
   * Ends every session of a user on every node (an administrator, or the app's backend);
   * their clients are told not to reconnect by themselves. The user may connect again.
   */
  disconnectUser(user: UserId): Promise<Disconnected> {
    return this.request('users.disconnect', { user });
  }

  /**
   * Hands the live session a new access token (`auth.refresh`), so it goes on past the
   * old one's expiry. The SDK does it by itself with `refreshToken` (or `token` given as a
   * function); call this when the app has a new token first.
   *
   * @example
   * const { expiresAt } = await client.refreshAuth(await auth.newAccessToken());
   */
  refreshAuth(token: string): Promise<CommandResult<'auth.refresh'>> {
    return this.#connection.refresh(token);
  }

  // --- pushed frames ------------------------------------------------------------------

  #onPush(frame: DeliveredFrame): void {
    switch (frame.type) {
      case 'event':
        // Pushed events leave out their null fields; the app sees every field.
        this.#onEvent(expandEvent(frame));
        return;
      case 'presence': {
        const { type: _, ...event } = frame;
        this.#onPresence(event);
        return;
      }
      case 'presenceBatch': {
        const { channel, id, at } = frame;
        for (const change of frame.changes) this.#onPresence({ channel, id, at, ...change });
        return;
      }
      case 'occupancy': {
        const { type: _, ...event } = frame;
        this.#subscriptions.get(event.channel)?.occupancy(event);
        this.#emitter.emit('occupancy', event);
        return;
      }
      case 'typing': {
        const { type: _, ...event } = frame;
        this.#subscriptions.get(event.channel)?.typing(event);
        this.#emitter.emit('typing', event);
        return;
      }
      case 'receipt': {
        const { type: _, ...event } = frame;
        this.#subscriptions.get(event.channel)?.receipt(event);
        this.#emitter.emit('receipt', event);
        return;
      }
      case 'status': {
        const { type: _, ...event } = frame;
        this.#emitter.emit('status', event);
        return;
      }
      case 'profile': {
        const { type: _, ...event } = frame;
        this.#emitter.emit('profile', event);
        return;
      }
      case 'contacts':
        this.#emitter.emit('contacts', frame.contacts);
        return;
      case 'list': {
        const { type: _, ...change } = frame;
        // The protocol types an item as any list's; its `list` says which.
        this.#emitter.emit('list', change as ClientEvents['list']);
        return;
      }
      case 'unsubscribed':
        this.#onUnsubscribed(frame.channel, new ClientError(frame.code, frame.message, { request: 'subscribe' }));
        return;
      case 'channelDeleted': {
        const { type: _, ...deleted } = frame;
        const subscription = this.#subscriptions.get(deleted.channel);
        if (subscription) {
          subscription.live = false;
          this.#forget(subscription);
          subscription.deleted(deleted);
        } else if (this.#serverSide.has(deleted.channel)) {
          // A server-side subscription's epoch is gone: the channel created again (now, or by the next
          // connection) is followed from its seq 1, not from where the deleted one stood.
          this.#serverSide.set(deleted.channel, 0);
          this.#serverSideEpochs.delete(deleted.channel);
        }
        this.#emitter.emit('deleted', deleted);
        return;
      }
      default:
        return exhausted(frame);
    }
  }

  #onPresence(event: PresenceEvent): void {
    this.#subscriptions.get(event.channel)?.presence(event);
    this.#emitter.emit('presence', event);
  }

  #onEvent(event: ChannelEvent): void {
    const subscription = this.#subscriptions.get(event.channel);
    if (!subscription) {
      this.#onServerSideEvent(event);
      return;
    }
    const outcome = subscription.offer(event);
    if (outcome === 'delivered') this.#emitter.emit('event', event);
    else if (outcome === 'gap' && subscription.live && !subscription.resyncing) void this.#resync(subscription);
  }

  /**
   * The server subscribed this connection to the channel itself: each event once, in
   * order, remembered so the next connection resumes after it.
   */
  #onServerSideEvent(event: ChannelEvent): void {
    const last = this.#serverSide.get(event.channel) ?? 0;
    if (event.seq <= last) return;
    this.#serverSide.set(event.channel, event.seq);
    this.#emitter.emit('serverEvent', event);
    this.#emitter.emit('event', event);
  }

  // --- subscriptions ------------------------------------------------------------------

  #onSubscribed(subscription: Subscription, result: SubscribeResult): void {
    if (subscription.closed) {
      // Unsubscribed (or closed) while the server was subscribing: undo it there.
      if (this.#connection.authenticated) void this.#sendUnsubscribe(subscription.channel);
      return;
    }
    const { held, truncated } = subscription.onSubscribed(result.seq, result.truncated ? result.from : undefined, result.epoch);
    if (truncated) this.#emitter.emit('truncated', truncated);
    subscription.live = true;
    subscription.resyncing = false;
    for (const event of held) this.#onEvent(event);
  }

  /** Subscribes again on the current connection, from the last seq the app saw. */
  #restore(subscription: Subscription): void {
    const epoch = this.#connection.epoch;
    this.#connection
      .send<SubscribeResult>('subscribe', subscribeInput(subscription), { repeatable: false, bound: true })
      .then(
        (result) => {
          if (this.#connection.epoch === epoch) this.#onSubscribed(subscription, result);
        },
        (error: ClientError) => {
          if (this.#connection.epoch === epoch) this.#onRestoreFailed(subscription, error);
        },
      );
  }

  #onRestoreFailed(subscription: Subscription, error: ClientError): void {
    if (subscription.closed || error.code === 'connection_lost') return;
    const current = staleEpochOf(error);
    if (current !== null) {
      // Deleted and created again while away: every event of the new channel, from its seq 1.
      this.#emitter.emit('staleEpoch', subscription.restartEpoch(current));
      this.#restore(subscription);
      return;
    }
    if (error.code === 'retention_exceeded') {
      // The events are gone for good: say so, and carry on live from now.
      this.#emitter.emit('error', withChannel(error, subscription.channel));
      subscription.restartLive();
      this.#restore(subscription);
      return;
    }
    if (TRANSIENT.has(error.code)) {
      this.#connection.drop(`cannot restore ${subscription.channel}: ${error.message}`);
      return;
    }
    this.#forget(subscription);
    const failure = withChannel(error, subscription.channel);
    subscription.fail(failure);
    this.#emitter.emit('error', failure);
  }

  /**
   * The server ended a subscription: access to the channel was taken away (removed from it,
   * the channel deleted). It is over, not resumed: the subscription fails with the reason.
   */
  #onUnsubscribed(channel: ChannelId, error: ClientError): void {
    const subscription = this.#subscriptions.get(channel);
    if (!subscription) return;
    subscription.live = false;
    this.#forget(subscription);
    const failure = withChannel(error, channel);
    subscription.fail(failure);
    this.#emitter.emit('error', failure);
  }

  /** Events went missing (which the server promises never happens): fetch them again. */
  async #resync(subscription: Subscription): Promise<void> {
    const epoch = this.#connection.epoch;
    subscription.resyncing = true;
    subscription.live = false;
    const stillOurs = await this.#sendUnsubscribe(subscription.channel);
    if (stillOurs && this.#connection.epoch === epoch && !subscription.closed) this.#restore(subscription);
  }

  async #unsubscribe(subscription: Subscription): Promise<void> {
    this.#forget(subscription);
    // Not live here: nothing to undo (the server forgets subscriptions with the connection),
    // or a (re)subscribe is in flight and #onSubscribed undoes it.
    if (!subscription.live || !this.#connection.authenticated) return;
    subscription.live = false;
    await this.#sendUnsubscribe(subscription.channel);
  }

  /** Removes a subscription from the map, unless another has taken its channel since. */
  #forget(subscription: Subscription): void {
    const { channel } = subscription;
    if (this.#subscriptions.get(channel) === subscription) this.#subscriptions.delete(channel);
  }

  /** False when the connection dropped first. */
  async #sendUnsubscribe(channel: ChannelId): Promise<boolean> {
    try {
      await this.#connection.send('unsubscribe', { channel }, { repeatable: false, bound: true });
      return true;
    } catch (error) {
      return (error as ClientError).code === 'not_found';
    }
  }
}

/**
 * Creates a client and starts connecting. Requests made before the connection is up
 * wait for it.
 *
 * @example
 * // Browser (a ticket from your backend each time it connects):
 * const client = createClient({ url: '/ws', ticket: () => fetch('/ticket').then((r) => r.text()) });
 * // Node (uses the `ws` package):
 * const client = createClient({ url: 'ws://localhost:8080/ws', user: 'alice' });
 */
export function createClient(options: ClientOptions): SwitchboardClient {
  return new SwitchboardClient(options);
}

function subscribeInput(subscription: Subscription): CommandRequest<'subscribe'> {
  const since = subscription.lastSeq ?? undefined;
  // The epoch matters only with a position: it says which log the position is in.
  const epoch = since !== undefined ? (subscription.epoch ?? undefined) : undefined;
  return { channel: subscription.channel, since, epoch, presence: subscription.wantsPresence };
}

/** The channel's current epoch, when `error` is a `stale_epoch` refusal; otherwise null. */
function staleEpochOf(error: unknown): number | null {
  if (!(error instanceof ClientError) || error.code !== 'stale_epoch') return null;
  const epoch = error.details?.epoch;
  return typeof epoch === 'number' ? epoch : null;
}

/** Compile-time check that every pushed frame type is handled; new ones are ignored at run time. */
function exhausted(frame: never): void {
  void frame;
}
