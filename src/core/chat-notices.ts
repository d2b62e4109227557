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
      readonly item: Channel | Member | UserState;
    };

/**
 * What one node's chat features tell the others through the broker. Each node delivers
 * it to its own sessions; the node where the change happened has already done so.
 */
export type ClusterNotice =
  | { readonly kind: 'status'; readonly state: UserState; readonly audience: readonly UserId[]; readonly at: Millis }
  /** A channel appeared in (add, update) or left (remove) some users' channel lists; null audience: everyone's. */
  | {
      readonly kind: 'channels';
      readonly action: ListAction;
      readonly channel: Channel;
      readonly audience: readonly UserId[] | null;
    }
  | { readonly kind: 'members'; readonly action: ListAction; readonly member: Member };
