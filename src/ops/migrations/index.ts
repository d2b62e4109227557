import type { ModuleMigrations } from '../../store/database.js';
import * as audit from './0006-ops.js';

/** The operations module's tables: the admin console's audit log. */
export const opsMigrations: ModuleMigrations = () => ({ '0006-ops': audit });
