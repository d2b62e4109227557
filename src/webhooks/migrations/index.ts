import type { ModuleMigrations } from '../../store/database.js';
import * as outbox from './0004-webhooks.js';

/** The webhook outbox. */
export const webhookMigrations: ModuleMigrations = () => ({ '0004-webhooks': outbox });
