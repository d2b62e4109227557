import type { PresenceRegistry } from '../../src/core/broker.js';
import type { ChannelId, PresenceMember } from '../../src/core/types.js';

/** Every member of the channel's presence, paged through two at a time as a client pages (so every test pages). */
export async function presenceMembers(registry: PresenceRegistry, channel: ChannelId): Promise<PresenceMember[]> {
  const members: PresenceMember[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await registry.page(channel, after, 2);
    members.push(...page.members);
    if (!page.more) return members;
    after = page.members.at(-1)!.user;
  }
}
