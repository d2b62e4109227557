import { hostname } from 'node:os';
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { packageVersion } from '../package-root.js';
import type { Metrics, ScrapeSources } from './metrics.js';
import type { SessionDirectory } from './session-directory.js';

/**
 * What one node tells the cluster about itself every second (an `ops` notice), and what
 * the admin console shows per node. Plain JSON: it crosses the broker.
 */
export interface NodeReport {
  /** This process's id in the cluster view (a new one per start). */
  readonly node: string;
  /** `host:port` of its HTTP listener, what an operator knows it by. */
  readonly name: string;
  readonly host: string;
  readonly pid: number;
  readonly version: string;
  readonly nodeVersion: string;
  readonly startedAt: number;
  /** When this report was made. */
  readonly at: number;
  /** Null while it is ready (database and broker answer, not draining); otherwise why not. */
  readonly problem: string | null;
  readonly connections: number;
  readonly connectionsByTransport: Readonly<Record<string, number>>;
  readonly sessions: number;
  readonly subscriptions: number;
  readonly channels: number;
  /** Totals since start. */
  readonly published: number;
  readonly delivered: number;
  readonly slowConsumerCuts: number;
  readonly rateLimited: number;
  /** Over the last report interval. */
  readonly publishedPerSecond: number;
  readonly deliveredPerSecond: number;
  readonly sendQueueBytes: number;
  readonly memoryBytes: number;
  /** p99 event-loop delay over the last interval, in milliseconds. */
  readonly loopDelayMs: number;
  readonly latencyMs: Readonly<Record<string, number | null>>;
}

/** How often the event-loop delay is sampled. */
const LOOP_RESOLUTION_MS = 10;

export interface ReporterOptions {
  readonly node: string;
  readonly directory: SessionDirectory;
  readonly metrics: Metrics;
  readonly sources: ScrapeSources;
  /** Resolves when the node is ready; rejects with why not (the readiness check of /readyz). */
  readonly ready: () => Promise<void>;
  /** The HTTP listener's address once listening (`host:port`). */
  readonly address: () => string | null;
}

/**
 * Makes this node's reports: reads the figures the metrics keep, one pass over the
 * sessions (subscriptions, queued bytes), and the readiness check, once per interval.
 */
export class NodeReporter {
  readonly #options: ReporterOptions;
  readonly #startedAt = Date.now();
  readonly #loop: IntervalHistogram;
  #last: { at: number; published: number; delivered: number } | null = null;

  constructor(options: ReporterOptions) {
    this.#options = options;
    this.#loop = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
    this.#loop.enable();
  }

  async report(): Promise<NodeReport> {
    const { node, directory, metrics, sources } = this.#options;
    const problem = await this.#options.ready().then(
      () => null,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    const at = Date.now();
    const published = metrics.published;
    const delivered = metrics.deliveredCount;
    const last = this.#last;
    const seconds = last ? Math.max(0.001, (at - last.at) / 1000) : 1;
    this.#last = { at, published, delivered };
    const connectionsByTransport = { ...sources.connections() };
    // The histogram holds the time between its timer's ticks; past the tick is the delay.
    const loopDelayMs = this.#loop.count > 0 ? Math.max(0, Math.round((this.#loop.percentile(99) / 1e6 - LOOP_RESOLUTION_MS) * 100) / 100) : 0;
    this.#loop.reset();
    const host = hostname();
    return {
      node,
      name: this.#options.address() ?? host,
      host,
      pid: process.pid,
      version: packageVersion(),
      nodeVersion: process.version,
      startedAt: this.#startedAt,
      at,
      problem,
      connections: Object.values(connectionsByTransport).reduce((sum, count) => sum + count, 0),
      connectionsByTransport,
      sessions: directory.size,
      subscriptions: directory.subscriptionCount(),
      channels: directory.occupiedChannels.size,
      published,
      delivered,
      slowConsumerCuts: metrics.slowConsumerCuts,
      rateLimited: metrics.rateLimitedCount,
      publishedPerSecond: last ? round((published - last.published) / seconds) : 0,
      deliveredPerSecond: last ? round((delivered - last.delivered) / seconds) : 0,
      sendQueueBytes: directory.queuedBytes(),
      memoryBytes: process.memoryUsage.rss(),
      loopDelayMs,
      latencyMs: await metrics.latencyQuantiles([0.5, 0.99]),
    };
  }

  close(): void {
    this.#loop.disable();
  }
}

function round(value: number): number {
  return Math.round(value * 10) / 10;
}
