import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SignJWT } from 'jose';
import { pinnedCommand } from './pinning.js';
import type { ServerKind } from './targets.js';

/**
 * Settings the benchmark gives Switchboard. The per-connection message rate (default
 * 100/s) and the per-IP connection cap (default 256) exist to stop abuse from the open
 * internet; one publisher pushing tens of thousands of messages a second and thousands of
 * clients from 127.0.0.1 would hit them at once. gRPC takes any free port: the nodes of a
 * cluster (or anyone else's server on this machine) would collide on the fixed 50051.
 * Everything else stays at its default.
 */
export const SWITCHBOARD_BENCH_CONFIG = {
  logLevel: 'warn',
  grpcPort: 0,
  limits: { messagesPerSecond: 1_000_000, messageBurst: 1_000_000, connectionsPerIp: 1_000_000 },
} as const;

export interface ServerOptions {
  readonly kind: ServerKind;
  /** `src` runs TypeScript through tsx; `dist` runs the build (`npm run build` first). */
  readonly build: 'src' | 'dist';
  /** Switchboard only: a database URL; default a fresh SQLite file under os.tmpdir(). */
  readonly databaseUrl?: string;
  /** Switchboard and Socket.IO: join a cluster over this Redis (`?prefix=` names the cluster). */
  readonly redisUrl?: string;
  readonly port?: number;
  /** Switchboard: `jwt` verifies HS256 tokens signed with BENCH_JWT_SECRET (default `open`). */
  readonly auth?: 'open' | 'jwt';
}

/** The HS256 secret a `jwt` Switchboard under test accepts; the bench signs its clients' tokens with it. */
export const BENCH_JWT_SECRET = 'switchboard-bench-secret-0123456789abcdef';
const BENCH_JWT_KEY = new TextEncoder().encode(BENCH_JWT_SECRET);

/** A bench client's token: HS256 with BENCH_JWT_SECRET, naming the user, valid for an hour. */
export function signBenchToken(user: string): Promise<string> {
  const expires = Math.floor(Date.now() / 1000) + 3600;
  return new SignJWT({ name: user }).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setExpirationTime(expires).sign(BENCH_JWT_KEY);
}

export interface ServerUnderTest {
  readonly kind: ServerKind;
  readonly port: number;
  readonly pid: number;
  readonly databaseUrl: string | null;
  readonly command: string;
  /** CPU seconds (user + system) the server has used so far. */
  cpuSeconds(): number;
  /** Resident set size in bytes. */
  rssBytes(): number;
  /** A full garbage collection in the server (every kind gets the same preload), resolved once done. */
  collectGarbage(): Promise<void>;
  /** SIGTERM, then SIGKILL after a grace period. Keeps the temporary directory. */
  stop(): Promise<void>;
  /** Stops the server and removes its temporary directory. */
  dispose(): Promise<void>;
}

/** Servers still running; killed if the orchestrator exits for any reason, so none is left behind. */
const running = new Set<ChildProcess>();
/** Temporary directories not yet disposed of; removed on exit too (an interrupted run). */
const directories = new Set<string>();
process.once('exit', () => {
  killServers();
  for (const dir of directories) rmSync(dir, { recursive: true, force: true });
});

/** SIGKILLs every server still running: an interrupted run, before it drops their databases. */
export function killServers(): void {
  for (const child of running) child.kill('SIGKILL');
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

const GC_ON_SIGNAL = fileURLToPath(new URL('./gc-on-signal.cjs', import.meta.url));
const GC_DONE = 'bench-gc-done\n';

/** Generous: a graceful stop with 20,000 sessions takes seconds, and a CPU profile is written at exit. */
const STOP_TIMEOUT_MS = 60_000;

/** Starts one server under test in its own process and waits until it accepts connections. */
export async function startServerProcess(options: ServerOptions, dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'))): Promise<ServerUnderTest> {
  directories.add(dir);
  if (options.kind === 'ws' && options.redisUrl) throw new Error('The raw ws peer has no multi-node mode.');
  const port = options.port ?? (await freePort());
  // e.g. SWITCHBOARD_BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof" to profile the server under test.
  const extra = [
    ...(process.env.SWITCHBOARD_BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
    '--expose-gc',
    '--require',
    GC_ON_SIGNAL,
  ];
  const tsx = [...extra, ...(options.build === 'src' ? ['--import', 'tsx'] : [])];
  let args: string[];
  let databaseUrl: string | null = null;
  switch (options.kind) {
    case 'switchboard': {
      const configFile = join(dir, 'bench-config.json');
      writeFileSync(configFile, JSON.stringify(SWITCHBOARD_BENCH_CONFIG));
      databaseUrl = options.databaseUrl ?? `sqlite:${join(dir, 'bench.db')}`;
      const cli = options.build === 'src' ? 'src/cli.ts' : 'dist/src/cli.js';
      const redis = options.redisUrl ? ['--redis', options.redisUrl] : [];
      args = [...tsx, cli, 'serve', '--host', '127.0.0.1', '--port', String(port), '--database', databaseUrl, ...redis, '--config', configFile];
      break;
    }
    case 'socketio':
      args = [...extra, '--import', 'tsx', 'bench/peers/socketio-server.ts', String(port), ...(options.redisUrl ? [options.redisUrl] : [])];
      break;
    case 'ws':
      args = [...extra, '--import', 'tsx', 'bench/peers/ws-broadcast-server.ts', String(port)];
      break;
  }
  const auth = options.auth === 'jwt' ? { SWITCHBOARD_AUTH: 'jwt', SWITCHBOARD_JWT_SECRET: BENCH_JWT_SECRET } : {};
  const launch = pinnedCommand(process.execPath, args);
  const child = spawn(launch.command, launch.args, {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, PORT: '', DATABASE_URL: '', REDIS_URL: '', ...auth },
  });
  running.add(child);
  child.once('exit', () => running.delete(child));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await waitForPort(port, child, () => stderr);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  const pid = child.pid!;
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const started = Date.now();
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      process.stderr.write(`bench: ${options.kind} did not stop within ${STOP_TIMEOUT_MS} ms of SIGTERM; killed\n`);
      child.kill('SIGKILL');
    }, STOP_TIMEOUT_MS);
    await exited;
    clearTimeout(timer);
    process.stderr.write(`bench: ${options.kind} stopped in ${Date.now() - started} ms\n`);
  };
  return {
    kind: options.kind,
    port,
    pid,
    databaseUrl: databaseUrl?.startsWith('sqlite:') ? 'sqlite (temporary file)' : databaseUrl ? redact(databaseUrl) : null,
    command: `${options.auth === 'jwt' ? 'SWITCHBOARD_AUTH=jwt ' : ''}${launch.command === 'taskset' ? `taskset -c ${launch.args[1]} ` : ''}node ${args.join(' ')}`.replaceAll(dir, '$TMP'),
    cpuSeconds: () => cpuSecondsOf(pid),
    rssBytes: () => rssBytesOf(pid),
    async collectGarbage() {
      const seen = stderr.split(GC_DONE).length;
      child.kill('SIGUSR2');
      const deadline = Date.now() + 10_000;
      while (stderr.split(GC_DONE).length === seen && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    },
    stop,
    async dispose() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
      directories.delete(dir);
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}: ${stderr().trim()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`server did not listen on ${port} within 60 s: ${stderr().trim()}`);
}

const CLOCK_TICKS = 100;

function cpuSecondsOf(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the command name: utime is field 14 and stime 15 of the whole line.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return Number.NaN;
  }
}

function rssBytesOf(pid: number): number {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const match = /VmRSS:\s+(\d+) kB/.exec(status);
    return match ? Number(match[1]) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'postgres';
  }
}
