import type { ModuleMigrations } from '../../store/database.js';
import * as accounts from './0002-accounts.js';
import * as bans from './0005-bans.js';

/** The auth module's tables: accounts, refresh tokens, connect tickets, signing keys, bans. */
export const authMigrations: ModuleMigrations = () => ({ '0002-accounts': accounts, '0005-bans': bans });
