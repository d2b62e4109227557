import type { CliCommand } from './command.js';
import { configCheckCommand } from './config-check.js';
import { configInitCommand } from './config-init.js';
import { serveCommand } from './serve.js';

/** Every command, in the order `switchboard --help` lists them. */
export const COMMANDS: readonly CliCommand[] = [serveCommand, configInitCommand, configCheckCommand];
