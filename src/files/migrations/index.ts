import type { ModuleMigrations } from '../../store/database.js';
import * as files from './0007-files.js';

/** Uploaded files, their blobs, the messages that refer to them, the URL-signing key. */
export const filesMigrations: ModuleMigrations = () => ({ '0007-files': files });
