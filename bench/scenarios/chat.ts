import { settle, totals } from '../lib/measure.js';
import { startServerProcess } from '../lib/server-process.js';
import { round, summarize, type LatencySummary } from '../lib/stats.js';
import type { ServerKind } from '../lib/targets.js';
import { Worker, WorkerPool } from '../lib/worker-pool.js';
import type { ClientSpec, ConnectSummary, PublishSummary } from '../lib/worker-protocol.js';

export interface ChatOptions {
  readonly servers: readonly ServerKind[];
  readonly connections: number;
  readonly roomSize: number;
  readonly intervalMs: number;
  readonly seconds: number;
  readonly workers: number;
  readonly build: 'src' | 'dist';
  readonly payloadBytes: number;
}

export interface ChatResult {
  readonly server: ServerKind;
  readonly command: string;
  readonly connections: number;
  readonly channels: number;
  readonly connected: number;
  readonly connectPerSec: number;
  readonly publishesPerSec: number;
  readonly deliveriesPerSec: number;
  readonly completeness: number;
  /** Publish to receive, over every delivery (every chat client decodes and times). */
  readonly latency: LatencySummary;
  readonly ackLatency: LatencySummary;
  readonly serverCpuPercent: number;
  /** CPU of all client workers together (100% = one core). */
  readonly clientCpuPercent: number;
  readonly serverRssMiB: number;
  readonly refusals: Record<string, number>;
  readonly error?: string;
}

/**
 * Chat: users in channels of `roomSize`, each subscribed to its channel and publishing
 * into it every `intervalMs` at a random phase. Every client decodes every frame, as a
 * real chat client would; the rates are low enough (connections / interval) for that.
 */
export async function runChat(options: ChatOptions, log: (line: string) => void): Promise<ChatResult[]> {
  const results: ChatResult[] = [];
  const channelCount = Math.max(1, Math.ceil(options.connections / options.roomSize));
  const channels = Array.from({ length: channelCount }, (_, k) => `bench-chat-${k}`);
  for (const kind of options.servers) {
    log(`chat: ${kind}, ${options.connections} users in ${channelCount} channels`);
    const server = await startServerProcess({ kind, build: options.build });
    const pool = new WorkerPool(options.workers);
    const creator = new Worker(options.workers);
    try {
      await creator.call({ op: 'openPublishers', kind, port: server.port, channels, count: 1, create: true });
      const specs: ClientSpec[] = Array.from({ length: options.connections }, (_, k) => ({
        user: `user-${k}`,
        channel: channels[Math.floor(k / options.roomSize) % channelCount]!,
        probe: true,
        publishes: true,
      }));
      const parts = WorkerPool.spread(specs, options.workers);
      const connected = await pool.all<ConnectSummary>((worker) => ({ op: 'connect', kind, port: server.port, clients: parts[worker.index]!, concurrency: 50 }));
      const connectMillis = Math.max(...connected.map((c) => c.millis));
      const connectedCount = connected.reduce((n, c) => n + c.connected, 0);
      log(`  connected ${connectedCount} in ${round(connectMillis)} ms${connected.find((c) => c.firstError)?.firstError ? ` (first error: ${connected.find((c) => c.firstError)!.firstError})` : ''}`);
      await settle(pool, server);
      const before = await totals(pool, server);
      const published = await pool.all<PublishSummary>({
        op: 'publish',
        mode: 'interval',
        intervalMs: options.intervalMs,
        window: 1000,
        seconds: options.seconds,
        payloadBytes: options.payloadBytes,
      });
      const end = await totals(pool, server);
      const latencies = [...end.latencies];
      const acked = published.reduce((n, p) => n + p.acked, 0);
      const expected = acked * options.roomSize;
      let after = end;
      for (let k = 0; k < 20 && after.deliveries - before.deliveries < expected; k++) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        after = await totals(pool, server);
        latencies.push(...after.latencies);
      }
      const windowSeconds = (end.at - before.at) / 1000;
      const refusals: Record<string, number> = {};
      for (const p of published) for (const [code, n] of Object.entries(p.refusals)) refusals[code] = (refusals[code] ?? 0) + n;
      const result: ChatResult = {
        server: kind,
        command: server.command,
        connections: options.connections,
        channels: channelCount,
        connected: connectedCount,
        connectPerSec: round((connectedCount / connectMillis) * 1000),
        publishesPerSec: round(acked / windowSeconds),
        deliveriesPerSec: round((end.deliveries - before.deliveries) / windowSeconds),
        completeness: expected === 0 ? 1 : round((after.deliveries - before.deliveries) / expected, 4),
        latency: summarize(latencies),
        ackLatency: summarize(published.flatMap((p) => p.ackLatencies)),
        serverCpuPercent: round(((end.cpu - before.cpu) / windowSeconds) * 100),
        clientCpuPercent: round(((end.clientCpu - before.clientCpu) / windowSeconds) * 100),
        serverRssMiB: round(server.rssBytes() / 2 ** 20, 1),
        refusals,
      };
      results.push(result);
      log(
        `  ${result.publishesPerSec} publishes/s, ${result.deliveriesPerSec} deliveries/s, p50 ${result.latency.p50} ms, p99 ${result.latency.p99} ms, ` +
          `p999 ${result.latency.p999} ms, complete ${(result.completeness * 100).toFixed(1)}%, server CPU ${result.serverCpuPercent}%, RSS ${result.serverRssMiB} MiB`,
      );
    } catch (error) {
      log(`  failed: ${(error as Error).message}`);
      results.push({
        server: kind, command: server.command, connections: options.connections, channels: channelCount, connected: 0, connectPerSec: 0,
        publishesPerSec: 0, deliveriesPerSec: 0, completeness: 0, latency: summarize([]), ackLatency: summarize([]),
        serverCpuPercent: 0, clientCpuPercent: 0, serverRssMiB: 0, refusals: {}, error: (error as Error).message,
      });
    } finally {
      await pool.all({ op: 'closeAll' }).catch(() => {});
      await Promise.all([pool.exit(), creator.exit()]);
      await server.dispose();
    }
  }
  return results;
}
