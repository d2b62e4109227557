import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { hostname } from 'node:os';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import { isLoopback, type Config } from '../config.js';
import type { Hub } from '../core/hub.js';
import type { Logger } from '../core/logger.js';
import type { Edge } from '../edge/edge.js';
import type { Database } from '../store/database.js';
import { AdminActions } from './admin-actions.js';
import type { LocalUsers } from './admin-routes.js';
import { AuditLog } from './audit-log.js';
import { ClusterView, OPS_MODULE, type Question } from './cluster-view.js';
import { EventLog } from './event-log.js';
import { Metrics, type ScrapeSources } from './metrics.js';
import { NodeReporter } from './node-report.js';
import { OperatorAccess } from './operator-access.js';
import { registerOpsRoutes } from './ops-routes.js';
import { SessionDirectory } from './session-directory.js';

/** How often each node reports to the cluster (and the console's counters move). */
const REPORT_MS = 1000;
const STARTED = Date.now();

export interface ServeOptions {
  readonly hub: Hub;
  readonly authenticator: Authenticator;
  /** The pipeline the console's actions run through. */
  readonly edge: Edge;
  /** The node's readiness (database, broker, draining), as /readyz checks it. */
  readonly ready: () => Promise<void>;
  readonly sources: ScrapeSources;
}

/**
 * A node's operations features in one place: the session directory, metrics, the event
 * log, the cluster view (each node's report every second, questions to every node),
 * /metrics and the admin console with its audit log. The composition root calls `attach`
 * right after the hub is built, so the hooks see every session and event, and `serve`
 * once the edge and transports exist.
 */
export class Operations {
  readonly directory: SessionDirectory;
  readonly metrics: Metrics;
  readonly cluster: ClusterView;
  readonly #eventLog: EventLog | null;
  readonly #config: Readonly<Config>;
  readonly #hub: Hub;
  readonly #logger: Logger;
  readonly #audit: AuditLog;
  #metricsServer: Server | null = null;
  #reporter: NodeReporter | null = null;
  #timer: NodeJS.Timeout | null = null;
  #address: (() => string | null) | null = null;

  private constructor(options: { config: Readonly<Config>; hub: Hub; logger: Logger; database: Database; eventLog: EventLog | null }) {
    this.#config = options.config;
    this.#hub = options.hub;
    this.#logger = options.logger;
    this.#eventLog = options.eventLog;
    this.#audit = new AuditLog(options.database);
    this.directory = new SessionDirectory(options.hub);
    this.metrics = new Metrics({ directory: this.directory });
    this.cluster = new ClusterView({
      node: randomUUID(),
      send: (notice) => options.hub.sendNotice(OPS_MODULE, notice),
      answer: (question) => this.#answer(question),
      logger: options.logger,
    });
  }

  static async attach(options: { config: Readonly<Config>; hub: Hub; logger: Logger; database: Database }): Promise<Operations> {
    const { config, hub, logger } = options;
    const eventLog = config.eventLog.path === null ? null : await EventLog.open({ ...config.eventLog, path: config.eventLog.path }, logger);
    const ops = new Operations({ ...options, eventLog });
    hub.observe(ops.directory.observer());
    hub.observe(ops.metrics.observer());
    hub.observe(ops.cluster.observer());
    if (eventLog) hub.observe(eventLog.observer());
    return ops;
  }

  /**
   * Registers /metrics (unless it has its own port) and the admin console, starts the
   * metrics port and this node's reports to the cluster.
   */
  async serve(app: FastifyInstance, options: ServeOptions): Promise<void> {
    this.metrics.setSources(options.sources);
    const config = this.#config;
    const ownPort = config.metricsPort !== null;
    this.#address = () => {
      const address = app.server.address();
      return typeof address === 'object' && address ? `${config.host.includes(':') ? `[${config.host}]` : config.host}:${address.port}` : null;
    };
    const nodeName = () => this.#address?.() ?? hostname();
    const access = new OperatorAccess({ authenticator: options.authenticator, keyless: config.auth === 'open' && isLoopback(config.host) });
    const actions = new AdminActions({ pipeline: options.edge.pipeline, cluster: this.cluster, audit: this.#audit, logger: this.#logger, nodeName });
    registerOpsRoutes(app, {
      access,
      actions,
      cluster: this.cluster,
      mode: config.auth,
      metrics: this.metrics,
      metricsHere: !ownPort,
      stats: () => this.#stats(options.sources),
    });
    if (ownPort) this.#metricsServer = await this.#listenForMetrics(config.metricsPort!);
    this.#reporter = new NodeReporter({
      node: this.cluster.node,
      directory: this.directory,
      metrics: this.metrics,
      sources: options.sources,
      ready: options.ready,
      address: () => this.#address?.() ?? null,
    });
    // From the moment it listens: its first report already names it by its address.
    if (app.server.listening) this.#startReports();
    else app.server.once('listening', () => this.#startReports());
  }

  /** The port /metrics listens on alone, when configured (0 picks one). */
  get metricsPort(): number | null {
    const address = this.#metricsServer?.address();
    return typeof address === 'object' && address ? address.port : null;
  }

  /** Writes the rest of the event log; call after the store has closed (no commit can follow). */
  async close(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    this.#reporter?.close();
    const server = this.#metricsServer;
    this.#metricsServer = null;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // a scraper's keep-alive connection must not hold the exit
      await closed;
    }
    await this.#eventLog?.close();
  }

  /** One report now, then every REPORT_MS; a report still being made (a slow readiness check) is not doubled. */
  #startReports(): void {
    if (this.#timer || !this.#reporter) return;
    let busy = false;
    const tick = () => {
      if (busy || !this.#reporter) return;
      busy = true;
      this.#reporter
        .report()
        .then(
          (report) => this.cluster.publish(report),
          (error: unknown) => this.#logger.error({ err: error }, 'node report failed'),
        )
        .finally(() => (busy = false));
    };
    tick();
    this.#timer = setInterval(tick, REPORT_MS);
    this.#timer.unref();
  }

  /** This node's part of a question put to every node. */
  async #answer(question: Question): Promise<unknown> {
    switch (question.type) {
      case 'users':
        return this.#localUsers(question.query, question.limit);
      case 'disconnect':
        return { disconnected: this.#hub.endSessionsOf(question.user, 'disconnected by an administrator') };
      case 'subscribers':
        return { subscribers: this.directory.subscribersOf(question.channel).length };
    }
  }

  #localUsers(query: string, limit: number): LocalUsers {
    const needle = query.toLowerCase();
    const users = new Map<string, { user: string; name: string; sessions: number; transports: Set<string> }>();
    for (const session of this.directory.sessions()) {
      const { userId, name } = session.principal;
      if (needle && !userId.toLowerCase().includes(needle) && !name.toLowerCase().includes(needle)) continue;
      const entry = users.get(userId) ?? { user: userId, name, sessions: 0, transports: new Set<string>() };
      entry.sessions++;
      entry.transports.add(session.transport);
      users.set(userId, entry);
    }
    const sorted = [...users.values()].sort((a, b) => a.user.localeCompare(b.user));
    return { users: sorted.slice(0, limit).map((entry) => ({ ...entry, transports: [...entry.transports] })), matching: sorted.length };
  }

  /** This node's figures, as the first admin view showed them (`/admin/api/stats`). */
  async #stats(sources: ScrapeSources): Promise<Record<string, unknown>> {
    const directory = this.directory;
    return {
      node: { host: hostname(), pid: process.pid, startedAt: STARTED, uptimeSeconds: Math.round((Date.now() - STARTED) / 1000) },
      connections: sources.connections(),
      sessions: directory.size,
      sessionsByTransport: Object.fromEntries(directory.sessionsByTransport()),
      subscriptions: directory.subscriptionCount(),
      channels: directory.occupiedChannels.size,
      published: this.metrics.published,
      delivered: this.metrics.deliveredCount,
      latencyMs: await this.metrics.latencyQuantiles([0.5, 0.99]),
      sendQueueBytes: directory.queuedBytes(),
      memory: process.memoryUsage().rss,
    };
  }

  #listenForMetrics(port: number): Promise<Server> {
    const server = createServer((request, response) => {
      if (request.method !== 'GET' || (request.url ?? '').split('?')[0] !== '/metrics') {
        response.writeHead(404, { 'content-type': 'application/json' }).end('{"code":"not_found","message":"Only /metrics is served here."}');
        return;
      }
      this.metrics.scrape().then(
        ({ contentType, body }) => response.writeHead(200, { 'content-type': contentType }).end(body),
        (error: unknown) => {
          this.#logger.error({ err: error }, 'metrics scrape failed');
          response.writeHead(500).end();
        },
      );
    });
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.#config.host, () => resolve(server));
    });
  }
}
