/**
 * Instructions per connect, counted by callgrind: a repeatable figure where a shared
 * machine makes the time per connect swing by half from one run to the next (the connect
 * scenario's wall clock). One Switchboard server (the build in dist/, SQLite file, `--auth`
 * open or jwt, the benchmark's config) runs under `valgrind --tool=callgrind` with counting off;
 * a client here connects `--users` new users (each until its welcome, `--concurrency` in
 * flight), closes them, and connects them again (returning), counting each storm alone
 * (connects and their closes) after a full garbage collection. It runs `--storms` of
 * each and prints every count, and the fewest and the median per connect.
 *
 *   npm run build && npx tsx bench/connect-instructions.ts [--users 500] [--storms 3] [--concurrency 50] [--auth open|jwt]
 *
 * With `--auth jwt` each user connects with an HS256 token of its own (signed before the
 * count starts, sent as `Authorization: Bearer`), as in the connect scenario.
 *
 * Under valgrind the server runs some 50 times slower, so a storm's batches hold fewer
 * connects than at full speed: per-batch costs weigh more here than in the wall-clock
 * scenario. Compare builds with each other, not with the time per connect. A garbage
 * collection or a function the JIT compiles late can still land inside a storm and add
 * 10-30% to its count: the fewest is the steadiest figure.
 */
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import WebSocket from 'ws';
import { BENCH_JWT_SECRET, freePort, SWITCHBOARD_BENCH_CONFIG, signBenchToken } from './lib/server-process.js';

const { values } = parseArgs({
  options: {
    users: { type: 'string', default: '500' },
    storms: { type: 'string', default: '3' },
    concurrency: { type: 'string', default: '50' },
    auth: { type: 'string', default: 'open' },
  },
});
if (values.auth !== 'open' && values.auth !== 'jwt') {
  console.error(`--auth is open or jwt, not "${values.auth}".`);
  process.exit(1);
}
const jwt = values.auth === 'jwt';
/** Each user's token, signed once (before any count starts) and used by every connect of theirs. */
const tokens = new Map<string, string>();
const users = Number(values.users);
const storms = Number(values.storms);
const concurrency = Number(values.concurrency);

for (const tool of ['valgrind', 'callgrind_control']) {
  if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error) {
    console.error(`connect-instructions needs ${tool} (Debian package valgrind).`);
    process.exit(1);
  }
}

const dir = mkdtempSync(join(tmpdir(), 'switchboard-instructions-'));
const port = await freePort();
writeFileSync(join(dir, 'config.json'), JSON.stringify(SWITCHBOARD_BENCH_CONFIG));
const server = spawn(
  'valgrind',
  [
    '--tool=callgrind',
    '--instr-atstart=no',
    `--callgrind-out-file=${join(dir, 'callgrind.out')}`,
    process.execPath,
    '--expose-gc',
    '--require',
    join(import.meta.dirname, 'lib', 'gc-on-signal.cjs'),
    'dist/src/cli.js',
    'serve',
    '--host',
    '127.0.0.1',
    '--port',
    String(port),
    '--database',
    `sqlite:${join(dir, 'bench.db')}`,
    '--config',
    join(dir, 'config.json'),
  ],
  {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: {
      ...process.env,
      PORT: '',
      DATABASE_URL: '',
      REDIS_URL: '',
      ...(jwt ? { SWITCHBOARD_AUTH: 'jwt', SWITCHBOARD_JWT_SECRET: BENCH_JWT_SECRET } : {}),
    },
  },
);
let stderr = '';
server.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
process.on('exit', () => {
  server.kill('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

try {
  await waitForHealth(port, 180_000);
  // Warm: the JIT compiles the connect path (first connects and returning ones), caches and tables settle.
  for (const prefix of ['warm-a', 'warm-b', 'warm-c']) for (let pass = 0; pass < 2; pass++) await storm(port, prefix, users, concurrency);
  const counts: { kind: 'new' | 'returning'; instructions: number }[] = [];
  for (let k = 1; k <= storms; k++) {
    // Signed outside the count: the server idles meanwhile, but its timers would be counted.
    if (jwt) await signTokens(`storm-${k}`, users);
    for (const kind of ['new', 'returning'] as const) {
      await fullGc(server);
      control(server, ['-i', 'on']);
      control(server, ['-z']);
      await storm(port, `storm-${k}`, users, concurrency);
      control(server, ['-i', 'off']);
      control(server, ['-d', `${kind}-${k}`]);
      counts.push({ kind, instructions: await dumpedTotal(dir, `${kind}-${k}`) });
      console.log(`${kind} ${k}: ${counts.at(-1)!.instructions.toLocaleString('en')} instructions, ${perConnect(counts.at(-1)!.instructions)} per connect`);
    }
  }
  for (const kind of ['new', 'returning'] as const) {
    const sorted = counts.filter((count) => count.kind === kind).map((count) => count.instructions).sort((a, b) => a - b);
    // The fewest is the steadiest: what moves a count is work added (a collection, a function compiled late).
    console.log(`${kind}: fewest ${perConnect(sorted[0]!)}, median ${perConnect(sorted[Math.floor(sorted.length / 2)]!)} instructions per connect (with its close)`);
  }
} catch (error) {
  console.error(error, stderr.slice(-2000));
  process.exitCode = 1;
}
process.exit();

function perConnect(instructions: number): string {
  return Math.round(instructions / users).toLocaleString('en');
}

/** Connects `count` users (`prefix-i`) until each has its welcome, then closes them all. */
async function storm(port: number, prefix: string, count: number, inFlight: number): Promise<void> {
  if (jwt) await signTokens(prefix, count);
  const open: WebSocket[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const user = `${prefix}-${next++}`;
      open.push(
        await new Promise<WebSocket>((resolve, reject) => {
          const ws = jwt
            ? new WebSocket(`ws://127.0.0.1:${port}/ws`, { headers: { authorization: `Bearer ${tokens.get(user)}` } })
            : new WebSocket(`ws://127.0.0.1:${port}/ws?user=${user}`);
          ws.once('message', () => resolve(ws));
          ws.once('error', reject);
        }),
      );
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  await Promise.all(open.map((ws) => new Promise((resolve) => (ws.once('close', resolve), ws.close()))));
}

async function signTokens(prefix: string, count: number): Promise<void> {
  for (let k = 0; k < count; k++) {
    const user = `${prefix}-${k}`;
    if (!tokens.has(user)) tokens.set(user, await signBenchToken(user));
  }
}

function control(child: ChildProcess, args: string[]): void {
  const result = spawnSync('callgrind_control', [...args, String(child.pid)], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`callgrind_control ${args.join(' ')}: ${result.stderr}`);
}

/** The server's full garbage collection (gc-on-signal.cjs answers on stderr). */
async function fullGc(child: ChildProcess): Promise<void> {
  const before = stderr.split('bench-gc-done').length;
  child.kill('SIGUSR2');
  await waitFor(() => stderr.split('bench-gc-done').length > before, 60_000, 'a full garbage collection');
}

async function dumpedTotal(dir: string, label: string): Promise<number> {
  let total: number | null = null;
  await waitFor(
    () => {
      for (const file of readdirSync(dir).filter((name) => name.startsWith('callgrind.out.'))) {
        const text = readFileSync(join(dir, file), 'utf8');
        const totals = /^totals: (\d+)/m.exec(text);
        if (text.includes(`desc: Trigger: dump ${label}\n`) && totals) total = Number(totals[1]);
      }
      return total !== null;
    },
    30_000,
    `callgrind's dump ${label}`,
  );
  return total!;
}

async function waitForHealth(port: number, timeoutMs: number): Promise<void> {
  let up = false;
  await waitFor(
    async () => {
      up = await fetch(`http://127.0.0.1:${port}/healthz`).then((response) => response.ok, () => false);
      return up;
    },
    timeoutMs,
    'the server under valgrind to answer /healthz',
  );
}

async function waitFor(test: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await test())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}.`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
