import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configSchema, stripJsonComments } from '../src/config.js';

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
    expect(commands).toEqual(expect.arrayContaining(['serve', 'config init', 'config check']));
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

