import { SwitchboardError } from './errors.js';
import type { Channel, ChannelEvent, Member, MemberRole, Principal } from './types.js';

/** The channel rules, in one place for every transport. */

export function inboxChannelOf(userId: string): string {
  return `user:${userId}`;
}

function isAdmin(principal: Principal): boolean {
  return principal.kind === 'server' || principal.roles.includes('admin');
}

export function canRead(principal: Principal, channel: Channel, member: Member | undefined): boolean {
  if (principal.kind === 'server') return true;
  switch (channel.type) {
    case 'public':
      return true;
    case 'private':
    case 'direct':
      return member !== undefined;
    case 'inbox':
      return channel.id === inboxChannelOf(principal.userId);
  }
}

export function canPublish(principal: Principal, channel: Channel, member: Member | undefined): boolean {
  if (principal.kind === 'server') return true;
  switch (channel.publish) {
    case 'server':
      return false;
    case 'members':
      return member !== undefined;
    case 'anyone':
      return canRead(principal, channel, member);
  }
}

/**
 * Owners and admins of a channel manage its members; only an owner (or a global admin)
 * makes someone an owner or removes one, so a channel admin cannot take the channel over.
 * `targetRole`: the role being granted, or the role of the member being removed.
 */
export function canManageMembers(
  principal: Principal,
  channel: Channel,
  member: Member | undefined,
  targetRole?: MemberRole,
): boolean {
  if (isAdmin(principal)) return true;
  if (channel.type === 'direct' || channel.type === 'inbox') return false;
  if (targetRole === 'owner') return member?.role === 'owner';
  return member?.role === 'owner' || member?.role === 'admin';
}

/**
 * Authors edit and delete their own messages; global admins (and the server) any message.
 * A channel's owners and admins may also delete (moderate), but never edit, others' words.
 */
export function canChangeMessage(
  principal: Principal,
  message: ChannelEvent,
  change: 'edit' | 'delete' = 'edit',
  member?: Member,
): boolean {
  if (isAdmin(principal) || message.author === principal.userId) return true;
  return change === 'delete' && (member?.role === 'owner' || member?.role === 'admin');
}

export function assertCanRead(principal: Principal, channel: Channel, member: Member | undefined): void {
  if (!canRead(principal, channel, member)) {
    throw new SwitchboardError('forbidden', `You may not read channel ${channel.id}.`);
  }
}

export function assertCanPublish(principal: Principal, channel: Channel, member: Member | undefined): void {
  if (!canPublish(principal, channel, member)) {
    const why = channel.publish === 'server' ? 'only the server publishes there' : 'members only';
    throw new SwitchboardError('forbidden', `You may not publish in channel ${channel.id}: ${why}.`);
  }
}
