import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import Fastify, { type FastifyBaseLogger } from 'fastify';
import type { Logger as PinoLogger } from 'pino';
import { authCommands } from './auth/commands.js';
import { createAuth } from './auth/create-auth.js';
import { authMigrations } from './auth/migrations/index.js';
import { MemoryBroker } from './broker/memory-broker.js';
import { RedisBroker } from './broker/redis-broker.js';
import type { Config } from './config.js';
import type { Broker } from './core/broker.js';
import { SwitchboardError } from './core/errors.js';
import { ConnectionAdmission } from './edge/connection-admission.js';
import { createEdge, type Edge } from './edge/edge.js';
import { createHooks } from './hooks/create-hooks.js';
import { channelPolicies } from './namespaces/channel-policies.js';
import { Hub } from './core/hub.js';
import type { Store } from './core/store.js';
import { Chat } from './chat/chat.js';
import { chatCommands } from './chat/commands.js';
import { ChatStore, reactionWriter } from './chat/chat-store.js';
import { chatMigrations } from './chat/migrations/index.js';
import type { Database, ModuleMigrations } from './store/database.js';
import { KyselyStore } from './store/kysely-store.js';
import { logMigrations } from './store/migrations/index.js';
import { openDatabase, parseDatabaseUrl } from './store/open-database.js';
import { ConnectionGuard, guardHttpServer } from './transports/connection-guard.js';
import { registerApiDocs } from './transports/http/api-docs.js';
import { registerApi } from './transports/http/api-routes.js';
import { registerAuthRoutes } from './transports/http/auth-routes.js';
import { registerHealthRoutes } from './transports/http/health-routes.js';
import { httpErrorHandler } from './transports/http/http-errors.js';
import { LingeringClose } from './transports/http/lingering-close.js';
import { authenticateRequest } from './transports/http/request-auth.js';
import { SseTransport } from './transports/sse/sse-transport.js';
import { registerWebRoutes } from './transports/web/web-routes.js';
import { WsTransport } from './transports/ws/ws-transport.js';
import { registerPusherRoutes } from './transports/pusher/pusher-http-routes.js';
import { PusherTransport } from './transports/pusher/pusher-transport.js';
import { GrpcTransport } from './transports/grpc/grpc-transport.js';
import { webhookMigrations } from './webhooks/migrations/index.js';
import { hubAccess } from './files/channel-access.js';
import { filesCommands } from './files/commands.js';
import { createFileStorage } from './files/create-file-storage.js';
import { registerFileRoutes } from './files/file-routes.js';
import { Files } from './files/files.js';
import { messageFiles } from './files/message-files.js';
import { filesMigrations } from './files/migrations/index.js';
import { startWebhooks } from './webhooks/webhooks.js';
import { WebhookOutbox } from './webhooks/webhook-outbox.js';
import { createLogger } from './ops/logger.js';
import { opsCommands } from './ops/commands.js';
import { Operations } from './ops/operations.js';
import { boundedReadiness } from './ops/bounded-readiness.js';
import { opsMigrations } from './ops/migrations/index.js';

export interface RunningServer {
  readonly url: string;
  readonly port: number;
  /** The port gRPC listens on; null when the node does not serve `grpc`. */
  readonly grpcPort: number | null;
  readonly hub: Hub;
  readonly store: Store;
  /** The command registry and pipeline every wire runs (what this node serves). */
  readonly edge: Edge;
  /** Uploads, downloads and attachments (docs/files.md). */
  readonly files: Files;
  /** Tells clients to reconnect, waits for commits, closes everything. Safe to call twice. */
  close(reason?: string): Promise<void>;
}

export interface ServerDependencies {
  readonly logger?: PinoLogger;
  /** A broker to use instead of the one config names (tests join nodes on a MemoryBus). */
  readonly broker?: Broker;
  /** The clock the files module reads (tests move it past the grace period and link expiry). */
  readonly now?: () => number;
}

/**
 * Every module's tables, in the order their migrations run: the log, auth, chat, webhooks,
 * ops, files. A database created by any earlier release migrates forward from where it stands.
 */
export const MIGRATIONS: readonly ModuleMigrations[] = [
  logMigrations,
  authMigrations,
  chatMigrations,
  webhookMigrations,
  opsMigrations,
  filesMigrations,
];

/**
 * The composition root: opens the one database every module shares, builds the store,
 * broker, hub and modules on it, and the enabled transports, all from config.
 */
export async function startServer(config: Readonly<Config>, deps: ServerDependencies = {}): Promise<RunningServer> {
  const logger = deps.logger ?? createLogger({ level: config.logLevel, format: config.logFormat });
  const database = await openConfiguredDatabase(config);
  // Reactions are chat's events in the log: the store writes them with chat's aggregate.
  const store = new KyselyStore(database, { annotations: [reactionWriter] });
  const broker = deps.broker ?? createBroker(config, logger);
  const hub = new Hub({
    store,
    broker,
    logger,
    limits: config.limits,
    presence: config.presence,
    policies: channelPolicies(config.namespaces),
    pruning: { intervalMs: config.retention.pruneIntervalMs, batchSize: config.retention.pruneBatch },
  });
  await hub.start();
  const chat = Chat.attach({
    hub,
    store,
    tables: new ChatStore(database),
    presence: broker.presence,
    statusMembersLimit: config.presence.occupancyAbove,
    logger,
  });
  // Before any session or feed exists, so the metrics and the event log see them all.
  const ops = await Operations.attach({ config, hub, logger, database });
  const outbox = config.webhooks.urls.length > 0 ? new WebhookOutbox(database) : null;
  const webhooks = outbox
    ? startWebhooks({ hub, outbox, logger, settings: { ...config.webhooks, secret: config.webhooks.secret! } })
    : null;
  /** Releases what startup opened so far, so a failed start exits instead of idling. */
  const abandonStartup = async () => {
    await webhooks?.close();
    // The hub first: it waits for appends in flight, which need the store.
    await hub.shutdown('startup failed').catch(() => {});
    await Promise.allSettled([broker.close(), database.close(), ops.close()]);
  };
  const auth = await createAuth(config, { users: store, database }).catch(async (error: unknown) => {
    await abandonStartup();
    throw new StartupError(`Cannot set up auth "${config.auth}": ${error instanceof Error ? error.message : String(error)}`);
  });
  const authenticator = ops.metrics.countAuthFailures(auth.authenticator);
  const files = await startFiles(config, { database, hub, logger, now: deps.now }).catch(async (error: unknown) => {
    await abandonStartup();
    throw new StartupError(`Cannot set up file storage: ${error instanceof Error ? error.message : String(error)}`);
  });
  const hooks = createHooks(config.hooks, { namespaces: config.namespaces, logger, registry: ops.metrics.registry });
  hooks.attach(hub);
  const edge = createEdge({
    hub,
    modules: [chatCommands(chat), authCommands(auth), opsCommands(ops.cluster), filesCommands(files), hooks.commands],
    logger,
    limits: config.limits,
    hooks: hooks.commandHooks,
  });
  // Who a new connection is: its credentials, then the app's connect hook if there is one.
  const admission = new ConnectionAdmission(authenticator, hooks.connectHook);
  // One guard for every wire (/ws, SSE, Pusher, gRPC, and raw HTTP connections without a
  // request yet), so one count per address covers them all.
  const guard = new ConnectionGuard({
    allowedOrigins: config.allowedOrigins,
    connectionsPerIp: config.limits.connectionsPerIp,
    trustedProxies: config.trustProxy,
  });
  if (config.auth === 'open') {
    logger.warn({ auth: 'open' }, 'auth mode "open": clients name themselves; for development only');
  }

  // A request refused for its size is answered (413, 431), then closed without a reset.
  const lingering = new LingeringClose();
  // Requests are logged at warn and above only: a chat server's HTTP traffic is mostly health checks.
  const app = Fastify({
    loggerInstance: logger.child({}, { level: 'warn' }) as FastifyBaseLogger,
    // request.ip is the client behind a listed proxy (per-IP log-in limits), never a forged header.
    trustProxy: config.trustProxy.length > 0 ? [...config.trustProxy] : false,
    bodyLimit: config.limits.httpBodyBytes,
    clientErrorHandler: lingering.clientErrorHandler,
  });
  lingering.attach(app.server);
  guardHttpServer(app.server, guard, { headerTimeoutMs: config.limits.headerTimeoutMs });
  app.addHook('preClose', async () => lingering.closeAll());
  if (config.transports.includes('web')) await registerWebRoutes(app);
  app.setErrorHandler(httpErrorHandler(logger));
  let draining = false;
  // Bounded once, here, so /readyz, gRPC Health and the node reports all answer within
  // 2 s of a silent database and share one waiting ping.
  const dependencies = boundedReadiness({
    async check() {
      await store.ping().catch(() => {
        throw new SwitchboardError('unavailable', 'The database does not answer.');
      });
      await broker.ping().catch(() => {
        throw new SwitchboardError('unavailable', 'The broker does not answer.');
      });
    },
  });
  const readiness = {
    // Draining is said at once, not after a ping that may be waiting on a silent database.
    async check() {
      if (draining) throw new SwitchboardError('unavailable', 'The node is shutting down.');
      await dependencies.check();
    },
  };
  registerHealthRoutes(app, readiness);
  if (config.transports.includes('http')) {
    await registerApiDocs(app);
    registerAuthRoutes(app, { auth, attemptsPerMinute: config.limits.authAttemptsPerMinute });
    await registerApi(app, {
      edge,
      store,
      logger,
      authenticate: (request) => authenticateRequest(request, authenticator),
    });
    await registerFileRoutes(app, {
      files,
      logger,
      authenticate: (request) => authenticateRequest(request, authenticator),
      allowedOrigins: config.allowedOrigins,
    });
  }
  // The load-adaptive write delay of /ws and SSE (docs/configuration.md).
  const writeBatching = { maxDelayMs: config.batching.maxWriteDelayMs, maxFramesPerWrite: config.batching.maxFramesPerWrite };
  const sse = config.transports.includes('sse')
    ? new SseTransport({
        edge,
        hub,
        authenticator,
        admission,
        logger,
        guard,
        heartbeatMs: config.heartbeatMs,
        maxQueuedBytes: config.limits.sendQueueBytes,
        batching: writeBatching,
      })
    : null;
  sse?.register(app);

  const ws = config.transports.includes('ws')
    ? new WsTransport({
        edge,
        hub,
        authenticator,
        admission,
        logger,
        heartbeatMs: config.heartbeatMs,
        limits: config.limits,
        batching: writeBatching,
        guard,
        onLimit: (hit) => ops.metrics.limitHit('ws', hit),
      })
    : null;
  const pusher = config.transports.includes('pusher')
    ? new PusherTransport({
        edge,
        hub,
        logger,
        pusher: config.pusher,
        limits: config.limits,
        guard,
        maxSubscriptionsPerConnection: config.pusher.maxSubscriptionsPerConnection,
        subscribeAsk: (backend) => hooks.subscribeAsk(backend),
      })
    : null;
  if (pusher) registerPusherRoutes(app, pusher, logger);
  app.server.on('upgrade', (request, socket, head) => {
    if (ws?.handleUpgrade(request, socket, head)) return;
    if (pusher?.handleUpgrade(request, socket, head)) return;
    socket.write('HTTP/1.1 404 Not Found\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    // Node's upgrade sockets are net.Sockets; closed gracefully, so the client reads its 404.
    lingering.linger(socket as Socket);
  });

  await ops.serve(app, {
    hub,
    authenticator,
    edge,
    ready: () => readiness.check(),
    sources: {
      connections: () => {
        const counts: Record<string, number> = {};
        if (ws) counts.ws = ws.connectionCount;
        if (sse) counts.sse = sse.connectionCount;
        if (pusher) counts.pusher = pusher.connectionCount;
        return counts;
      },
      writes: () => ws?.writeStats ?? null,
      webhooks: () =>
        outbox && Promise.all([outbox.pendingCount(), outbox.failedCount()]).then(([pending, failed]) => ({ pending, failed })),
    },
  });

  const grpc = config.transports.includes('grpc')
    ? await GrpcTransport.start({
        edge,
        hub,
        authenticator,
        admission,
        logger,
        ready: () => readiness.check(),
        host: config.host,
        port: config.grpcPort,
        limits: config.limits,
        heartbeatMs: config.heartbeatMs,
        guard,
      }).catch(async (error: unknown) => {
        await files.close();
        await abandonStartup();
        const reason = error instanceof Error ? error.message : String(error);
        throw new StartupError(
          listenFailure('gRPC', config.host, config.grpcPort, reason) ?? `Cannot serve gRPC on ${config.host}:${config.grpcPort}: ${reason}`,
        );
      })
    : null;

  try {
    await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    // The port is taken (or not ours to bind): the CLI reports it; nothing may keep running.
    try {
      ws?.closeAll('startup failed');
      sse?.closeAll('startup failed');
      pusher?.closeAll('startup failed');
      await Promise.allSettled([grpc?.close('startup failed', 0), app.close()]);
    } finally {
      await files.close();
      await abandonStartup();
    }
    throw error;
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const url = `http://${config.host.includes(':') ? `[${config.host}]` : config.host}:${port}`;
  logger.info({ url, grpcPort: grpc?.port, transports: config.transports, database: describeDatabase(config.databaseUrl) }, 'switchboard listening');

  let closing: Promise<void> | null = null;
  const close = (reason = 'server shutting down') =>
    (closing ??= (async () => {
      draining = true;
      const deadline = setTimeout(() => {
        logger.warn({}, 'shutdown timed out; closing remaining connections');
        app.server.closeAllConnections();
      }, config.shutdownTimeoutMs);
      deadline.unref();
      // Clients spread their reconnects over the window, so the nodes left are not stampeded.
      await hub.shutdown(reason, { spreadMs: config.drain.reconnectSpreadMs });
      ws?.closeAll(reason);
      pusher?.closeAll(reason);
      sse?.closeAll(reason);
      await grpc?.close(reason, config.shutdownTimeoutMs);
      await app.close();
      clearTimeout(deadline);
      // Sessions whose sockets have not closed yet end here; then chat's offline status
      // writes settle, before the database closes under them.
      await hub.closeSessions();
      await chat.idle();
      chat.close();
      await webhooks?.close();
      await files.close();
      await broker.close();
      // Last: every module is done with it.
      await database.close();
      await ops.close();
      hooks.close();
      logger.info({}, 'switchboard stopped');
    })());

  return { url, port, grpcPort: grpc?.port ?? null, hub, store, edge, files, close };
}

/** The files module on the configured storage, taking the hub's attachments. */
async function startFiles(
  config: Readonly<Config>,
  parts: { database: Database; hub: Hub; logger: PinoLogger; now?: () => number },
): Promise<Files> {
  const { storage: kind, directory, s3, ...settings } = config.files;
  const workDirectory = directory ?? defaultFilesDirectory(config.databaseUrl);
  const credentials = s3.accessKeyId && s3.secretAccessKey ? { accessKeyId: s3.accessKeyId, secretAccessKey: s3.secretAccessKey } : undefined;
  const storage = createFileStorage({
    storage: kind,
    directory: workDirectory,
    s3: s3.bucket
      ? { bucket: s3.bucket, prefix: s3.prefix, region: s3.region, endpoint: s3.endpoint ?? undefined, forcePathStyle: s3.forcePathStyle, credentials }
      : null,
  });
  const files = await Files.create({
    database: parts.database,
    storage,
    access: hubAccess(parts.hub),
    logger: parts.logger,
    workDirectory,
    settings,
    now: parts.now,
  });
  parts.hub.useAttachments(messageFiles(files, parts.logger));
  return files;
}

/** `files/` beside a SQLite database file (one directory holds a node's data); `./data/files` otherwise. */
export function defaultFilesDirectory(databaseUrl: string): string {
  const target = parseDatabaseUrl(databaseUrl);
  return target.kind === 'sqlite' && target.path !== ':memory:' ? join(dirname(target.path), 'files') : join('data', 'files');
}

/** Redis joins the nodes of a cluster; without it this node is on its own. */
function createBroker(config: Readonly<Config>, logger: PinoLogger): Broker {
  if (config.redisUrl) return new RedisBroker({ url: config.redisUrl, logger, ...config.cluster });
  return new MemoryBroker({ logger });
}

async function openConfiguredDatabase({ databaseUrl, postgres }: Pick<Config, 'databaseUrl' | 'postgres'>): Promise<Database> {
  try {
    return await openDatabase(databaseUrl, MIGRATIONS, { queryTimeoutMs: postgres.queryTimeoutMs });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new StartupError(`Cannot open the database ${describeDatabase(databaseUrl)}: ${reason}`);
  }
}

/** A database URL without its password, fit for logs. */
export function describeDatabase(databaseUrl: string): string {
  const target = parseDatabaseUrl(databaseUrl);
  if (target.kind === 'sqlite') return `sqlite:${target.path}`;
  const url = new URL(target.url);
  url.password = url.password ? '***' : '';
  return url.toString();
}

/**
 * A port that could not be bound, in the one sentence the CLI prints for HTTP and gRPC
 * alike, saying what to do; null when `reason` is not a failure to listen.
 */
export function listenFailure(wire: 'HTTP' | 'gRPC', host: string, port: number, reason: string): string | null {
  const where = `${host.includes(':') ? `[${host}]` : host}:${port} for ${wire}`;
  const other = wire === 'HTTP' ? 'choose another port with --port (PORT)' : 'choose another port with GRPC_PORT, or leave grpc out of --transports';
  if (reason.includes('EADDRINUSE')) return `Cannot listen on ${where}: the port is in use; stop what holds it or ${other}.`;
  if (reason.includes('EACCES')) return `Cannot listen on ${where}: permission denied (ports below 1024 need privileges); ${other}.`;
  if (reason.includes('EADDRNOTAVAIL')) return `Cannot listen on ${where}: the address is not one of this machine's; check --host (HOST).`;
  return null;
}

/** A failure to start that the CLI reports in one line. */
export class StartupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StartupError';
  }
}
