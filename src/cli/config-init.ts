import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { configSchema, defaultConfig, type Config, type DeepPartial } from '../config.js';
import { packageVersion } from '../package-root.js';
import { defineCommand, fail } from './command.js';

const DEFAULT_FILE = 'switchboard.json';
const COMMENT_WIDTH = 92;

/**
 * The settings a new deployment decides first, at their defaults, with a fresh API key
 * and JWT secret.
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

/**
 * The config file `config init` writes: JSON with comments (the loader reads it), each
 * setting under its description from the schema, so the file explains itself.
 */
export function commentedConfig(settings: DeepPartial<Config>): string {
  const head = [
    `Switchboard settings, written by \`switchboard config init\` (${packageVersion()}).`,
    'JSON with comments. A setting left out keeps its default; docs/configuration.md lists',
    'them all. Environment variables (PORT, DATABASE_URL ...) and flags override this file;',
    '`switchboard config check FILE` validates it.',
  ];
  return `${head.map((line) => `// ${line}`).join('\n')}\n${renderObject(settings, configSchema, '')}\n`;
}

function renderObject(value: object, schema: z.ZodObject, indent: string): string {
  const inner = `${indent}  `;
  const entries = Object.entries(value).map(([key, setting]) => {
    const field = schema.shape[key] as z.ZodType | undefined;
    const comment = field?.description ? wrap(field.description, COMMENT_WIDTH - inner.length - 3).map((line) => `${inner}// ${line}\n`).join('') : '';
    const nested = field && objectOf(field);
    const rendered =
      nested && typeof setting === 'object' && setting !== null && !Array.isArray(setting)
        ? renderObject(setting, nested, inner)
        : JSON.stringify(setting);
    return `${comment}${inner}${JSON.stringify(key)}: ${rendered}`;
  });
  return `{\n${entries.join(',\n')}\n${indent}}`;
}

/** The object schema of a group of settings (`jwt`, `limits` ...), under its default. */
function objectOf(field: z.ZodType): z.ZodObject | null {
  const inner = field instanceof z.ZodPrefault || field instanceof z.ZodDefault ? field.unwrap() : field;
  return inner instanceof z.ZodObject ? inner : null;
}

/** Words into lines of at most `width` characters (a longer word gets a line of its own). */
function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

export const configInitCommand = defineCommand({
  name: 'config init',
  args: '[FILE]',
  summary: `write a starting config file (default ${DEFAULT_FILE})`,
  help: `Writes FILE (default ${DEFAULT_FILE}; - for standard output): the settings a new
deployment decides first (listen address and ports, database, Redis, auth mode) at their
defaults, a new random API key (for /metrics, /admin and the server API) and a new JWT
secret, each under a comment that describes it. The file is JSON with comments, which
\`switchboard serve --config FILE\` reads; docs/configuration.md describes every setting it
may hold. The file is readable by its owner only, as it holds secrets.

Options:
  --force             overwrite FILE if it exists
`,
  options: { force: { type: 'boolean' } },
  positionals: [0, 1],
  async run({ values, positionals }) {
    const file = positionals[0] ?? DEFAULT_FILE;
    const text = commentedConfig(startingConfig());
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
