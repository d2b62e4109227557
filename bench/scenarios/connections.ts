import { startServerProcess } from '../lib/server-process.js';
import { round, sleep } from '../lib/stats.js';
import type { ServerKind } from '../lib/targets.js';
import { WorkerPool } from '../lib/worker-pool.js';
import type { ClientSpec, ConnectSummary, WorkerStats } from '../lib/worker-protocol.js';

export interface ConnectionsOptions {
  readonly servers: readonly ServerKind[];
  readonly connections: number;
  readonly workers: number;
  readonly build: 'src' | 'dist';
}

export interface ConnectionsResult {
  readonly server: ServerKind;
  readonly command: string;
  readonly connections: number;
  readonly connected: number;
  readonly failed: number;
  readonly firstError: string | null;
  readonly connectPerSec: number;
  readonly rssBeforeMiB: number;
  readonly rssAfterMiB: number;
  /** (RSS with the connections open - RSS before) / connections. */
  readonly kibPerConnection: number;
  readonly stillOpen: number;
  readonly error?: string;
}

/**
 * Idle connections: each client connects and authenticates (Switchboard: named in the
 * URL, welcome received; Socket.IO: namespace joined; ws: upgraded) and then says nothing.
 * Memory is the server process's RSS, measured from outside, so it includes everything a
 * connection costs (sockets, buffers, session objects), and it is noisy by a few MiB.
 * Each server runs a full garbage collection before both readings, so the figure is
 * what the connections keep rather than what connecting left for a later collection.
 */
export async function runConnections(options: ConnectionsOptions, log: (line: string) => void): Promise<ConnectionsResult[]> {
  const results: ConnectionsResult[] = [];
  for (const kind of options.servers) {
    log(`connections: ${kind}, ${options.connections}`);
    const server = await startServerProcess({ kind, build: options.build });
    const pool = new WorkerPool(options.workers);
    try {
      await sleep(1500);
      await server.collectGarbage();
      const rssBefore = server.rssBytes();
      const specs: ClientSpec[] = Array.from({ length: options.connections }, (_, k) => ({ user: `idle-${k}`, channel: null, probe: false }));
      const parts = WorkerPool.spread(specs, options.workers);
      const summaries = await pool.all<ConnectSummary>((worker) => ({ op: 'connect', kind, port: server.port, clients: parts[worker.index]!, concurrency: 100 }));
      const millis = Math.max(...summaries.map((s) => s.millis));
      const connected = summaries.reduce((n, s) => n + s.connected, 0);
      await sleep(2000);
      await server.collectGarbage();
      const rssAfter = server.rssBytes();
      const open = (await pool.all<WorkerStats>({ op: 'stats' })).reduce((n, s) => n + s.open, 0);
      const result: ConnectionsResult = {
        server: kind,
        command: server.command,
        connections: options.connections,
        connected,
        failed: options.connections - connected,
        firstError: summaries.find((s) => s.firstError)?.firstError ?? null,
        connectPerSec: round((connected / millis) * 1000),
        rssBeforeMiB: round(rssBefore / 2 ** 20, 1),
        rssAfterMiB: round(rssAfter / 2 ** 20, 1),
        kibPerConnection: connected === 0 ? 0 : round((rssAfter - rssBefore) / 1024 / connected, 1),
        stillOpen: open,
      };
      results.push(result);
      log(`  ${connected} connected at ${result.connectPerSec}/s; RSS ${result.rssBeforeMiB} -> ${result.rssAfterMiB} MiB: ${result.kibPerConnection} KiB per connection${result.firstError ? ` (first error: ${result.firstError})` : ''}`);
    } catch (error) {
      log(`  failed: ${(error as Error).message}`);
      results.push({
        server: kind, command: server.command, connections: options.connections, connected: 0, failed: options.connections,
        firstError: null, connectPerSec: 0, rssBeforeMiB: 0, rssAfterMiB: 0, kibPerConnection: 0, stillOpen: 0, error: (error as Error).message,
      });
    } finally {
      await pool.all({ op: 'closeAll' }).catch(() => {});
      await pool.exit();
      await server.dispose();
    }
  }
  return results;
}
