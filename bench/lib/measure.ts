import { readFileSync } from 'node:fs';
import { type LatencySummary, mergeCounts, round, sleep, sum, summarize } from './stats.js';
import type { Worker, WorkerPool } from './worker-pool.js';
import type { PublishRequest, PublishSummary, WorkerStats } from './worker-protocol.js';

/** What a measurement reads on the server side: one process, or the nodes of a cluster. */
export interface ServerMeter {
  /** CPU seconds (user + system) used so far; a cluster's summed over its nodes. */
  cpuSeconds(): number;
  /** Resident set size in bytes; a cluster's summed over its nodes. */
  rssBytes(): number;
  /** A cluster's nodes, node 1 first, for the per-node figures. */
  readonly nodes?: readonly ServerMeter[];
}

export interface Totals {
  readonly deliveries: number;
  readonly bytes: number;
  readonly frames: number;
  readonly open: number;
  readonly clients: number;
  readonly closeCodes: Record<string, number>;
  readonly latencies: number[];
  readonly at: number;
  readonly cpu: number;
  /** Per node of a cluster; empty for one process. */
  readonly nodeCpu: number[];
  readonly clientCpu: number;
}

export async function totals(pool: WorkerPool, server: ServerMeter): Promise<Totals> {
  const all = await pool.all<WorkerStats>({ op: 'stats' });
  return {
    deliveries: sum(all.map((s) => s.deliveries)),
    bytes: sum(all.map((s) => s.bytes)),
    frames: sum(all.map((s) => s.frames)),
    open: sum(all.map((s) => s.open)),
    clients: sum(all.map((s) => s.clients)),
    closeCodes: mergeCounts(all.map((s) => s.closeCodes)),
    latencies: all.flatMap((s) => s.latencies),
    at: performance.now(),
    cpu: server.cpuSeconds(),
    nodeCpu: server.nodes?.map((node) => node.cpuSeconds()) ?? [],
    clientCpu: sum(all.map((s) => s.cpuSeconds)),
  };
}

/**
 * Waits until the clients stop receiving frames (a subscribe storm sends presence to
 * everyone already there), so a measurement starts from a quiet server. Bounded.
 */
export async function settle(pool: WorkerPool, server: ServerMeter, timeoutMs = 120_000): Promise<{ millis: number; frames: number }> {
  const started = performance.now();
  let last = -1;
  let quiet = 0;
  let frames = 0;
  while (performance.now() - started < timeoutMs) {
    frames = (await totals(pool, server)).frames;
    quiet = frames === last ? quiet + 1 : 0;
    if (quiet >= 2) break;
    last = frames;
    await sleep(500);
  }
  return { millis: round(performance.now() - started), frames };
}

export interface StepResult {
  readonly label: string;
  readonly mode: PublishRequest['mode'];
  /** Publishes per second asked for (rate mode). */
  readonly targetRate: number | null;
  readonly seconds: number;
  readonly publishesPerSec: number;
  readonly deliveriesPerSec: number;
  /** Deliveries received (after a bounded drain) over acked publishes x receivers. */
  readonly completeness: number;
  readonly latency: LatencySummary;
  readonly ackLatency: LatencySummary;
  readonly serverCpuPercent: number;
  /** A cluster's server CPU and RSS per node, node 1 first (the totals above are their sums). */
  readonly serverCpuPercentByNode?: number[];
  readonly serverRssMiBByNode?: number[];
  /** CPU of the receiving workers together (100% = one core) and of the publisher. */
  readonly clientCpuPercent: number;
  readonly publisherCpuPercent: number;
  readonly serverRssMiB: number;
  readonly bytesPerDelivery: number;
  readonly refusals: Record<string, number>;
  readonly unanswered: number;
  readonly closeCodes: Record<string, number>;
  /** TCP segments retransmitted machine-wide during the step: loopback drops show here. */
  readonly tcpRetransmits: number;
}

/** The machine's count of retransmitted TCP segments (/proc/net/snmp). */
export function tcpRetransmits(): number {
  try {
    const lines = readFileSync('/proc/net/snmp', 'utf8').split('\n').filter((line) => line.startsWith('Tcp:'));
    const names = lines[0]!.split(/\s+/);
    const values = lines[1]!.split(/\s+/);
    return Number(values[names.indexOf('RetransSegs')]);
  } catch {
    return Number.NaN;
  }
}

/**
 * One measured step: publishes for `seconds` while the subscribers count, snapshots the
 * counters at the end of the window (the rate), then waits (bounded) for the deliveries
 * still in flight (completeness and the latency of every probed message).
 */
export async function measureStep(options: {
  label: string;
  request: PublishRequest;
  publisher: Worker;
  pool: WorkerPool;
  server: ServerMeter;
  receivers: number;
}): Promise<StepResult> {
  const { request, pool, server } = options;
  const before = await totals(pool, server);
  const retransmitsBefore = tcpRetransmits();
  const publishing = options.publisher.call<PublishSummary>(request);
  await sleep(request.seconds * 1000);
  const end = await totals(pool, server);
  const published = await publishing;
  const expected = published.acked * options.receivers;
  let after = end;
  const drainUntil = performance.now() + 10_000;
  let previous = -1;
  const latencies = [...end.latencies];
  while (performance.now() < drainUntil) {
    after = await totals(pool, server);
    latencies.push(...after.latencies);
    if (after.deliveries - before.deliveries >= expected || after.deliveries === previous) break;
    previous = after.deliveries;
    await sleep(250);
  }
  const windowSeconds = (end.at - before.at) / 1000;
  const delivered = after.deliveries - before.deliveries;
  const cpuPercent = (from: number, to: number) => round(((to - from) / windowSeconds) * 100);
  const mib = (bytes: number) => round(bytes / 2 ** 20, 1);
  const nodes = server.nodes ?? [];
  return {
    label: options.label,
    mode: request.mode,
    targetRate: request.mode === 'rate' ? request.rate : null,
    seconds: round(windowSeconds, 2),
    publishesPerSec: round(published.ackedInWindow / (published.elapsedMs / 1000)),
    deliveriesPerSec: round((end.deliveries - before.deliveries) / windowSeconds),
    completeness: expected === 0 ? 1 : round(delivered / expected, 4),
    latency: summarize(latencies),
    ackLatency: summarize(published.ackLatencies),
    serverCpuPercent: cpuPercent(before.cpu, end.cpu),
    ...(nodes.length > 1 && {
      serverCpuPercentByNode: nodes.map((_, n) => cpuPercent(before.nodeCpu[n]!, end.nodeCpu[n]!)),
      serverRssMiBByNode: nodes.map((node) => mib(node.rssBytes())),
    }),
    clientCpuPercent: round(((end.clientCpu - before.clientCpu) / windowSeconds) * 100),
    publisherCpuPercent: round((published.cpuSeconds / (published.elapsedMs / 1000)) * 100),
    serverRssMiB: mib(server.rssBytes()),
    bytesPerDelivery: delivered === 0 ? 0 : round((after.bytes - before.bytes) / delivered),
    refusals: published.refusals,
    unanswered: published.unanswered,
    closeCodes: after.closeCodes,
    tcpRetransmits: tcpRetransmits() - retransmitsBefore,
  };
}
