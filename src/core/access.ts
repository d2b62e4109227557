import { SwitchboardError } from './errors.js';
import { inboxChannelOf } from './names.js';
import type { Channel, ChannelEvent, Member, MemberRole, Principal, UserId } from './types.js';

/**
 * The channel rules, in one place for every transport and module. Each takes what the
 * rule depends on (the channel, the asker's membership) and never reads anything itself.
 */

function isAdmin(principal: Principal): boolean {
  return principal.kind === 'server' || principal.roles.includes('admin');
}

/**
 * Whether reading or publishing in the channel depends on the principal's membership, so
 * it must be looked up: not for the server, open public channels, or inboxes.
 */
export function membershipMatters(principal: Principal, channel: Channel): boolean {
  if (principal.kind === 'server') return false;
  if (channel.type === 'public' && channel.publish === 'anyone') return false;
  return channel.type !== 'inbox';
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

/** Inboxes and direct channels have fixed settings and members: only the server changes or deletes them. */
function isFixed(channel: Channel): boolean {
  return channel.type === 'inbox' || channel.type === 'direct';
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

export function assertCanManageMembers(
  principal: Principal,
  channel: Channel,
  member: Member | undefined,
  targetRole?: MemberRole,
): void {
  if (!canManageMembers(principal, channel, member, targetRole)) {
    const who = targetRole === 'owner' ? 'owners' : 'owners and admins';
    const what = targetRole === 'owner' ? 'the owners' : 'the members';
    throw new SwitchboardError('forbidden', `Only ${who} manage ${what} of ${channel.id}.`);
  }
}

/** A channel's title and publish policy: its owners and admins (inboxes and DMs: the server). */
export function assertCanUpdateChannel(principal: Principal, channel: Channel, member: Member | undefined): void {
  if (!isFixed(channel)) return assertCanManageMembers(principal, channel, member);
  if (principal.kind !== 'server') throw new SwitchboardError('forbidden', `A ${channel.type} channel has no settings to change.`);
}

/** Deleting a channel with its history: its owners (inboxes and DMs: the server). */
export function assertCanDeleteChannel(principal: Principal, channel: Channel, member: Member | undefined): void {
  const fixed = isFixed(channel);
  const allowed = fixed ? principal.kind === 'server' : canManageMembers(principal, channel, member, 'owner');
  if (!allowed) {
    throw new SwitchboardError('forbidden', fixed ? `Only the server deletes ${channel.type} channels.` : `Only the owners delete ${channel.id}.`);
  }
}

/** Public channels are open to join; the others take members only from their owners. */
export function assertCanJoin(channel: Channel): void {
  if (channel.type !== 'public') {
    throw new SwitchboardError('forbidden', `Channel ${channel.id} is ${channel.type}: an owner must add you.`);
  }
}

/** A profile: the user themselves, an admin, or the server. */
export function assertCanUpdateUser(principal: Principal, user: UserId): void {
  if (principal.userId !== user && !isAdmin(principal)) {
    throw new SwitchboardError('forbidden', 'You may change only your own profile.');
  }
}

/** `member`: for a moderator's delete of another's message, their membership whatever the channel's rules. */
export function assertCanChangeMessage(
  principal: Principal,
  message: ChannelEvent,
  change: 'edit' | 'delete',
  member: Member | undefined,
): void {
  if (!canChangeMessage(principal, message, change, member)) {
    throw new SwitchboardError('forbidden', 'You may change only your own messages.');
  }
}

/**
 * An annotation (a module's event about a message, such as a reaction): by a user who may
 * read the channel, never in an inbox (its messages are the server's pushes to one user).
 */
export function assertCanAnnotate(principal: Principal, channel: Channel, member: Member | undefined): void {
  if (principal.kind !== 'user') throw new SwitchboardError('bad_request', 'Only users react to messages.');
  if (channel.type === 'inbox') throw new SwitchboardError('forbidden', 'Inbox messages take no reactions.');
  assertCanRead(principal, channel, member);
}
