import type { ModuleMigrations } from '../database.js';
import * as initial from './0001-initial.js';
import * as topicsAndThreads from './0008-topics-and-threads.js';

/**
 * The log's migrations (users, channels, members, events; topics and thread summaries). Listed here (not read from
 * disk) so builds and tests agree. The other modules keep theirs: 0002-accounts in
 * src/auth, 0003-chat in src/chat, 0004-webhooks in src/webhooks.
 */
export const logMigrations: ModuleMigrations = () => ({ '0001-initial': initial, '0008-topics-and-threads': topicsAndThreads });
