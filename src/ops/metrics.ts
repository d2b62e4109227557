import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import type { Authenticator, Credentials } from '../auth/authenticator.js';
import { toSwitchboardError } from '../core/errors.js';
import type { HubObserver } from '../core/hub-observer.js';
import type { ChannelEvent } from '../core/types.js';
import type { SessionDirectory } from './session-directory.js';

/**
 * Node's default metrics describe the process, not a node: one registry per process, so
 * several servers in one process (tests) do not each start GC and event-loop observers.
 */
let processRegistry: Registry | null = null;
function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry, prefix: 'switchboard_' });
  }
  return processRegistry;
}

/** Figures read only when Prometheus scrapes: cheap to keep, nothing on the hot path. */
export interface ScrapeSources {
  /** Open connections per transport (before and after authentication). */
  connections(): Readonly<Record<string, number>>;
  /** /ws frames and the socket writes that carried them, and flushes put off for load; null without /ws. */
  writes?(): Readonly<{ frames: number; writes: number; delayedFlushes: number }> | null;
  /** Rows waiting in the webhook outbox, and rows given up on; null without webhooks. */
  webhooks?(): Promise<{ pending: number; failed: number }> | null;
}

/**
 * Every Prometheus figure of a node, in its own registry (two nodes in one test process
 * do not share counters). Fed by hub observer hooks, the group committer and the
 * transports' limit callbacks; per delivery it costs one counter increment per event and
 * transport, never one per socket.
 */
export class Metrics {
  readonly registry = new Registry();
  readonly #connections: Gauge;
  readonly #sessions: Gauge;
  readonly #subscriptions: Gauge;
  readonly #channels: Gauge;
  readonly #publishes: Counter;
  readonly #deliveries: Counter;
  readonly #latency: Histogram;
  readonly #commitSeconds: Histogram;
  readonly #commitBatch: Histogram;
  readonly #sendQueue: Gauge;
  readonly #slowConsumers: Counter;
  readonly #rateLimited: Counter;
  readonly #authFailures: Counter;
  readonly #webhookPending: Gauge;
  readonly #webhookFailed: Gauge;
  /** Publishes, deliveries, slow-consumer cuts and rate-limit refusals since start, for the admin console. */
  published = 0;
  deliveredCount = 0;
  slowConsumerCuts = 0;
  rateLimitedCount = 0;
  #sources: ScrapeSources | null = null;
  readonly #process: Registry | null;

  constructor(options: { readonly directory: SessionDirectory; readonly defaultMetrics?: boolean }) {
    const registers = [this.registry];
    const directory = options.directory;
    const self = this;
    this.#process = options.defaultMetrics === false ? null : processMetrics();
    this.#connections = new Gauge({
      name: 'switchboard_connections',
      help: 'Open long-lived connections by transport.',
      labelNames: ['transport'],
      registers,
      collect() {
        this.reset();
        for (const [transport, count] of Object.entries(self.#sources?.connections() ?? {})) this.set({ transport }, count);
      },
    });
    this.#sessions = new Gauge({
      name: 'switchboard_sessions',
      help: 'Authenticated sessions by transport.',
      labelNames: ['transport'],
      registers,
      collect() {
        this.reset();
        for (const [transport, count] of directory.sessionsByTransport()) this.set({ transport }, count);
      },
    });
    this.#subscriptions = new Gauge({
      name: 'switchboard_subscriptions',
      help: 'Channel subscriptions of the sessions on this node.',
      registers,
      collect() {
        this.set(directory.subscriptionCount());
      },
    });
    this.#channels = new Gauge({
      name: 'switchboard_channels_with_subscribers',
      help: 'Channels with at least one subscriber on this node.',
      registers,
      collect() {
        this.set(directory.occupiedChannels.size);
      },
    });
    this.#publishes = new Counter({
      name: 'switchboard_publishes_total',
      help: 'Events committed by this node (messages, edits, deletes, reactions); a retried cid counts once.',
      labelNames: ['kind'],
      registers,
    });
    this.#deliveries = new Counter({
      name: 'switchboard_deliveries_total',
      help: 'Live events handed to subscribers on this node, by transport (catch-up reads not included).',
      labelNames: ['transport'],
      registers,
    });
    this.#latency = new Histogram({
      name: 'switchboard_publish_to_deliver_seconds',
      help: 'From an event being stored to its live fan-out on this node (once per event and node).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers,
    });
    this.#commitSeconds = new Histogram({
      name: 'switchboard_store_commit_seconds',
      help: 'Duration of one group commit (one transaction).',
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    });
    this.#commitBatch = new Histogram({
      name: 'switchboard_store_commit_batch_size',
      help: 'Appends written per group commit.',
      buckets: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000],
      registers,
    });
    this.#sendQueue = new Gauge({
      name: 'switchboard_send_queue_bytes',
      help: 'Bytes waiting in the outbound queues of this node\'s sessions.',
      registers,
      collect() {
        this.set(directory.queuedBytes());
      },
    });
    this.#slowConsumers = new Counter({
      name: 'switchboard_slow_consumer_disconnects_total',
      help: 'Connections cut because their send queue exceeded limits.sendQueueBytes.',
      labelNames: ['transport'],
      registers,
    });
    this.#rateLimited = new Counter({
      name: 'switchboard_rate_limited_total',
      help: 'Frames refused for exceeding the per-connection message rate.',
      labelNames: ['transport'],
      registers,
    });
    this.#authFailures = new Counter({
      name: 'switchboard_auth_failures_total',
      help: 'Refused authentications by error code and the kind of credential presented.',
      labelNames: ['reason', 'credential'],
      registers,
    });
    // Read from the /ws batcher's own counts at scrape time: nothing per write on the hot path.
    const writeFigure = (name: string, help: string, pick: (figures: { frames: number; writes: number; delayedFlushes: number }) => number) =>
      new Counter({
        name,
        help,
        registers,
        collect() {
          const figures = self.#sources?.writes?.();
          if (!figures) return;
          this.reset();
          this.inc(pick(figures));
        },
      });
    writeFigure('switchboard_ws_frames_written_total', '/ws frames handed to sockets.', (f) => f.frames);
    writeFigure('switchboard_ws_socket_writes_total', '/ws socket writes that carried them (frames per write: the batching under load).', (f) => f.writes);
    writeFigure('switchboard_ws_delayed_flushes_total', '/ws flush rounds put off because the previous one was costly (the load-adaptive write delay).', (f) => f.delayedFlushes);
    this.#webhookPending = new Gauge({
      name: 'switchboard_webhook_queue_depth',
      help: 'Webhook deliveries waiting in the outbox (shared by the cluster).',
      registers,
      async collect() {
        const figures = await self.#sources?.webhooks?.();
        if (figures) this.set(figures.pending);
      },
    });
    this.#webhookFailed = new Gauge({
      name: 'switchboard_webhook_failed',
      help: 'Webhook deliveries given up on after every attempt (kept in the outbox).',
      registers,
      async collect() {
        const figures = await self.#sources?.webhooks?.();
        if (figures) this.set(figures.failed);
      },
    });
  }

  /** Connects the figures that are read at scrape time (transports start after the hub). */
  setSources(sources: ScrapeSources): void {
    this.#sources = sources;
  }

  /** The hub hooks that count publishes, deliveries and commits. */
  observer(): HubObserver {
    return {
      published: (event) => {
        this.published++;
        this.#publishes.inc({ kind: event.kind });
      },
      delivered: (event: ChannelEvent, recipients) => {
        this.#latency.observe(Math.max(0, Date.now() - event.createdAt) / 1000);
        for (const [transport, count] of recipients) {
          this.deliveredCount += count;
          this.#deliveries.inc({ transport }, count);
        }
      },
      committed: (size, millis) => {
        this.#commitSeconds.observe(millis / 1000);
        this.#commitBatch.observe(size);
      },
    };
  }

  limitHit(transport: string, hit: 'slow_consumer' | 'rate_limited'): void {
    if (hit === 'slow_consumer') this.slowConsumerCuts++;
    else this.rateLimitedCount++;
    (hit === 'slow_consumer' ? this.#slowConsumers : this.#rateLimited).inc({ transport });
  }

  /** Wraps an authenticator so every refusal is counted by reason. */
  countAuthFailures(authenticator: Authenticator): Authenticator {
    const failures = this.#authFailures;
    return {
      mode: authenticator.mode,
      async authenticate(credentials: Credentials) {
        try {
          return await authenticator.authenticate(credentials);
        } catch (error) {
          failures.inc({ reason: toSwitchboardError(error).code, credential: credentialKind(credentials) });
          throw error;
        }
      },
    };
  }

  /**
   * Publish-to-deliver quantiles in milliseconds, read from the histogram's buckets (the
   * upper bound of the bucket the quantile falls in); null before the first delivery.
   */
  async latencyQuantiles(quantiles: readonly number[]): Promise<Record<string, number | null>> {
    const { values } = await this.#latency.get();
    const buckets = values
      .filter((v) => v.metricName?.endsWith('_bucket'))
      .map((v) => ({ le: Number(v.labels.le), count: v.value }))
      .sort((a, b) => a.le - b.le);
    const total = buckets.at(-1)?.count ?? 0;
    const out: Record<string, number | null> = {};
    for (const q of quantiles) {
      const bucket = total === 0 ? undefined : buckets.find((b) => b.count >= q * total);
      out[`p${Math.round(q * 100)}`] = bucket === undefined ? null : bucket.le === Infinity ? null : bucket.le * 1000;
    }
    return out;
  }

  /** The text Prometheus scrapes. */
  async scrape(): Promise<{ contentType: string; body: string }> {
    const own = await this.registry.metrics();
    return { contentType: this.registry.contentType, body: this.#process ? `${await this.#process.metrics()}\n${own}` : own };
  }
}

function credentialKind(credentials: Credentials): string {
  if (credentials.apiKey !== undefined) return 'api_key';
  if (credentials.ticket !== undefined) return 'ticket';
  if (credentials.token !== undefined) return 'token';
  if (credentials.user !== undefined) return 'user';
  return 'none';
}
