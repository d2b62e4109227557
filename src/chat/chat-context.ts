import { SwitchboardError } from '../core/errors.js';
import type { Hub } from '../core/hub.js';
import type { Logger } from '../core/logger.js';
import type { Store } from '../core/store.js';
import type { Principal, UserId } from '../core/types.js';
import type { ChatCache } from './chat-cache.js';
import type { ChatStore } from './chat-store.js';
import type { UserStates } from './user-states.js';

/** What every chat feature works with: core (through the hub), the log's reads, chat's own tables. */
export interface ChatContext {
  readonly hub: Hub;
  /** The log's reads the features make themselves, after the hub checked access. */
  readonly log: Pick<Store, 'getChannel' | 'getEvent' | 'readEvents' | 'listMembers'>;
  readonly tables: ChatStore;
  /** Users' states: the table's, with online-ness from the presence registry. */
  readonly states: UserStates;
  /** What connects and status changes read, kept true by chat's changes and notices. */
  readonly cache: ChatCache;
  readonly logger: Logger;
}

/** The server itself, for the features' own reads and inbox pushes. */
export const SERVER: Principal = { kind: 'server', userId: 'switchboard', name: 'switchboard', roles: [] };

export const MAX_PAGE = 100;

export function clampPage(limit: number): number {
  return Math.min(Math.max(Math.trunc(limit), 1), MAX_PAGE);
}

/** The user a per-user request is about; the server has no contacts, status or read state. */
export function userOf(principal: Principal): UserId {
  if (principal.kind !== 'user') throw new SwitchboardError('bad_request', 'This request is made by a user.');
  return principal.userId;
}
