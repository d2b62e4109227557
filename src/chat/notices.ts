import type { ListAction } from '../../protocol/frames.js';
import type { UserState } from '../../protocol/values.js';
import type { ChannelId, ListedChannel, Member, Millis, UserId } from '../core/types.js';

/** The module name chat's notices travel under between nodes (`hub.sendNotice`). */
export const CHAT_MODULE = 'chat';

/**
 * What one node's chat features tell the others. Each node delivers it to its own
 * sessions; the node where the change happened has already done so.
 */
export type ChatNotice =
  | { readonly kind: 'status'; readonly state: UserState; readonly audience: readonly UserId[]; readonly at: Millis }
  /**
   * A user's profile changed (name, avatar URL, status text): cached states of them are
   * stale; `audience` (their contacts and themselves) gets a `profile` frame, and sessions
   * following them in a users list a `list` update.
   */
  | { readonly kind: 'profile'; readonly state: UserState; readonly audience: readonly UserId[]; readonly at: Millis }
  /** Contacts of these users were added or removed: cached contact lists are stale. */
  | { readonly kind: 'contacts'; readonly users: readonly UserId[] }
  /**
   * A channel appeared in (add), changed in (update) or left (remove) some users' channel
   * lists. Null audience: an add reaches everyone (a public channel); an update or remove
   * reaches only the sessions whose list holds the channel. The channel carries `role`
   * when the change is about the audience's membership.
   */
  | {
      readonly kind: 'channels';
      readonly action: ListAction;
      readonly channel: ListedChannel;
      readonly audience: readonly UserId[] | null;
    }
  | { readonly kind: 'members'; readonly action: ListAction; readonly member: Member }
  | { readonly kind: 'channel-deleted'; readonly channel: ChannelId };
