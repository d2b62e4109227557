import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ConfigError, configSchema, defaultConfig, loadConfig, stripJsonComments } from '../src/config.js';

/** Every setting of the schema by its dotted name: objects are walked, anything else is a leaf. */
function settings(shape: Readonly<Record<string, z.ZodType>> = configSchema.shape, prefix = ''): [string, z.ZodType][] {
  return Object.entries(shape).flatMap(([key, field]): [string, z.ZodType][] => {
    const name = `${prefix}${key}`;
    const inner = field instanceof z.ZodPrefault ? field.unwrap() : null;
    if (inner instanceof z.ZodObject) return [[name, field], ...settings(inner.shape as Record<string, z.ZodType>, `${name}.`)];
    return [[name, field]];
  });
}

describe('loadConfig', () => {
  it('gives the documented defaults, frozen', () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', databaseUrl: 'sqlite:./data/switchboard.db' });
    expect(config.transports).toEqual(defaultConfig.transports);
    expect(config).toEqual(defaultConfig);
    expect(Object.isFrozen(config.limits)).toBe(true);
    expect(Object.isFrozen(defaultConfig.limits) && Object.isFrozen(defaultConfig.transports)).toBe(true);
  });

  it('has one schema: every setting has a default and a description, and the docs name it', () => {
    const docs = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
    const limitsTable = docs.slice(docs.indexOf('## Limits'));
    const all = settings();
    expect(all.length).toBeGreaterThan(60);
    for (const [name, field] of all) {
      expect.soft(field.description, `${name} has no description`).toMatch(/\S/);
      expect.soft(field instanceof z.ZodDefault || field instanceof z.ZodPrefault, `${name} has no default`).toBe(true);
      if (all.some(([other]) => other.startsWith(`${name}.`))) continue; // a group: its settings are named
      const documented = name.startsWith('limits.')
        ? limitsTable.includes(`\`${name.slice('limits.'.length)}\``)
        : docs.includes(`\`${name}\``);
      expect.soft(documented, `docs/configuration.md does not name ${name}`).toBe(true);
    }
  });

  it('lets a file, then the environment, then flags override', () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-config-'));
    const file = join(dir, 'switchboard.json');
    writeFileSync(file, JSON.stringify({ port: 9000, limits: { maxTextLength: 10 }, logLevel: 'warn' }));
    const config = loadConfig({ file, env: { PORT: '9100', DATABASE_URL: '/tmp/x.db' }, flags: { port: '9200' } });
    expect(config.port).toBe(9200);
    expect(config.databaseUrl).toBe('/tmp/x.db');
    expect(config.limits.maxTextLength).toBe(10);
    expect(config.limits.maxFrameBytes).toBe(defaultConfig.limits.maxFrameBytes);
    expect(config.logLevel).toBe('warn');
  });

  it('names the bad setting in one sentence', () => {
    expect(() => loadConfig({ env: { PORT: 'eighty' } })).toThrow(/^Invalid setting port: /);
    expect(() => loadConfig({ flags: { transports: 'ws,carrier-pigeon' } })).toThrow(/Invalid setting transports\.1/);
    expect(() => loadConfig({ file: '/nonexistent/switchboard.json' })).toThrow(ConfigError);
    expect(() => loadConfig({ overrides: { limits: { maxTextLenght: 10 } } as never })).toThrow(
      new ConfigError('Unknown setting limits.maxTextLenght: docs/configuration.md lists every setting.'),
    );
  });

  it('keeps open auth on loopback unless explicitly overridden', () => {
    expect(() => loadConfig({ flags: { host: '0.0.0.0' } })).toThrow(/loopback only/);
    expect(loadConfig({ flags: { host: '0.0.0.0' }, overrides: { allowOpenAuthOnNetwork: true } }).host).toBe('0.0.0.0');
  });

  it('maps seed 001 "all" to every transport', () => {
    expect(loadConfig({ flags: { transports: 'all' } }).transports).toEqual(defaultConfig.transports);
  });
});

describe('stripJsonComments', () => {
  it('blanks comments and trailing commas, keeps strings and every position', () => {
    const text = '// head\n{\n  /* a\n  block */ "a": "x // y /* z */",\r\n  "b": [1, 2, /* c */ ],\n  // "c": 3,\n}\n';
    const stripped = stripJsonComments(text);
    expect(stripped.length).toBe(text.length);
    expect([...stripped].map((c, i) => (c === '\n' || c === '\r' ? i : -1)).filter((i) => i >= 0)).toEqual(
      [...text].map((c, i) => (c === '\n' || c === '\r' ? i : -1)).filter((i) => i >= 0),
    );
    expect(JSON.parse(stripped)).toEqual({ a: 'x // y /* z */', b: [1, 2] });
    expect(stripJsonComments('{"a": "say \\"hi\\" // not a comment"}')).toBe('{"a": "say \\"hi\\" // not a comment"}');
    // A comma inside a string, before a bracket, is the string's.
    expect(JSON.parse(stripJsonComments('{"a": ",}"}'))).toEqual({ a: ',}' });
  });
});

describe('loadConfig, every problem', () => {
  it('lists each bad setting and each contradiction, one sentence each', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({ overrides: { port: 'x', porrt: 1, auth: 'jwt', apiKeys: ['short'] } as never });
    } catch (caught) {
      error = caught as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect(error!.problems).toEqual([
      'Invalid setting port: expected a number, not "x".',
      'Unknown setting porrt: docs/configuration.md lists every setting.',
      expect.stringMatching(/^Auth mode "jwt" needs a key: /),
      'Every API key (SWITCHBOARD_API_KEY) must be at least 16 characters.',
    ]);
    expect(error!.message).toBe(error!.problems.join('\n'));
  });

  it('refuses hooks.channels, naming what replaced it, and backends hooks name but do not define', () => {
    const old = { hooks: { backends: { app: { grpc: { address: '127.0.0.1:7000' } } }, channels: { room: { subscribe: 'app' } } } };
    expect(() => loadConfig({ overrides: old as never })).toThrow(
      new ConfigError(
        'hooks.channels is replaced: set a namespace\'s hooks in namespaces.<ns>.hooks ({"subscribe": …, "publish": …}) and every other channel\'s in hooks.channelDefault.',
      ),
    );
    const backends = { app: { grpc: { address: '127.0.0.1:7000' } } };
    expect(() => loadConfig({ overrides: { hooks: { backends }, namespaces: { room: { hooks: { publish: 'nope' } } } } as never })).toThrow(
      new ConfigError('Hook backend "nope" is used but not defined in hooks.backends.'),
    );
    expect(() => loadConfig({ overrides: { hooks: { backends, channelDefault: { subscribe: 'gone' } } } as never })).toThrow(
      new ConfigError('Hook backend "gone" is used but not defined in hooks.backends.'),
    );
    const config = loadConfig({ overrides: { hooks: { backends, channelDefault: { publish: 'app' } }, namespaces: { room: { hooks: { subscribe: 'app' } } } } as never });
    expect(config.namespaces['room']!.hooks).toEqual({ subscribe: 'app' });
    expect(config.hooks.channelDefault).toEqual({ publish: 'app' });
  });

  it('does not guess at contradictions with a setting that is itself wrong', () => {
    // auth "jwtt" is wrong; whether host 0.0.0.0 suits the auth meant is not knowable.
    expect(() => loadConfig({ overrides: { auth: 'jwtt', host: '0.0.0.0' } as never })).toThrow(
      new ConfigError('Invalid setting auth: Invalid option: expected one of "open"|"accounts"|"jwt".'),
    );
  });
});
