import type { CliCommand } from './command.js';
import { configCheckCommand } from './config-check.js';
import { configInitCommand } from './config-init.js';
import { migrateCommand } from './migrate.js';
import { serveCommand } from './serve.js';
import { tokenCommand } from './token.js';

/** Every command, in the order `switchboard --help` lists them. */
export const COMMANDS: readonly CliCommand[] = [serveCommand, migrateCommand, tokenCommand, configInitCommand, configCheckCommand];
