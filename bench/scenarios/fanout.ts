import { measureStep, settle, type StepResult, totals } from '../lib/measure.js';
import { byNode } from '../lib/report.js';
import { multiNodeObstacle, type ServerGroup, startServerGroup } from '../lib/server-group.js';
import { round } from '../lib/stats.js';
import type { ServerKind } from '../lib/targets.js';
import { Worker, WorkerPool } from '../lib/worker-pool.js';
import type { BenchRetention, ClientSpec, ConnectSummary } from '../lib/worker-protocol.js';

export interface FanoutOptions {
  readonly servers: readonly ServerKind[];
  readonly subscribers: number;
  /** Subscribers that decode and time every message; the rest count bytes. */
  readonly probes: number;
  readonly workers: number;
  readonly build: 'src' | 'dist';
  /** `window`: as fast as acks allow; `rates`: fixed rates rising until p99 passes maxP99Ms. */
  readonly modes: readonly ('window' | 'rates')[];
  readonly window: number;
  /** Publishes per second per step; empty: derived from target deliveries per second. */
  readonly rates: readonly number[];
  readonly stepSeconds: number;
  readonly payloadBytes: number;
  readonly maxP99Ms: number;
  /** Extra steps that halve the gap between the last rate held and the first one missed. */
  readonly refine: number;
  /** Processes per server kind; from 2 on they form a cluster over Redis (Switchboard also PostgreSQL). */
  readonly nodes: number;
  readonly postgresUrl: string | null;
  readonly redisUrl: string;
  /** Switchboard: one run per retention of the channel, in this order (peers have no such thing: once). */
  readonly retentions: readonly BenchRetention[];
}

export interface FanoutServerResult {
  readonly server: ServerKind;
  /** Switchboard: the channel's retention (absent in results from before retention modes: durable). */
  readonly retention?: BenchRetention;
  readonly command: string;
  /** Absent in results from before multi-node runs: one. */
  readonly nodes?: number;
  readonly subscribers: number;
  readonly connect: Omit<ConnectSummary, 'connectMillis'> & { readonly perSecond: number };
  readonly settleMillis: number;
  readonly setupFrames: number;
  readonly steps: StepResult[];
  /** The highest deliveries/s of a rate step with p99 within the bound and nothing lost. */
  readonly bestSustained: StepResult | null;
  readonly error?: string;
  /** Why this server was not run (no multi-node mode). */
  readonly skipped?: string;
}

/** Target deliveries per second for the rising steps; the publish rate is this over N. */
const DELIVERY_TARGETS = [25_000, 50_000, 100_000, 150_000, 200_000, 300_000, 400_000, 600_000, 800_000, 1_000_000, 1_300_000];

export function ratesFor(subscribers: number, explicit: readonly number[]): number[] {
  if (explicit.length > 0) return [...explicit];
  return DELIVERY_TARGETS.map((target) => Math.max(1, Math.round(target / subscribers)));
}

/**
 * The next rate to try between the last one held and the first one missed (bisection
 * near the limit), or null once they are within 5% (or 1/s) of each other.
 */
export function refineBetween(held: number, missed: number): number | null {
  const next = Math.round((held + missed) / 2);
  if (missed - held <= Math.max(1, held * 0.05) || next <= held || next >= missed) return null;
  return next;
}

export async function runFanout(options: FanoutOptions, log: (line: string) => void): Promise<FanoutServerResult[]> {
  const results: FanoutServerResult[] = [];
  const nodes = options.nodes > 1 ? ` on ${options.nodes} nodes` : '';
  for (const kind of options.servers) {
    const skipped = multiNodeObstacle(kind, options.nodes, options.postgresUrl);
    if (skipped) {
      log(`fanout: ${kind} skipped: ${skipped}`);
      results.push({ ...emptyResult(kind, options, ''), skipped });
      continue;
    }
    for (const retention of kind === 'switchboard' ? options.retentions : [null]) {
      const kept = retention && options.retentions.length > 1 ? `, retention ${retention}` : '';
      log(`fanout: ${kind}, ${options.subscribers} subscribers${nodes}${kept}`);
      results.push(await fanoutOne(kind, retention, options, log));
    }
  }
  return results;
}

function emptyResult(kind: ServerKind, options: FanoutOptions, command: string): FanoutServerResult {
  return {
    server: kind,
    command,
    nodes: options.nodes,
    subscribers: options.subscribers,
    connect: { connected: 0, failed: 0, firstError: null, millis: 0, perSecond: 0 },
    settleMillis: 0,
    setupFrames: 0,
    steps: [],
    bestSustained: null,
  };
}

/**
 * The publisher talks to node 1 and the subscribers are dealt out over the nodes in turn
 * (probes too), so with N nodes (N-1)/N of the deliveries cross the broker.
 */
async function fanoutOne(
  kind: ServerKind,
  retention: BenchRetention | null,
  options: FanoutOptions,
  log: (line: string) => void,
): Promise<FanoutServerResult> {
  let server: ServerGroup;
  try {
    server = await startServerGroup({ kind, build: options.build, nodes: options.nodes, postgresUrl: options.postgresUrl, redisUrl: options.redisUrl });
  } catch (error) {
    log(`  could not start: ${(error as Error).message}`);
    return { ...emptyResult(kind, options, ''), ...withRetention(retention), error: (error as Error).message };
  }
  const pool = new WorkerPool(options.workers);
  const publisher = new Worker(options.workers);
  const channel = retention && retention !== 'durable' ? `bench-fanout-${retention}` : 'bench-fanout';
  const steps: StepResult[] = [];
  try {
    await publisher.call({ op: 'openPublishers', kind, port: server.ports[0]!, channels: [channel], count: 1, create: true, retention: retention ?? undefined });
    const specs: ClientSpec[] = Array.from({ length: options.subscribers }, (_, k) => ({
      user: `sub-${k}`,
      channel,
      probe: k < options.probes,
    }));
    const perNode = WorkerPool.spread(specs, server.ports.length);
    const connected = (
      await Promise.all(
        server.ports.map((port, n) => {
          const parts = WorkerPool.spread(perNode[n]!, options.workers);
          return pool.all<ConnectSummary>((worker) => ({ op: 'connect', kind, port, clients: parts[worker.index]!, concurrency: 50 }));
        }),
      )
    ).flat();
    const millis = Math.max(...connected.map((c) => c.millis));
    const connect = {
      connected: connected.reduce((n, c) => n + c.connected, 0),
      failed: connected.reduce((n, c) => n + c.failed, 0),
      firstError: connected.find((c) => c.firstError)?.firstError ?? null,
      millis: round(millis),
      perSecond: round((options.subscribers / millis) * 1000),
    };
    log(`  connected ${connect.connected}/${options.subscribers} in ${connect.millis} ms${connect.firstError ? ` (first error: ${connect.firstError})` : ''}`);
    const settled = await settle(pool, server);
    log(`  settled after ${settled.millis} ms (${settled.frames} setup frames)`);
    const receivers = (await totals(pool, server)).open;
    // Warm-up, not recorded: the first messages pay for JIT compilation and socket buffer
    // growth in the server and the clients, which would end a rising ramp at its first step.
    const firstRate = ratesFor(options.subscribers, options.rates)[0]!;
    await measureStep({
      label: 'warm-up',
      request: { op: 'publish', mode: 'rate', rate: firstRate, window: 10_000, seconds: 2, payloadBytes: options.payloadBytes },
      publisher,
      pool,
      server,
      receivers,
    });

    if (options.modes.includes('window')) {
      const step = await measureStep({
        label: `window ${options.window}`,
        request: { op: 'publish', mode: 'window', window: options.window, seconds: options.stepSeconds, payloadBytes: options.payloadBytes },
        publisher,
        pool,
        server,
        receivers,
      });
      steps.push(step);
      log(`  ${describeStep(step)}`);
    }
    let bestSustained: StepResult | null = null;
    if (options.modes.includes('rates')) {
      const attempt = async (rate: number, label: string): Promise<boolean> => {
        const step = await measureStep({
          label,
          request: { op: 'publish', mode: 'rate', rate, window: 10_000, seconds: options.stepSeconds, payloadBytes: options.payloadBytes },
          publisher,
          pool,
          server,
          receivers,
        });
        steps.push(step);
        log(`  ${describeStep(step)}`);
        const sustained = step.latency.p99 !== null && step.latency.p99 <= options.maxP99Ms && step.completeness >= 0.999 && step.publishesPerSec >= rate * 0.95;
        if (sustained && (!bestSustained || step.deliveriesPerSec > bestSustained.deliveriesPerSec)) bestSustained = step;
        return sustained;
      };
      let held: number | null = null;
      let missed: number | null = null;
      for (const rate of ratesFor(options.subscribers, options.rates)) {
        if (!(await attempt(rate, `${rate}/s`))) {
          missed = rate;
          break;
        }
        held = rate;
      }
      // Near the limit the coarse steps are far apart: bisect between the last rate held and the first missed.
      for (let k = 0; k < options.refine && held !== null && missed !== null; k++) {
        const rate = refineBetween(held, missed);
        if (rate === null) break;
        if (await attempt(rate, `${rate}/s (refined)`)) held = rate;
        else missed = rate;
      }
    }
    return {
      server: kind,
      ...withRetention(retention),
      command: server.command,
      nodes: options.nodes,
      subscribers: options.subscribers,
      connect,
      settleMillis: settled.millis,
      setupFrames: settled.frames,
      steps,
      bestSustained,
    };
  } catch (error) {
    log(`  failed: ${(error as Error).message}`);
    return { ...emptyResult(kind, options, server.command), ...withRetention(retention), steps, error: (error as Error).message };
  } finally {
    await pool.all({ op: 'closeAll' }).catch(() => {});
    await Promise.all([pool.exit(), publisher.exit()]);
    await server.dispose();
  }
}

function withRetention(retention: BenchRetention | null): { retention?: BenchRetention } {
  return retention ? { retention } : {};
}

export function describeStep(step: StepResult): string {
  return (
    `${step.label}: ${step.publishesPerSec} publishes/s, ${step.deliveriesPerSec} deliveries/s, ` +
    `p50 ${step.latency.p50} ms, p99 ${step.latency.p99} ms, complete ${(step.completeness * 100).toFixed(1)}%, ` +
    `server CPU ${step.serverCpuPercent}%${byNode(step.serverCpuPercentByNode, '%')}, clients ${step.clientCpuPercent}% + publisher ${step.publisherCpuPercent}%, RSS ${step.serverRssMiB} MiB${byNode(step.serverRssMiBByNode)}, ${step.tcpRetransmits} TCP retransmits`
  );
}
