import { type Config, ConfigError, type ConfigSources, loadConfig } from '../config.js';
import { fail } from './command.js';

/** The options every command that reads the settings takes, as `serve` does. */
export const SETTINGS_OPTIONS = {
  config: { type: 'string' },
  database: { type: 'string' },
  auth: { type: 'string' },
} as const;

export const SETTINGS_HELP = `  --config FILE       the settings file serve reads (JSON with comments)
  --database URL      sqlite:PATH, a path, or postgres://... (DATABASE_URL)
  --auth MODE         open | accounts | jwt (SWITCHBOARD_AUTH)
`;

/**
 * The settings as `switchboard serve` would see them (file, this shell's environment,
 * flags), or the exit code after printing every problem, one sentence a line.
 */
export function settingsOf(
  values: { readonly config?: string; readonly database?: string; readonly auth?: string },
  sources: Pick<ConfigSources, 'flags' | 'overrides'> = {},
): Readonly<Config> | number {
  try {
    return loadConfig({
      file: values.config,
      env: process.env,
      flags: { databaseUrl: values.database, auth: values.auth, ...sources.flags },
      overrides: sources.overrides,
    });
  } catch (error) {
    if (error instanceof ConfigError) return failEach(error.problems);
    throw error;
  }
}

/** Prints each problem as its own `switchboard:` line; the exit code is 1. */
export function failEach(problems: readonly string[]): number {
  for (const problem of problems) fail(problem);
  return 1;
}
