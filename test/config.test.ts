import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, defaultConfig, loadConfig } from '../src/config.js';

describe('loadConfig', () => {
  it('gives the documented defaults, frozen', () => {
    const config = loadConfig({ env: {} });
    expect(config).toMatchObject({ port: 8080, host: '127.0.0.1', databaseUrl: 'sqlite:./data/switchboard.db' });
    expect(config.transports).toEqual(defaultConfig.transports);
    expect(Object.isFrozen(config.limits)).toBe(true);
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
  });

  it('keeps open auth on loopback unless explicitly overridden', () => {
    expect(() => loadConfig({ flags: { host: '0.0.0.0' } })).toThrow(/loopback only/);
    expect(loadConfig({ flags: { host: '0.0.0.0' }, overrides: { allowOpenAuthOnNetwork: true } }).host).toBe('0.0.0.0');
  });

  it('maps seed 001 "all" to every transport', () => {
    expect(loadConfig({ flags: { transports: 'all' } }).transports).toEqual(defaultConfig.transports);
  });
});
