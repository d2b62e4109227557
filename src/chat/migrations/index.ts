import type { ModuleMigrations } from '../../store/database.js';
import { chatMigration } from './0003-chat.js';

/** The chat features' tables and the full-text index over messages. */
export const chatMigrations: ModuleMigrations = (dialect) => ({ '0003-chat': chatMigration(dialect) });
