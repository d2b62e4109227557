import type { UserState, UserStatus } from './chat-store.js';
import type { Channel, ChannelId, Member, Millis, UserId } from './types.js';

/** Which live list a session follows: the channels it may see, one channel's members, or chosen users. */
export type ListName = 'channels' | 'members' | 'users';
export type ListAction = 'add' | 'update' | 'remove';

/** Pushed to one session (never stored, no seq). */
export type UserNotice =
  | {
      readonly type: 'status';
      readonly user: UserId;
      readonly status: UserStatus;
      readonly lastSeen: Millis | null;
      readonly at: Millis;
    }
  /** Sent once on connect: the user's contacts and their current states. */
  | { readonly type: 'contacts'; readonly contacts: readonly UserState[] }
  | {
      readonly type: 'list';
      readonly list: ListName;
      /** The channel of a `members` list. */
      readonly channel?: ChannelId;
      readonly action: ListAction;
      /** A deleted channel is named only by its id. */
      readonly item: Channel | Member | UserState | { readonly id: ChannelId };
    };

/**
 * What one node's chat features tell the others through the broker. Each node delivers
 * it to its own sessions; the node where the change happened has already done so.
 */
export type ClusterNotice =
  | { readonly kind: 'status'; readonly state: UserState; readonly audience: readonly UserId[]; readonly at: Millis }
  /**
   * A channel appeared in (add), changed in (update) or left (remove) some users' channel
   * lists. Null audience: an add reaches everyone (a public channel); an update or remove
   * reaches only the sessions whose list holds the channel.
   */
  | {
      readonly kind: 'channels';
      readonly action: ListAction;
      readonly channel: Channel;
      readonly audience: readonly UserId[] | null;
    }
  | { readonly kind: 'members'; readonly action: ListAction; readonly member: Member }
  | { readonly kind: 'channel-deleted'; readonly channel: ChannelId };
