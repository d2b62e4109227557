import { createServer, type Server } from 'node:http';
import type { FastifyInstance } from 'fastify';
import type { Authenticator } from '../auth/authenticator.js';
import type { Config } from '../config.js';
import type { Hub } from '../core/hub.js';
import type { Logger } from '../core/logger.js';
import { EventLog } from './event-log.js';
import { Metrics, type ScrapeSources } from './metrics.js';
import { registerOpsRoutes } from './ops-routes.js';
import { SessionDirectory } from './session-directory.js';

/**
 * A node's operations features in one place: the session directory, metrics, the event
 * log, and (once the transports exist) /metrics and the admin view. The composition root
 * calls `attach` right after the hub is built, so the hooks see every session and event.
 */
export class Operations {
  readonly directory: SessionDirectory;
  readonly metrics: Metrics;
  readonly #eventLog: EventLog | null;
  readonly #config: Readonly<Config>;
  readonly #logger: Logger;
  #metricsServer: Server | null = null;

  private constructor(config: Readonly<Config>, hub: Hub, logger: Logger, eventLog: EventLog | null) {
    this.#config = config;
    this.#logger = logger;
    this.#eventLog = eventLog;
    this.directory = new SessionDirectory(hub);
    this.metrics = new Metrics({ directory: this.directory });
  }

  static async attach(options: { config: Readonly<Config>; hub: Hub; logger: Logger }): Promise<Operations> {
    const { config, hub, logger } = options;
    const eventLog = config.eventLog.path === null ? null : await EventLog.open({ ...config.eventLog, path: config.eventLog.path }, logger);
    const ops = new Operations(config, hub, logger, eventLog);
    hub.observe(ops.directory.observer());
    hub.observe(ops.metrics.observer());
    if (eventLog) hub.observe(eventLog.observer());
    return ops;
  }

  /** Registers /metrics (unless it has its own port) and the admin view; starts the metrics port. */
  async serve(app: FastifyInstance, options: { hub: Hub; authenticator: Authenticator; sources: ScrapeSources }): Promise<void> {
    this.metrics.setSources(options.sources);
    const ownPort = this.#config.metricsPort !== null;
    registerOpsRoutes(app, { ...options, metrics: this.metrics, directory: this.directory, metricsHere: !ownPort });
    if (ownPort) this.#metricsServer = await this.#listenForMetrics(this.#config.metricsPort!);
  }

  /** The port /metrics listens on alone, when configured (0 picks one). */
  get metricsPort(): number | null {
    const address = this.#metricsServer?.address();
    return typeof address === 'object' && address ? address.port : null;
  }

  /** Writes the rest of the event log; call after the store has closed (no commit can follow). */
  async close(): Promise<void> {
    const server = this.#metricsServer;
    this.#metricsServer = null;
    if (server) {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections(); // a scraper's keep-alive connection must not hold the exit
      await closed;
    }
    await this.#eventLog?.close();
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
