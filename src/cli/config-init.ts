import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { defaultConfig, type Config, type DeepPartial } from '../config.js';
import { defineCommand, fail } from './command.js';

const DEFAULT_FILE = 'switchboard.json';

/**
 * The settings a new deployment decides first, at their defaults, with a fresh API key
 * and JWT secret. Plain JSON, because that is what `loadConfig` reads: it takes no
 * comments, and its strict schema refuses any key it does not know (a `$comment` too).
 */
export function startingConfig(): DeepPartial<Config> {
  const { host, port, grpcPort, databaseUrl, redisUrl, auth } = defaultConfig;
  return {
    host,
    port,
    grpcPort,
    databaseUrl,
    redisUrl,
    auth,
    jwt: { secret: randomBytes(32).toString('base64url') },
    apiKeys: [randomBytes(24).toString('base64url')],
  };
}

export const configInitCommand = defineCommand({
  name: 'config init',
  args: '[FILE]',
  summary: `write a starting config file (default ${DEFAULT_FILE})`,
  help: `Writes FILE (default ${DEFAULT_FILE}; - for standard output): the settings a new
deployment decides first (listen address and ports, database, Redis, auth mode) at their
defaults, a new random API key (for /metrics, /admin and the server API) and a new JWT
secret. \`switchboard serve --config FILE\` reads it; docs/configuration.md describes
every setting it may hold. The file is readable by its owner only, as it holds secrets.

Options:
  --force             overwrite FILE if it exists
`,
  options: { force: { type: 'boolean' } },
  positionals: [0, 1],
  async run({ values, positionals }) {
    const file = positionals[0] ?? DEFAULT_FILE;
    const text = `${JSON.stringify(startingConfig(), null, 2)}\n`;
    if (file === '-') {
      process.stdout.write(text);
      return 0;
    }
    try {
      writeFileSync(file, text, { mode: 0o600, flag: values.force ? 'w' : 'wx' });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return fail(`${file} exists; pass --force to overwrite it.`);
      return fail(`Cannot write ${file}: ${(error as Error).message}.`);
    }
    process.stdout.write(`Wrote ${file}. Start with: switchboard serve --config ${file}\n`);
    return 0;
  },
});
