import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { coreBusySince } from '../lib/core-busy.js';
import { createScratchDatabase, type ScratchDatabase } from '../lib/scratch-database.js';
import { signBenchToken, startServerProcess } from '../lib/server-process.js';
import { round, sleep, summarize } from '../lib/stats.js';
import type { ServerKind } from '../lib/targets.js';
import { WorkerPool } from '../lib/worker-pool.js';
import type { ClientSpec, ConnectSummary, WorkerStats } from '../lib/worker-protocol.js';

export type BenchAuth = 'open' | 'jwt';

export interface ConnectRateOptions {
  readonly servers: readonly ServerKind[];
  /** Switchboard runs once per mode: `open` (named in the URL) and `jwt` (HS256 bearer token). */
  readonly auth: readonly BenchAuth[];
  readonly connections: number;
  /** Connects in flight per worker. */
  readonly concurrency: number;
  readonly workers: number;
  readonly build: 'src' | 'dist';
  /**
   * Times every server runs, in turn: each round's Switchboard figures are set against
   * that round's raw ws (a noisy machine drifts between rounds), and even rounds run the
   * servers in the reverse order.
   */
  readonly rounds: number;
  /**
   * Connects each server takes (from other users, closed again) before its measured storms:
   * the figures are then a warm server's, whose code the JIT has compiled, as in a server
   * that has run for a while; 0 measures a cold one. Every server gets the same.
   */
  readonly warmup: number;
  /** The load generator's cores when pinned (their busy share is reported); null: not pinned. */
  readonly loadCores: readonly number[] | null;
  /**
   * Switchboard's database: null, a fresh SQLite file per server run; a PostgreSQL URL, a
   * scratch database made on its server for each run and dropped after.
   */
  readonly postgresUrl?: string | null;
  /**
   * Switchboard: after the returning storm the server restarts on the same database, takes
   * its warm-up again (other users, other tokens) and the same users connect once more
   * (`restarted`): a reconnect storm after a deploy, with the JIT warm and every cache of
   * the storm's users (and their verified tokens) cold.
   */
  readonly restart?: boolean;
}

/** Which storm of a server's run: see ConnectRateResult.users. */
type StormUsers = 'new' | 'returning' | 'restarted';

export interface ConnectRateResult {
  readonly server: ServerKind;
  /** Switchboard's auth mode; null for the peers (they authenticate nobody). */
  readonly auth: BenchAuth | null;
  /**
   * `new`: every client is a user the server has never seen (it stores them). `returning`:
   * the same users again, after they disconnected (Switchboard only: a reconnect storm).
   * `restarted`: the same users once more, to a new server process on the same database
   * (Switchboard, with `restart`).
   */
  readonly users: StormUsers;
  /** Switchboard's database (null for the peers, which store nothing). Absent in results from before it was chosen: SQLite. */
  readonly store?: 'sqlite' | 'postgres' | null;
  readonly command: string;
  readonly connections: number;
  readonly connected: number;
  readonly firstError: string | null;
  readonly connectPerSec: number;
  /** Server CPU (user + system) over the storm, per connection: what a connect costs the server. */
  readonly serverCpuMicrosPerConnect: number;
  /** The server's CPU over the storm's time, in % of one core: near 100, the server set the rate. */
  readonly serverBusyPercent?: number;
  /** The load generator's CPU (its workers) per connection. */
  readonly loadCpuMicrosPerConnect?: number;
  /**
   * How busy the load generator's cores were over the storm, in %, network interrupts
   * included (null: not pinned). Near 100, the client set the rate, and a faster server
   * could not show it: raw ws's run usually is such a run.
   */
  readonly loadBusyPercent?: number | null;
  /**
   * Each connect's time from its start to the server's ready, median and p99 (ms). With
   * `concurrency` in flight per worker, rate × latency ≈ connects in flight: a server that
   * holds connects back (to batch their writes) is bound by that wait, not its CPU.
   */
  readonly latencyMillis?: { readonly p50: number | null; readonly p99: number | null };
  /** connects/s over the raw ws peer's in the same round (null without a ws row). */
  readonly versusWs: number | null;
  /** Which round of the run (1 when the run had one). */
  readonly round: number;
  /** Warm-up connects the server took before the storms (0: measured cold). */
  readonly warmup: number;
  readonly error?: string;
}

/**
 * Connect rate: N clients connect as fast as `concurrency` connects in flight per worker
 * allow, each done when the server says it is ready (Switchboard: `welcome`, which comes
 * after authentication and the session opening; Socket.IO: namespace joined; ws: upgraded),
 * then they close. Switchboard runs with `open` auth and with JWT (a token per user,
 * signed beforehand, sent as `Authorization: Bearer`, verified by the server). Besides
 * the rate, the server's CPU per connect, which a busy machine changes less than the rate.
 */
export async function runConnectRate(options: ConnectRateOptions, log: (line: string) => void): Promise<ConnectRateResult[]> {
  const runs: { kind: ServerKind; auth: BenchAuth | null }[] = [];
  for (const kind of options.servers) {
    if (kind === 'switchboard') for (const auth of options.auth) runs.push({ kind, auth });
    else runs.push({ kind, auth: null });
  }
  const all: ConnectRateResult[] = [];
  for (let index = 1; index <= options.rounds; index++) {
    const results: Omit<ConnectRateResult, 'versusWs' | 'round' | 'warmup'>[] = [];
    for (const { kind, auth } of index % 2 === 0 ? [...runs].reverse() : runs) {
      log(`connect${options.rounds > 1 ? ` (round ${index})` : ''}: ${kind}${auth ? ` (${auth})` : ''}, ${options.connections}`);
      results.push(...(await connectStorms(kind, auth, options, log)));
    }
    const ws = results.find((r) => r.server === 'ws' && r.connected > 0);
    for (const r of results) all.push({ ...r, round: index, warmup: options.warmup, versusWs: ws ? round(r.connectPerSec / ws.connectPerSec, 2) : null });
  }
  return all;
}

/** Time after a storm's clients closed before the next storm: their offline changes settle. */
const SETTLE_MS = 2000;

/**
 * The storm of first connects; for Switchboard, the same users once more after they all
 * closed (what a reconnect storm costs, with the users stored and the caches warm), and
 * with `restart` once more to a new process on the same database (the caches cold).
 */
async function connectStorms(
  kind: ServerKind,
  auth: BenchAuth | null,
  options: ConnectRateOptions,
  log: (line: string) => void,
): Promise<Omit<ConnectRateResult, 'versusWs' | 'round' | 'warmup'>[]> {
  const specs = await clientSpecs('conn', options.connections, auth);
  const warmupParts = WorkerPool.spread(await clientSpecs('warm', options.warmup, auth), options.workers);
  const store: ConnectRateResult['store'] = kind !== 'switchboard' ? null : options.postgresUrl ? 'postgres' : 'sqlite';
  const database: ScratchDatabase | null = store === 'postgres' ? await createScratchDatabase(options.postgresUrl!) : null;
  // Its own directory, so a restarted server finds the same SQLite file.
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
  const start = () => startServerProcess({ kind, build: options.build, auth: auth ?? 'open', databaseUrl: database?.url }, dir);
  let server = await start().catch(async (error: unknown) => {
    rmSync(dir, { recursive: true, force: true });
    await database?.drop();
    throw error;
  });
  const pool = new WorkerPool(options.workers);
  const parts = WorkerPool.spread(specs, options.workers);
  const connectAll = (clients: ClientSpec[][]) =>
    pool.all<ConnectSummary>((worker) => ({ op: 'connect', kind, port: server.port, clients: clients[worker.index]!, concurrency: options.concurrency }));
  // Counted around each storm only: the workers idle between storms.
  const loadCpuSeconds = async () => (await pool.all<WorkerStats>({ op: 'stats' })).reduce((total, s) => total + s.cpuSeconds, 0);
  const closeAllAndSettle = async () => {
    await pool.all({ op: 'closeAll' });
    await sleep(SETTLE_MS);
  };
  const storm = async (users: StormUsers): Promise<Omit<ConnectRateResult, 'versusWs' | 'round' | 'warmup'>> => {
    const loadBefore = await loadCpuSeconds();
    const loadBusy = options.loadCores ? coreBusySince(options.loadCores) : () => null;
    const cpuBefore = server.cpuSeconds();
    const summaries = await connectAll(parts);
    const cpu = server.cpuSeconds() - cpuBefore;
    const loadBusyShare = loadBusy();
    const loadCpu = (await loadCpuSeconds()) - loadBefore;
    const millis = Math.max(...summaries.map((s) => s.millis));
    const connected = summaries.reduce((n, s) => n + s.connected, 0);
    const latency = summarize(summaries.flatMap((s) => s.connectMillis));
    const result = {
      server: kind,
      auth,
      users,
      store,
      command: server.command,
      connections: options.connections,
      connected,
      firstError: summaries.find((s) => s.firstError)?.firstError ?? null,
      connectPerSec: round((connected / millis) * 1000),
      serverCpuMicrosPerConnect: connected === 0 ? 0 : round((cpu / connected) * 1e6),
      serverBusyPercent: round((cpu / (millis / 1000)) * 100),
      loadCpuMicrosPerConnect: connected === 0 ? 0 : round((loadCpu / connected) * 1e6),
      loadBusyPercent: loadBusyShare === null ? null : round(loadBusyShare * 100),
      latencyMillis: { p50: latency.p50, p99: latency.p99 },
    };
    log(
      `  ${users}: ${connected} connected at ${result.connectPerSec}/s, server CPU ${result.serverCpuMicrosPerConnect} µs per connect` +
        ` (busy ${result.serverBusyPercent}%), load generator ${result.loadCpuMicrosPerConnect} µs (cores busy ${result.loadBusyPercent ?? '-'}%)` +
        `, connect p50 ${latency.p50 ?? '-'} ms, p99 ${latency.p99 ?? '-'} ms` +
        `${result.firstError ? ` (first error: ${result.firstError})` : ''}`,
    );
    return result;
  };
  const results: Omit<ConnectRateResult, 'versusWs' | 'round' | 'warmup'>[] = [];
  const warmUp = async () => {
    await sleep(1000);
    if (options.warmup === 0) return;
    const failure = (await connectAll(warmupParts)).find((s) => s.firstError)?.firstError;
    if (failure) throw new Error(`warm-up connect failed: ${failure}`);
    await closeAllAndSettle();
  };
  const storms: StormUsers[] = kind !== 'switchboard' ? ['new'] : options.restart ? ['new', 'returning', 'restarted'] : ['new', 'returning'];
  try {
    await warmUp();
    results.push(await storm('new'));
    if (kind === 'switchboard') {
      await closeAllAndSettle();
      results.push(await storm('returning'));
    }
    if (kind === 'switchboard' && options.restart) {
      await pool.all({ op: 'closeAll' });
      await server.stop();
      server = await start();
      await warmUp();
      results.push(await storm('restarted'));
    }
    return results;
  } catch (error) {
    log(`  failed: ${(error as Error).message}`);
    const users = storms[results.length] ?? 'new';
    return [
      ...results,
      {
        server: kind, auth, users, store, command: server.command, connections: options.connections, connected: 0, firstError: null,
        connectPerSec: 0, serverCpuMicrosPerConnect: 0, error: (error as Error).message,
      },
    ];
  } finally {
    await pool.all({ op: 'closeAll' }).catch(() => {});
    await pool.exit();
    await server.dispose();
    await database?.drop();
  }
}

/** One client per user (`prefix-k`); with JWT each carries its own token, signed before the clock starts. */
async function clientSpecs(prefix: string, count: number, auth: BenchAuth | null): Promise<ClientSpec[]> {
  return Promise.all(
    Array.from({ length: count }, async (_, k): Promise<ClientSpec> => {
      const user = `${prefix}-${k}`;
      if (auth !== 'jwt') return { user, channel: null, probe: false };
      return { user, channel: null, probe: false, token: await signBenchToken(user) };
    }),
  );
}
