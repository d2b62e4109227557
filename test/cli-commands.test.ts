import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configSchema, stripJsonComments } from '../src/config.js';
import { createTestSchema } from './helpers/postgres.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';

// Every command is run as an operator runs it: the real entry point in its own process.
const CLI = fileURLToPath(new URL('../src/cli.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');
const VERSION = (JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version;

// Settings from the shell running the tests must not leak into the commands under test.
const SETTING = /^(PORT|HOST|GRPC_PORT|METRICS_PORT|DATABASE_URL|REDIS_URL|SWITCHBOARD_.*|PUSHER_.*)$/;
const ENV = Object.fromEntries(Object.entries(process.env).filter(([key]) => !SETTING.test(key)));

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function start(args: readonly string[], cwd: string, env: Record<string, string> = {}): ChildProcess {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], { cwd, env: { ...ENV, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

interface Outcome {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Collects a child's output until it exits; fails if it has not within the timeout. */
function outcome(child: ChildProcess, timeoutMs = 20_000): Promise<Outcome> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`still running after ${timeoutMs} ms; stderr: ${stderr}`)), timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function run(args: readonly string[], cwd = scratchDir(), env: Record<string, string> = {}): Promise<Outcome> {
  return outcome(start(args, cwd, env));
}

/** Resolves when `pattern` appears on the child's stdout; rejects if it exits or times out first. */
function waitForOutput(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  let seen = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms; output: ${seen}`)), timeoutMs);
    const onData = (chunk: Buffer) => {
      seen += chunk.toString();
      const line = seen.split('\n').find((candidate) => pattern.test(candidate));
      if (line === undefined) return;
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      resolve(line);
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before ${pattern}; output: ${seen}`));
    });
  });
}

describe('switchboard --version and --help', () => {
  it('prints the version from package.json and the Node.js it runs on', async () => {
    const { code, stdout } = await run(['--version']);
    expect(code).toBe(0);
    expect(stdout).toBe(`switchboard ${VERSION} (Node.js ${process.version})\n`);
  });

  it('lists every command, and each command answers --help with its usage', async () => {
    const { code, stdout } = await run(['--help']);
    expect(code).toBe(0);
    const commands = [...stdout.matchAll(/^ {2}switchboard ([a-z]+(?: [a-z]+)*)/gm)].map((match) => match[1]!);
    expect(commands).toEqual(expect.arrayContaining(['serve', 'migrate', 'token', 'config init', 'config check']));
    for (const command of commands) {
      const help = await run([...command.split(' '), '--help']);
      expect(help.code, command).toBe(0);
      expect(help.stdout, command).toMatch(new RegExp(`^Usage: switchboard ${command}\\b`));
    }
  });

  it('answers `config --help` with the config commands', async () => {
    const { code, stdout } = await run(['config', '--help']);
    expect(code).toBe(0);
    expect(stdout).toContain('switchboard config init [FILE]');
    expect(stdout).toContain('switchboard config check FILE');
  });

  it('exits with 1 and help on stderr without a command, and one sentence for an unknown one', async () => {
    const bare = await run([]);
    expect(bare.code).toBe(1);
    expect(bare.stderr).toContain('switchboard serve');
    const unknown = await run(['frobnicate']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('switchboard: Unknown command "frobnicate". See switchboard --help.\n');
    const option = await run(['config', 'check', 'a.json', '--frob']);
    expect(option.code).toBe(1);
    expect(option.stderr).toBe('switchboard: Unknown option "--frob". See switchboard config check --help.\n');
  });
});

/** A file `config init` wrote: JSON with comments. */
function readJsonc<T>(text: string): T {
  return JSON.parse(stripJsonComments(text)) as T;
}

describe('switchboard config init', () => {
  it('writes switchboard.json for its owner only, with a new API key and JWT secret, and refuses to overwrite it', async () => {
    const dir = scratchDir();
    const first = await run(['config', 'init'], dir);
    expect(first.code).toBe(0);
    const file = join(dir, 'switchboard.json');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    const written = readJsonc<{ port: number; apiKeys: string[]; jwt: { secret: string } }>(readFileSync(file, 'utf8'));
    expect(written.port).toBe(8080);
    expect(written.apiKeys).toHaveLength(1);
    expect(written.apiKeys[0]!.length).toBeGreaterThanOrEqual(16);
    expect(written.jwt.secret.length).toBeGreaterThanOrEqual(32);

    const again = await run(['config', 'init'], dir);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe('switchboard: switchboard.json exists; pass --force to overwrite it.\n');
    expect(readFileSync(file, 'utf8')).toContain(written.apiKeys[0]!);

    const forced = await run(['config', 'init', '--force', 'switchboard.json'], dir);
    expect(forced.code).toBe(0);
    expect(readFileSync(file, 'utf8')).not.toContain(written.apiKeys[0]!);
  });

  it('writes to standard output with -, and every run gets its own secrets', async () => {
    const [a, b] = await Promise.all([run(['config', 'init', '-']), run(['config', 'init', '-'])]);
    expect(a.code).toBe(0);
    const first = readJsonc<{ apiKeys: string[] }>(a.stdout);
    const second = readJsonc<{ apiKeys: string[] }>(b.stdout);
    expect(first.apiKeys[0]).not.toBe(second.apiKeys[0]);
  });

  it("puts each setting's description from the schema in a comment right above it", async () => {
    const { code, stdout } = await run(['config', 'init', '-']);
    expect(code).toBe(0);
    const lines = stdout.split('\n');
    const described = (name: string): string | undefined => {
      const [top, inner] = name.split('.');
      const field = configSchema.shape[top as keyof typeof configSchema.shape] as z.ZodType;
      if (inner === undefined) return field.description;
      return ((field as z.ZodPrefault<z.ZodObject>).unwrap().shape as Record<string, z.ZodType>)[inner]!.description;
    };
    const keyed = lines.map((line, at) => ({ at, match: /^( *)"([A-Za-z]+)":/.exec(line) })).filter((entry) => entry.match !== null);
    const seen: string[] = [];
    let group: string | null = null;
    for (const { at, match } of keyed) {
      const [, indent, key] = match!;
      if (indent!.length === 2) group = key!;
      const name = indent!.length === 2 ? key! : `${group}.${key}`;
      seen.push(name);
      // The comment lines right above the key, joined, are the schema's description.
      const comment: string[] = [];
      for (let i = at - 1; i >= 0 && lines[i]!.trimStart().startsWith('//'); i--) comment.unshift(lines[i]!.trim().slice(3));
      expect(comment.join(' '), name).toBe(described(name));
    }
    expect(seen).toEqual(['host', 'port', 'grpcPort', 'databaseUrl', 'redisUrl', 'auth', 'jwt', 'jwt.secret', 'apiKeys']);
  });

  it('writes a file that config check accepts and serve starts with', async () => {
    const dir = scratchDir();
    expect((await run(['config', 'init', 'node.json'], dir)).code).toBe(0);

    const check = await run(['config', 'check', 'node.json'], dir);
    expect(check).toMatchObject({ code: 0, stdout: 'node.json: ok\n', stderr: '' });

    const node = start(
      ['serve', '--config', 'node.json', '--port', '0', '--transports', 'ws,http', '--database', `sqlite:${join(dir, 'db.sqlite')}`],
      dir,
    );
    const exited = outcome(node, 30_000);
    const line = await waitForOutput(node, /switchboard listening/);
    const { url } = JSON.parse(line) as { url: string };
    const apiKey = readJsonc<{ apiKeys: string[] }>(readFileSync(join(dir, 'node.json'), 'utf8')).apiKeys[0]!;
    const metrics = await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${apiKey}` } });
    expect(metrics.status).toBe(200);
    node.kill('SIGTERM');
    expect((await exited).code).toBe(0);
    expect(existsSync(join(dir, 'db.sqlite'))).toBe(true);
  });
});

describe('switchboard config check', () => {
  const cases: readonly (readonly [string, string, RegExp])[] = [
    ['an unknown key', '{"porrt": 8080}', /^switchboard: Unknown setting porrt: docs\/configuration\.md lists every setting\.\n$/],
    ['a bad value', '{"port": "eighty"}', /^switchboard: Invalid setting port: .+\.\n$/],
    ['broken JSON', '{"port": 80', /^switchboard: Config file bad\.json is not a JSON object: .+\.\n$/],
    ['contradictory settings', '{"auth": "jwt"}', /^switchboard: Auth mode "jwt" needs a key: .+\.\n$/],
  ];
  for (const [what, text, message] of cases) {
    it(`exits with 1 and one sentence for ${what}`, async () => {
      const dir = scratchDir();
      writeFileSync(join(dir, 'bad.json'), text);
      const { code, stdout, stderr } = await run(['config', 'check', 'bad.json'], dir);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(stderr).toMatch(message);
    });
  }

  it('reports every problem, one sentence a line, not just the first', async () => {
    const dir = scratchDir();
    writeFileSync(join(dir, 'bad.json'), JSON.stringify({ porrt: 8080, port: 'eighty', auth: 'jwt', apiKeys: ['short'] }));
    const { code, stdout, stderr } = await run(['config', 'check', 'bad.json'], dir);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.split('\n').filter(Boolean)).toEqual([
      'switchboard: Invalid setting port: expected a number, not "eighty".',
      expect.stringMatching(/^switchboard: Unknown setting porrt: /),
      expect.stringMatching(/^switchboard: Auth mode "jwt" needs a key: /),
      'switchboard: Every API key (SWITCHBOARD_API_KEY) must be at least 16 characters.',
    ]);
  });

  it('reads JSON with comments and trailing commas, and points at a syntax error by line and column', async () => {
    const dir = scratchDir();
    const commented = [
      '// a node of the staging cluster',
      '{',
      '  /* the address */ "host": "127.0.0.1",',
      '  "port": 9090, // not 8080: the proxy is there',
      '  "apiKeys": ["a-key-with-//-inside-0123456789"],',
      '  // "redisUrl": "redis://nowhere",',
      '}',
    ].join('\n');
    writeFileSync(join(dir, 'good.json'), commented);
    expect(await run(['config', 'check', 'good.json'], dir)).toMatchObject({ code: 0, stdout: 'good.json: ok\n' });
    writeFileSync(join(dir, 'broken.json'), '{\n  // fine so far\n  "port": 80 80\n}');
    const broken = await run(['config', 'check', 'broken.json'], dir);
    expect(broken.code).toBe(1);
    expect(broken.stderr).toMatch(/^switchboard: Config file broken\.json is not a JSON object: .*line 3 column 14.*\.\n$/);
  });

  it('exits with 1 when the file cannot be read, or none is named', async () => {
    const missing = await run(['config', 'check', 'nowhere.json']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^switchboard: Cannot read config file nowhere\.json: .+\n$/);
    const none = await run(['config', 'check']);
    expect(none.code).toBe(1);
    expect(none.stderr).toBe('switchboard: Missing FILE. Usage: switchboard config check FILE.\n');
  });
});

/** Who the admin console says a bearer of this token is (the server checks the token's signature and claims). */
async function consoleSession(url: string, token: string): Promise<{ signedIn: boolean; operator?: { kind: string; actor: string } }> {
  const response = await fetch(`${url}/admin/api/session`, { headers: { authorization: `Bearer ${token}` } });
  return (await response.json()) as { signedIn: boolean; operator?: { kind: string; actor: string } };
}

function claims(token: string): Record<string, unknown> {
  return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()) as Record<string, unknown>;
}

describe('switchboard token', () => {
  const SECRET = 'cli-token-test-secret-0123456789abcdef';

  it('signs, with jwt.secret, a token that a server with the same settings accepts, with the roles and lifetime asked for', async () => {
    const { code, stdout, stderr } = await run(['token', '--user', 'root', '--roles', 'admin,ops', '--ttl', '10m', '--auth', 'jwt'], scratchDir(), {
      SWITCHBOARD_JWT_SECRET: SECRET,
    });
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^[\w-]+\.[\w-]+\.[\w-]+\n$/);
    const token = stdout.trim();
    const payload = claims(token);
    expect(payload).toMatchObject({ sub: 'root', name: 'root', roles: ['admin', 'ops'] });
    expect((payload.exp as number) - (payload.iat as number)).toBe(600);

    const server = await startTestServer({ overrides: { auth: 'jwt', jwt: { secret: SECRET } } });
    expect(await consoleSession(server.url, token)).toMatchObject({ signedIn: true, operator: { kind: 'user', actor: 'root' } });
    // Without the admin role the same server knows the user, but the console does not let them in.
    const plain = await run(['token', '--user', 'joe', '--auth', 'jwt', '--json'], scratchDir(), { SWITCHBOARD_JWT_SECRET: SECRET });
    const printed = JSON.parse(plain.stdout) as { token: string; user: string; roles: string[]; expiresAt: string };
    expect(printed).toMatchObject({ user: 'joe', roles: [] });
    expect(Date.parse(printed.expiresAt) - Date.now()).toBeGreaterThan(23 * 3600 * 1000); // the default: a day
    expect(await consoleSession(server.url, printed.token)).toMatchObject({ signedIn: false });
  });

  it('signs for auth "accounts" with the key kept in the database, registering the user with its roles', async () => {
    const dir = scratchDir();
    const databaseUrl = `sqlite:${join(dir, 'accounts.db')}`;
    expect((await run(['migrate', '--database', databaseUrl], dir)).code).toBe(0);
    const first = await run(['token', '--user', 'root', '--roles', 'admin', '--auth', 'accounts', '--database', databaseUrl, '--json'], dir);
    expect(first.stderr).toBe('');
    const issued = JSON.parse(first.stdout) as { token: string; roles: string[] };
    expect(issued.roles).toEqual(['admin']);
    expect(claims(issued.token)).toMatchObject({ sub: 'root', aud: 'switchboard', iss: 'switchboard' });
    // A second token without --roles carries the roles the account now has.
    const second = await run(['token', '--user', 'root', '--auth', 'accounts', '--database', databaseUrl], dir);
    expect(claims(second.stdout.trim())).toMatchObject({ roles: ['admin'] });

    const server = await startTestServer({ databaseUrl, overrides: { auth: 'accounts' } });
    expect(await consoleSession(server.url, issued.token)).toMatchObject({ signedIn: true, operator: { actor: 'root' } });
  });

  it('suggests migrating a database whose tables are missing, and only then', async () => {
    const dir = scratchDir();
    // An empty file is an empty SQLite database: there, but never migrated.
    writeFileSync(join(dir, 'empty.db'), '');
    const { code, stdout, stderr } = await run(['token', '--user', 'a', '--auth', 'accounts', '--database', 'sqlite:./empty.db'], dir);
    expect([code, stdout]).toEqual([1, '']);
    expect(stderr).toMatch(/^switchboard: Cannot sign with the accounts of sqlite:\.\/empty\.db: no such table: \w+\. Has it been migrated \(switchboard migrate\)\?\n$/);
  });

  const refusals: readonly (readonly [string, readonly string[], Record<string, string>, RegExp])[] = [
    ['auth "open", which takes no tokens', ['--user', 'a'], {}, /^switchboard: Auth mode "open" takes no tokens: .+\.\n$/],
    [
      'a public key, which cannot sign',
      ['--user', 'a', '--auth', 'jwt'],
      { SWITCHBOARD_JWKS_URL: 'https://id.example/jwks.json' },
      /^switchboard: Auth "jwt" here verifies with jwt\.jwksUrl: .+private key.+\.\n$/,
    ],
    ['no user', ['--auth', 'jwt'], { SWITCHBOARD_JWT_SECRET: SECRET }, /^switchboard: Name the user: --user ID\. .+\n$/],
    ['a bad lifetime', ['--user', 'a', '--ttl', 'soon'], {}, /^switchboard: --ttl soon is not a duration: .+\.\n$/],
    ['a bad user id', ['--user', 'no spaces'], {}, /^switchboard: "no spaces" is not a user id: .+\.\n$/],
    [
      'an accounts database that is not there',
      ['--user', 'a', '--auth', 'accounts', '--database', 'sqlite:./nowhere.db'],
      {},
      /^switchboard: There is no database at \.\/nowhere\.db: .+\.\n$/,
    ],
  ];
  for (const [what, args, env, message] of refusals) {
    it(`refuses, in one sentence and with exit code 1, ${what}`, async () => {
      const dir = scratchDir();
      const { code, stdout, stderr } = await run(['token', ...args], dir, env);
      expect(stderr).toMatch(message);
      expect(code).toBe(1);
      expect(stdout).toBe('');
      expect(existsSync(join(dir, 'nowhere.db'))).toBe(false);
    });
  }
});

describeWithServices(['TEST_DATABASE_URL'], 'switchboard token on PostgreSQL', () => {
  it("gives up after the configured postgres.queryTimeoutMs, as a serving node's queries do, while the accounts are locked", async () => {
    const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'clitoken');
    cleanups.push(() => schema.drop());
    const dir = scratchDir();
    const configFile = join(dir, 'switchboard.json');
    writeFileSync(configFile, JSON.stringify({ auth: 'accounts', databaseUrl: schema.url, postgres: { queryTimeoutMs: 1000 } }));
    expect((await run(['migrate', '--config', configFile], dir)).code).toBe(0);

    // Another session holds the tables signing reads and writes: the command's statements
    // wait on the lock, as they would on a database that has stopped answering.
    const { default: pg } = await import('pg');
    const holder = new pg.Client({ connectionString: schema.url });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query('begin');
    await holder.query('lock table auth_keys, accounts in access exclusive mode');
    // With the default 30 s, or none, it would still be waiting when outcome() gives up (20 s).
    const locked = await run(['token', '--user', 'root', '--config', configFile], dir);
    expect(locked.code).toBe(1);
    // The statement cancelled at 90% of the timeout reads as an outage: look at the database, not at its migrations.
    expect(locked.stderr).toMatch(
      /^switchboard: Cannot sign with the accounts of postgres:\/\/.+: The database is unavailable; retry shortly\. It did not answer in time: check that it is up and reachable from here\.\n$/,
    );

    await holder.query('rollback');
    const signed = await run(['token', '--user', 'root', '--config', configFile, '--json'], dir);
    expect([signed.code, signed.stderr]).toEqual([0, '']);
    expect(JSON.parse(signed.stdout)).toMatchObject({ user: 'root' });
  });
});

describe('switchboard migrate', () => {
  it('runs every module\'s migrations, each once, and says where the database stands', async () => {
    const dir = scratchDir();
    const file = join(dir, 'node.db');
    const first = await run(['migrate', '--database', `sqlite:${file}`], dir);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const { default: Sqlite } = await import('better-sqlite3');
    const ran = () => {
      const db = new Sqlite(file, { readonly: true });
      try {
        return (db.prepare('select name from kysely_migration order by name').all() as { name: string }[]).map((row) => row.name);
      } finally {
        db.close();
      }
    };
    const names = ran();
    expect(names).toEqual(expect.arrayContaining(['0001-initial', '0002-accounts', '0003-chat', '0004-webhooks', '0006-ops']));
    expect(first.stdout).toBe(`sqlite:${file} is migrated: ${names.length} migrations, the newest ${names.at(-1)}.\n`);

    const again = await run(['migrate', '--database', `sqlite:${file}`], dir);
    expect(again).toMatchObject({ code: 0, stdout: first.stdout });
    expect(ran()).toEqual(names);
  });

  it('refuses a database that a newer release migrated further', async () => {
    const dir = scratchDir();
    const databaseUrl = `sqlite:${join(dir, 'node.db')}`;
    expect((await run(['migrate', '--database', databaseUrl], dir)).code).toBe(0);
    const { default: Sqlite } = await import('better-sqlite3');
    const db = new Sqlite(join(dir, 'node.db'));
    db.prepare('insert into kysely_migration (name, timestamp) values (?, ?)').run('9999-from-the-future', new Date().toISOString());
    db.close();
    const { code, stdout, stderr } = await run(['migrate', '--database', databaseUrl], dir);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^switchboard: Cannot migrate sqlite:.+: corrupted migrations: .*9999-from-the-future.*\.\n$/);
  });
});

describeWithServices(['TEST_DATABASE_URL'], 'switchboard migrate on PostgreSQL', () => {
  it('lets two runs started at once take turns, each migration running once', async () => {
    const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'climigrate');
    cleanups.push(() => schema.drop());
    const [a, b] = await Promise.all([run(['migrate', '--database', schema.url]), run(['migrate', '--database', schema.url])]);
    expect([a.code, b.code, a.stderr, b.stderr]).toEqual([0, 0, '', '']);
    expect(a.stdout).toMatch(/^postgres:\/\/.+ is migrated: \d+ migrations, the newest 0\d{3}-[a-z-]+\.\n$/);
    expect(b.stdout).toBe(a.stdout);
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: schema.url });
    await client.connect();
    cleanups.push(() => client.end());
    const { rows } = await client.query<{ name: string; runs: string }>('select name, count(*) as runs from kysely_migration group by name order by name');
    expect(rows.length).toBe(Number(/is migrated: (\d+)/.exec(a.stdout)![1]));
    expect(rows.every((row) => Number(row.runs) === 1)).toBe(true);
    expect(rows.map((row) => row.name)).toEqual(expect.arrayContaining(['0001-initial', '0006-ops']));
  });
});
