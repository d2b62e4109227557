import { assertCanPublish } from '../core/access.js';
import type { Hub } from '../core/hub.js';
import type { ChannelId, Principal } from '../core/types.js';

/**
 * The two questions the files module asks core: may this principal publish in the
 * channel (to upload for it), and read it (to download). Both throw core's errors
 * (`forbidden`, `not_found`).
 */
export interface ChannelAccess {
  assertCanPublish(principal: Principal, channel: ChannelId): Promise<void>;
  assertCanRead(principal: Principal, channel: ChannelId): Promise<void>;
}

/**
 * The rules asked of the hub's public methods. The hub has no "may publish" query yet:
 * `getChannel` checks reading, and `canPublish` (core/access.ts) decides publishing from
 * the channel and the asker's membership, which only a `members` policy needs (listed with
 * `listMembers`). A `hub.assertCanPublish(principal, channel)` would replace this (and the
 * member list read) with one cached lookup.
 */
export function hubAccess(hub: Pick<Hub, 'getChannel' | 'listMembers'>): ChannelAccess {
  return {
    async assertCanPublish(principal, id) {
      const channel = await hub.getChannel(principal, id);
      const member =
        principal.kind === 'user' && channel.publish === 'members'
          ? (await hub.listMembers(principal, id)).find((m) => m.user === principal.userId)
          : undefined;
      assertCanPublish(principal, channel, member);
    },
    async assertCanRead(principal, id) {
      await hub.getChannel(principal, id);
    },
  };
}
