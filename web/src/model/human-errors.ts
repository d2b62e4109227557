import { ClientError } from '../../../client/src/index.js';

/** What the person was trying to do, to start the sentence with. */
export type Action =
  | 'send'
  | 'edit'
  | 'delete'
  | 'react'
  | 'create-channel'
  | 'join'
  | 'leave'
  | 'open'
  | 'load'
  | 'search'
  | 'thread'
  | 'members'
  | 'settings'
  | 'status'
  | 'direct'
  | 'upload';

const DOING: Record<Action, string> = {
  send: 'Your message was not sent',
  edit: 'The message was not changed',
  delete: 'The message was not deleted',
  react: 'The reaction was not saved',
  'create-channel': 'The channel was not created',
  join: 'You could not join the channel',
  leave: 'You could not leave the channel',
  open: 'The channel could not be opened',
  load: 'Messages could not be loaded',
  search: 'The search failed',
  thread: 'The thread could not be loaded',
  members: 'The members could not be changed',
  settings: 'The settings were not saved',
  status: 'Your status was not changed',
  direct: 'The conversation could not be started',
  upload: 'The file was not uploaded',
};

/**
 * One sentence a person can act on, never a raw validation string: what did not happen,
 * then why, in words. The server's own message is kept only where it is already prose
 * (`conflict`, `not_found`), because it names the thing.
 */
export function humanError(action: Action, error: unknown): string {
  const start = DOING[action];
  if (!(error instanceof ClientError)) return `${start}: something went wrong in the page. Reload to try again.`;
  switch (error.code) {
    case 'forbidden':
      return action === 'send' || action === 'upload'
        ? `${start}: you are not allowed to post here.`
        : `${start}: you do not have permission to do that here.`;
    case 'not_found':
      return `${start}: it no longer exists, or you are not a member.`;
    case 'archived':
      return `${start}: the channel is archived, so nothing new can be posted or changed in it.`;
    case 'conflict':
      if (action === 'create-channel') return `${start}: a channel with that name already exists.`;
      if (action === 'edit' || action === 'delete' || action === 'react') return `${start}: the message was deleted.`;
      return `${start}: it was already done.`;
    case 'too_large':
      if (action === 'upload') return `${start}: it is larger than this server takes, or your storage is full.`;
      return `${start}: it is too long. Split it into shorter messages.`;
    case 'bad_request':
      if (action === 'create-channel') return `${start}: use 1-128 letters, digits or _ . - in the name.`;
      if (action === 'members' || action === 'direct') return `${start}: check the user names.`;
      return `${start}: the server did not accept it.`;
    case 'rate_limited':
    case 'too_many_subscriptions':
      return `${start}: you are going too fast. Wait a moment and try again.`;
    case 'unavailable':
    case 'internal':
      return `${start}: the server is having trouble. Try again in a moment.`;
    case 'unknown_command':
      return `${start}: this server does not support it yet.`;
    case 'unauthorized':
      return `${start}: your session has ended. Sign in again.`;
    case 'timeout':
    case 'connection_lost':
      return `${start}: the server did not answer. Check your connection and try again.`;
    case 'closed':
      return `${start}: you are signed out. Sign in again.`;
    default:
      return `${start}.`;
  }
}

/** Refusals that will not change by sending the same thing again later. */
export function isRefusal(error: unknown): boolean {
  if (!(error instanceof ClientError)) return true;
  return !['timeout', 'connection_lost', 'closed', 'unavailable', 'internal', 'rate_limited'].includes(error.code);
}
