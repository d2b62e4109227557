import { randomUUID } from 'node:crypto';
import { membershipMatters } from './access.js';
import type { Broker } from './broker.js';
import type { ChannelPolicies } from './channel-options.js';
import { SwitchboardError } from './errors.js';
import type { CreateChannelInput } from './hub-requests.js';
import { makeRoom } from './make-room.js';
import { directChannelId, inboxChannelOf, isReservedChannelId, MAX_DIRECT_MEMBERS } from './names.js';
import type { ChannelChanges, ProfileChanges, Store } from './store.js';
import type { Channel, ChannelId, ListedChannel, Member, MemberRole, Principal, User, UserId } from './types.js';

const CHANNEL_CACHE_LIMIT = 10_000;
const KNOWN_USERS_LIMIT = 100_000;

/**
 * Channels, members and users: what access checks read. Channels are cached for those
 * checks (lastSeq in the cache goes stale: read `current` for it); a change evicts the
 * cached copy here and, through the broker, on every other node.
 */
export class ChannelDirectory {
  readonly #store: Store;
  readonly #broker: Broker;
  readonly #policies: ChannelPolicies;
  readonly #onCreated: (channel: Channel) => void;
  readonly #cache = new Map<ChannelId, Channel>();
  /** Counts evictions, so a read that raced one is not cached. */
  #generation = 0;
  /** Users known to be stored under their current name (bounded: the oldest quarter goes when full). */
  readonly #knownUsers = new Map<UserId, string>();

  constructor(options: {
    store: Store;
    broker: Broker;
    policies: ChannelPolicies;
    /** A channel was made on demand (autoCreate), as `channel.create` would have. */
    onCreated: (channel: Channel) => void;
  }) {
    this.#store = options.store;
    this.#broker = options.broker;
    this.#policies = options.policies;
    this.#onCreated = options.onCreated;
  }

  // --- channels -------------------------------------------------------------------

  /**
   * The channel as cached for access checks. A user's inbox is created the first time
   * anyone names it; a channel of an `autoCreate` namespace the first time a `creator`
   * (someone publishing, subscribing or reading it) names it.
   */
  async require(id: ChannelId, creator?: Principal): Promise<Channel> {
    const cached = this.#cache.get(id);
    if (cached) return cached;
    const generation = this.#generation;
    let channel = await this.#store.getChannel(id);
    if (!channel && id.startsWith('user:')) channel = await this.#createInbox(id);
    if (!channel && creator) channel = await this.#createOnDemand(id, creator);
    if (!channel) throw new SwitchboardError('not_found', `Channel ${id} does not exist.`);
    // A change seen while this read was under way may have made it stale: don't keep it.
    if (generation !== this.#generation) return channel;
    if (!this.#cache.has(id)) makeRoom(this.#cache, CHANNEL_CACHE_LIMIT);
    this.#cache.set(id, channel);
    return channel;
  }

  /** The channel as stored now (its lastSeq moves with every publish). */
  current(id: ChannelId): Promise<Channel | undefined> {
    return this.#store.getChannel(id);
  }

  /**
   * Creates a channel with its creator as owner. A direct channel is the one of its users
   * (`created` false when it existed); any other id that is taken is a conflict.
   */
  async create(principal: Principal, input: CreateChannelInput): Promise<{ channel: Channel; created: boolean }> {
    if (input.type === 'direct') return this.#openDirect(principal, input.members ?? []);
    const id = input.id ?? `c-${randomUUID().slice(0, 8)}`;
    if (isReservedChannelId(id, principal)) {
      throw new SwitchboardError(
        'bad_request',
        'Channel ids starting with "user:" or "dm:" are reserved, and "pusher:" ids belong to the Pusher transport.',
      );
    }
    const creator = principal.kind === 'user' ? principal.userId : null;
    const members = new Map<UserId, MemberRole>();
    for (const user of input.members ?? []) members.set(user, 'member');
    if (creator) members.set(creator, 'owner');
    const channel = await this.#store.createChannel({
      id,
      type: input.type,
      title: input.title ?? null,
      topic: input.topic ?? null,
      publish: input.publish ?? (input.type === 'public' ? 'anyone' : 'members'),
      createdBy: creator,
      members: [...members].map(([user, role]) => ({ user, role })),
      ...(input.retention ? { retention: input.retention } : {}),
    });
    if (!channel) throw new SwitchboardError('conflict', `Channel ${id} already exists.`);
    return { channel, created: true };
  }

  list(principal: Principal, options: { limit: number; after?: ChannelId }): Promise<ListedChannel[]> {
    const visibleTo = principal.kind === 'server' ? null : principal.userId;
    return this.#store.listChannels({ visibleTo, limit: options.limit, after: options.after });
  }

  async update(id: ChannelId, changes: ChannelChanges): Promise<Channel> {
    const updated = await this.#store.updateChannel(id, changes);
    this.#forget(id);
    if (!updated) throw new SwitchboardError('not_found', `Channel ${id} does not exist.`);
    return updated;
  }

  async delete(id: ChannelId): Promise<void> {
    const deleted = await this.#store.deleteChannel(id);
    this.#forget(id);
    if (!deleted) throw new SwitchboardError('not_found', `Channel ${id} does not exist.`);
  }

  /** Another node changed or deleted the channel: drop the cached copy. */
  evict(id: ChannelId): void {
    this.#cache.delete(id);
    this.#generation++;
  }

  // --- members --------------------------------------------------------------------

  /** The principal's membership, looked up only when the channel's read and publish rules depend on it. */
  async memberFor(principal: Principal, channel: Channel): Promise<Member | undefined> {
    return membershipMatters(principal, channel) ? this.#store.getMember(channel.id, principal.userId) : undefined;
  }

  /** The principal's membership whatever the channel's rules (roles matter on public channels too). */
  async membershipOf(principal: Principal, channel: Channel): Promise<Member | undefined> {
    return principal.kind === 'server' ? undefined : this.#store.getMember(channel.id, principal.userId);
  }

  member(channel: ChannelId, user: UserId): Promise<Member | undefined> {
    return this.#store.getMember(channel, user);
  }

  addMember(channel: ChannelId, user: UserId, role: MemberRole): Promise<Member> {
    return this.#store.addMember(channel, user, role);
  }

  /** False when the user was not a member. */
  removeMember(channel: ChannelId, user: UserId): Promise<boolean> {
    return this.#store.removeMember(channel, user);
  }

  listMembers(channel: ChannelId): Promise<Member[]> {
    return this.#store.listMembers(channel);
  }

  // --- users ----------------------------------------------------------------------

  /**
   * Records the user on first sight and on a rename. Skipping the write otherwise keeps
   * connects (and reconnect storms) off the store's write path. True when a stored
   * user was renamed. A user known as named is answered at once (`false`, no promise): a
   * reconnect storm's connects then wait for nothing here.
   */
  remember(principal: Principal): Promise<boolean> | false {
    const { userId, name } = principal;
    if (this.#knownUsers.get(userId) === name) return false;
    return this.#record(userId, name, principal.nameFillsIn === true);
  }

  async #record(userId: UserId, name: string, fillsIn: boolean): Promise<boolean> {
    const changed = await this.#store.rememberUser({ id: userId, name, fillsIn });
    if (!this.#knownUsers.has(userId)) makeRoom(this.#knownUsers, KNOWN_USERS_LIMIT);
    this.#knownUsers.set(userId, name);
    return changed;
  }

  async user(id: UserId): Promise<User> {
    const user = await this.#store.getUser(id);
    if (!user) throw new SwitchboardError('not_found', `User ${id} does not exist.`);
    return user;
  }

  users(options: { limit: number; after?: UserId }): Promise<User[]> {
    return this.#store.listUsers(options);
  }

  async updateUser(id: UserId, changes: ProfileChanges): Promise<User> {
    const user = await this.#store.updateUser(id, changes);
    if (!user) throw new SwitchboardError('not_found', `User ${id} does not exist.`);
    return user;
  }

  // --- internals ------------------------------------------------------------------

  /** Drops the cached copy here and on every other node (access checks read it). */
  #forget(id: ChannelId): void {
    this.evict(id);
    this.#broker.publish({ type: 'channel-changed', channel: id });
  }

  async #openDirect(principal: Principal, others: readonly UserId[]): Promise<{ channel: Channel; created: boolean }> {
    const users = [...new Set([principal.userId, ...others])];
    if (principal.kind !== 'user') throw new SwitchboardError('bad_request', 'Direct channels belong to users.');
    if (users.length < 2) throw new SwitchboardError('bad_request', 'A direct channel needs another user.');
    if (users.length > MAX_DIRECT_MEMBERS) {
      throw new SwitchboardError('bad_request', `A direct channel has at most ${MAX_DIRECT_MEMBERS} users.`);
    }
    const id = directChannelId(users);
    const created = await this.#store.createChannel({
      id,
      type: 'direct',
      title: null,
      publish: 'members',
      createdBy: principal.userId,
      members: users.map((user) => ({ user, role: 'member' as const })),
    });
    return created ? { channel: created, created: true } : { channel: await this.require(id), created: false };
  }

  /** A room of an `autoCreate` namespace: its type and policy from there; a user creating it owns it. */
  async #createOnDemand(id: ChannelId, creator: Principal): Promise<Channel | undefined> {
    const autoCreate = this.#policies.optionsFor(id).autoCreate;
    if (!autoCreate || isReservedChannelId(id, creator)) return undefined;
    const owner = creator.kind === 'user' ? creator.userId : null;
    const created = await this.#store.createChannel({
      id,
      type: autoCreate.type,
      title: null,
      publish: autoCreate.publish,
      createdBy: owner,
      members: owner ? [{ user: owner, role: 'owner' }] : [],
    });
    if (created) this.#onCreated(created);
    return created ?? (await this.#store.getChannel(id));
  }

  async #createInbox(id: ChannelId): Promise<Channel | undefined> {
    const user = id.slice('user:'.length);
    if (inboxChannelOf(user) !== id || user.length === 0) return undefined;
    const created = await this.#store.createChannel({
      id,
      type: 'inbox',
      title: null,
      publish: 'server',
      createdBy: null,
      members: [{ user, role: 'member' }],
    });
    return created ?? (await this.#store.getChannel(id));
  }
}
