import type { Migration, MigrationProvider } from 'kysely';
import * as initial from './0001-initial.js';
import * as accounts from './0002-accounts.js';
import * as chat from './0003-chat.js';
import * as webhooks from './0004-webhooks.js';

/** Every migration, in order. Listed here (not read from disk) so builds and tests agree. */
export const migrationProvider: MigrationProvider = {
  async getMigrations(): Promise<Record<string, Migration>> {
    return { '0001-initial': initial, '0002-accounts': accounts, '0003-chat': chat, '0004-webhooks': webhooks };
  },
};
