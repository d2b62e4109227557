import type { UserState } from '../../protocol/values.js';
import type { ChannelId, UserId } from '../core/types.js';
import { stormBatching, TickBatcher } from '../store/tick-batcher.js';
import { BatchedCache } from './batched-cache.js';
import type { ChatStore } from './chat-store.js';
import type { UserStates } from './user-states.js';

/**
 * What a connect and a status change read, kept in memory: users' states, their
 * contacts, their channels and the channels' members. A connect storm used to make about
 * five queries per connect (contacts, the user's state, everyone who shares a channel);
 * now a miss is read in one query per tick for all connects, and a reconnect reads
 * only its contacts' states (one query per tick, none without contacts).
 *
 * Kept true by the changes themselves: status changes set the state (here and, through
 * chat's notices, on every node), and renames, contact changes, membership changes and
 * channel deletions drop what they touch, here and on every node. A broker that may have
 * lost notices (`brokerResync`) empties it. Memory grows with memberships, not with
 * audiences: a user in a channel of 150 costs one id in that channel's list, and a channel
 * over the status limit keeps no list.
 */
export class ChatCache {
  readonly #states: BatchedCache<UserId, UserState | null>;
  readonly #contacts: BatchedCache<UserId, UserId[]>;
  /** Channels that carry a user's status (every type but inboxes). */
  readonly #channels: BatchedCache<UserId, ChannelId[]>;
  /** Members of channels of up to `statusMembersLimit` members; none for a larger one. */
  readonly #members: BatchedCache<ChannelId, UserId[]>;
  /**
   * Whether each user's row said away when last read, or they were told away since: a
   * user's return clears a stored away (UserStatusTracker) only where this is not false,
   * so a reconnect storm of users never away writes nothing.
   */
  readonly #storedAway = new Map<UserId, boolean>();
  /** Contacts' states as they are now, read in one batch per tick (never cached: see contactStates). */
  readonly #storedStates: TickBatcher<UserId, UserState | null>;
  /** `statusMembersLimit`: a channel with more members than this does not carry its members' status. */
  constructor(tables: ChatStore, states: UserStates, statusMembersLimit: number) {
    const storm = stormBatching(tables.stormRounds);
    // A user not stored yet is not kept as such: read ahead of a first connect, they are
    // missing until that connect's own write lands (on PostgreSQL, possibly after the read).
    // The row alone: a status change reads it for the name and last seen before it sets the
    // status, and a connect storm's read-ahead then asks the registry nothing.
    this.#states = new BatchedCache(
      async (users) => {
        const states = await tables.statesOf(users);
        for (let k = 0; k < users.length; k++) this.#storedAway.set(users[k]!, states[k]?.status === 'away');
        return states;
      },
      { ...storm, keep: (state) => state !== null },
    );
    this.#storedStates = new TickBatcher((users) => states.orNull(users), storm);
    this.#contacts = new BatchedCache((users) => tables.contactIdsOf(users), storm);
    this.#channels = new BatchedCache((users) => tables.statusChannelsOf(users), storm);
    // A channel over the limit carries no status: its members are not read (an empty list).
    this.#members = new BatchedCache((channels) => tables.memberIdsOf(channels, statusMembersLimit), storm);
  }

  /**
   * Starts the reads a user's connect will make (state, contacts, channels, their members)
   * unless cached, so that they share a batch with the connect's own write.
   */
  readAhead(user: UserId): void {
    this.#states.readAhead(user);
    this.#contacts.readAhead(user);
    const channels = this.#channels.peek(user);
    if (channels) this.#readMembersAhead(channels);
    else this.#channels.get(user).then((loaded) => this.#readMembersAhead(loaded), () => {});
  }

  #readMembersAhead(channels: readonly ChannelId[]): void {
    for (const channel of channels) this.#members.readAhead(channel);
  }

  /** The user's state (name, status, last seen); undefined for a user never seen. */
  async state(user: UserId): Promise<UserState | undefined> {
    return (await this.#states.get(user)) ?? undefined;
  }

  /** The user's state if cached (no read); undefined otherwise. */
  peekState(user: UserId): UserState | undefined {
    return this.#states.peek(user) ?? undefined;
  }

  /** The user's contacts (ids) if cached (no read); undefined otherwise. */
  peekContacts(user: UserId): readonly UserId[] | undefined {
    return this.#contacts.peek(user);
  }

  /**
   * The user's contacts with their states, in id order (the contacts snapshot). The states
   * are read from the store and the registry (batched, UserStates), not the cache: a node
   * cut off from the cluster misses other nodes' status notices, and the registry is where
   * their users' sessions are.
   */
  async contactStates(user: UserId): Promise<UserState[]> {
    const ids = [...(await this.#contacts.get(user))].sort();
    const states = await Promise.all(ids.map((id) => this.#storedStates.add(id)));
    return ids.map((id, k) => states[k] ?? unknownUser(id));
  }

  /** The user's contacts (ids): who is told of their profile changes. */
  async contactsOf(user: UserId): Promise<readonly UserId[]> {
    return this.#contacts.get(user);
  }

  /**
   * Everyone told of the user's status: their contacts and whoever shares a channel or DM
   * with them (a new array), but for channels of more than `statusMembersLimit` members:
   * there a connect storm would cost every member a frame per member, so their members
   * follow whom they show in a users list instead (LiveLists), as the web app does.
   */
  async audienceOf(user: UserId): Promise<UserId[]> {
    const cached = this.peekAudience(user);
    if (cached) return cached;
    const [contacts, channels] = await Promise.all([this.#contacts.get(user), this.#channels.get(user)]);
    return audienceFrom(user, contacts, await this.#members.getAll(channels));
  }

  /**
   * The audience when all it is made of is cached (a reconnect), else undefined: a
   * connect storm's status changes then go out without a promise per part.
   */
  peekAudience(user: UserId): UserId[] | undefined {
    const contacts = this.#contacts.peek(user);
    const channels = this.#channels.peek(user);
    if (contacts === undefined || channels === undefined) return undefined;
    const members: (readonly UserId[])[] = [];
    for (const channel of channels) {
      const cached = this.#members.peek(channel);
      if (cached === undefined) return undefined;
      members.push(cached);
    }
    return audienceFrom(user, contacts, members);
  }

  // --- changes -----------------------------------------------------------------------

  /**
   * Whether the user's row may say away: read so, told so since (their offline may not have
   * been written), or never read here.
   */
  mayBeStoredAway(user: UserId): boolean {
    return this.#storedAway.get(user) !== false;
  }

  statusChanged(state: UserState): void {
    if (state.status === 'away') this.#storedAway.set(state.user, true);
    this.#states.set(state.user, state);
  }

  renamed(user: UserId): void {
    this.#states.drop(user);
  }

  contactsChanged(users: readonly UserId[]): void {
    for (const user of users) this.#contacts.drop(user);
  }

  membershipChanged(channel: ChannelId, user: UserId): void {
    this.#channels.drop(user);
    this.#members.drop(channel);
  }

  /** A channel with members appeared: theirs are stale (all channel lists when they are not known). */
  channelAdded(members: readonly UserId[] | null): void {
    if (members === null) this.#channels.clear();
    else for (const user of members) this.#channels.drop(user);
  }

  channelDeleted(channel: ChannelId): void {
    this.#members.drop(channel);
    this.#channels.dropWhere((channels) => channels.includes(channel));
  }

  clear(): void {
    this.#storedAway.clear();
    this.#states.clear();
    this.#contacts.clear();
    this.#channels.clear();
    this.#members.clear();
  }
}

function audienceFrom(user: UserId, contacts: readonly UserId[], members: readonly (readonly UserId[])[]): UserId[] {
  if (contacts.length === 0 && members.length === 0) return [];
  const audience = new Set(contacts);
  for (const list of members) for (const member of list) audience.add(member);
  audience.delete(user);
  return [...audience];
}

/** A user whose row is missing (never seen on this database, or not yet written): named by their id unless the name is known. */
export function unknownUser(user: UserId, name: string = user): UserState {
  return { user, name, avatarUrl: null, statusText: null, status: 'offline', lastSeen: null };
}
