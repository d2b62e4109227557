import type { ModuleMigrations } from '../../store/database.js';
import * as accounts from './0002-accounts.js';

/** The auth module's tables: accounts, refresh tokens, connect tickets, signing keys. */
export const authMigrations: ModuleMigrations = () => ({ '0002-accounts': accounts });
