import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** Transports this version can serve. */
export const TRANSPORTS = ['ws', 'http', 'sse', 'pusher', 'grpc', 'web'] as const;
export type TransportName = (typeof TRANSPORTS)[number];

/** One Pusher Channels app: what pusher-js calls the key, and what server SDKs sign with. */
export interface PusherAppConfig {
  readonly id: string;
  readonly key: string;
  readonly secret: string;
  /** Prepended to the app's channel names in the hub; must contain ':' unless empty (see docs/pusher.md). */
  readonly channelPrefix: string;
  /** URLs that receive this app's webhooks in Pusher's format. */
  readonly webhooks: readonly string[];
}

/** Every setting with its default. Overridden by a config file, then env, then flags. */
export const defaultConfig = {
  /** Address to listen on. `open` auth refuses anything but loopback. */
  host: '127.0.0.1',
  port: 8080,
  /** gRPC (transport `grpc`) listens on its own port, on `host`; 0 for any free port. */
  grpcPort: 50051,
  /** `sqlite:PATH`, a bare path, or `postgres://...`. */
  databaseUrl: 'sqlite:./data/switchboard.db',
  /** Unset: the in-process broker (one node). */
  redisUrl: null as string | null,
  auth: 'open' as 'open' | 'accounts' | 'jwt',
  /**
   * Token verification. Auth "jwt": tokens from the app's backend, checked with exactly one
   * of `secret` (HS256, at least 32 characters), `publicKey` (PEM; RS256 or ES256 by key type)
   * or `jwksUrl` (RS256/ES256). Auth "accounts": `secret` signs access tokens (default: a
   * random key kept in the database). `audience`/`issuer`: required `aud`/`iss` when set.
   */
  jwt: {
    secret: null as string | null,
    publicKey: null as string | null,
    jwksUrl: null as string | null,
    audience: null as string | null,
    issuer: null as string | null,
    /** Seconds of clock skew tolerated on `exp` and `nbf`. */
    clockToleranceSeconds: 5,
  },
  /** Built-in accounts (auth "accounts"). */
  accounts: {
    accessTokenTtlSeconds: 900,
    refreshTokenTtlSeconds: 30 * 24 * 3600,
    /** Anyone may register; false: only API-key holders create users. */
    openRegistration: true,
  },
  /** Server API keys (several, so they can be rotated); each at least 16 characters. */
  apiKeys: [] as string[],
  /** How long a connect ticket (`/ws?ticket=`) stays valid; it is single-use either way. */
  ticketTtlMs: 30_000,
  /**
   * Browser origins allowed to open /ws and /sse besides the server's own (`*`: any).
   * Requests without an Origin header (non-browser clients) are not affected.
   */
  allowedOrigins: [] as string[],
  /**
   * Addresses of reverse proxies whose X-Forwarded-For is believed, so per-IP limits count
   * clients rather than the proxy. Empty: the header is ignored (anyone can forge it).
   */
  trustProxy: [] as string[],
  /** Serve `open` auth beyond loopback anyway (logged loudly). For demos on a trusted LAN. */
  allowOpenAuthOnNetwork: false,
  transports: [...TRANSPORTS] as TransportName[],
  logLevel: 'info' as 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent',
  /** `json`: one object per line, for a log shipper; `pretty`: one readable line, for a terminal. */
  logFormat: 'json' as 'json' | 'pretty',
  /**
   * Serve /metrics on this port (on `host`) without an API key, for a scraper on a private
   * network. Null: /metrics is on the main port and needs an API key.
   */
  metricsPort: null as number | null,
  /** An append-only JSON-lines file of every event this node commits (`--event-log PATH`). Null path: off. */
  eventLog: {
    path: null as string | null,
    /** Buffered lines are written at least this often, and at shutdown. */
    flushMs: 1000,
    /** The file is rotated (to PATH.1, PATH.2 ...) when it would grow past this. */
    maxBytes: 256 * 1024 * 1024,
    /** Rotated files kept. */
    keep: 5,
  },
  /** Graceful drain on SIGTERM: see docs/operations.md. */
  drain: {
    /** Clients told to reconnect elsewhere spread their reconnects over this window. 0: backoff only. */
    reconnectSpreadMs: 5000,
  },
  /**
   * Interval of WebSocket pings; a client silent for two intervals is dropped (and shown
   * offline). 15 s: a dead client is offline within 30 s (seed 004).
   */
  heartbeatMs: 15_000,
  /** Longest wait for clients and commits on shutdown before exiting anyway. */
  shutdownTimeoutMs: 10_000,
  /** Signed POSTs to the app on channel and member changes and new messages; see docs/webhooks.md. */
  webhooks: {
    /** Receivers (env SWITCHBOARD_WEBHOOK_URLS, comma-separated). Empty: no webhooks. */
    urls: [] as string[],
    /** HMAC-SHA256 key shared with the receivers, at least 16 characters (env SWITCHBOARD_WEBHOOK_SECRET). */
    secret: null as string | null,
    /** How long one POST may take. */
    timeoutMs: 10_000,
    /** Attempts per event and URL, the first included; after that it is kept in the outbox as failed. */
    maxAttempts: 12,
    /** First retry delay; doubled per attempt up to retryMaxMs. */
    retryBaseMs: 1000,
    retryMaxMs: 10 * 60_000,
  },
  /** The Pusher Channels protocol (`/app/:key` and `/apps/:id/...`); see docs/pusher.md. */
  pusher: {
    /** Apps by id/key/secret. Env PUSHER_APP_ID, PUSHER_APP_KEY, PUSHER_APP_SECRET give one. */
    apps: [] as PusherAppConfig[],
    /** Seconds of silence before either side pings (sent to clients as `activity_timeout`). */
    activityTimeoutSeconds: 120,
    /** How long a ping waits for its pong before the connection is closed with 4201. */
    pongTimeoutMs: 30_000,
    /** Distinct users per presence channel. */
    maxPresenceMembers: 100,
    /** Client events a connection may send per second; more get error 4301. */
    clientEventsPerSecond: 10,
  },
  limits: {
    /** Largest WebSocket frame accepted; larger ones close the connection with 1009. */
    maxFrameBytes: 64 * 1024,
    maxTextLength: 4000,
    maxSubscriptionsPerSession: 100,
    maxHistoryPage: 200,
    /** Bytes queued for one client before it is disconnected as a slow consumer (4408). */
    sendQueueBytes: 4 * 1024 * 1024,
    messagesPerSecond: 100,
    messageBurst: 200,
    /** Frames rejected for rate in a row before the connection is closed (4429). */
    floodCloseAfter: 100,
    authTimeoutMs: 10_000,
    maxCommitBatch: 1000,
    /** Open WebSocket/SSE connections from one IP address; more get HTTP 429. */
    connectionsPerIp: 256,
    /** Register/login/refresh attempts per minute from one IP address; more get 429. */
    authAttemptsPerMinute: 30,
  },
};

export type Config = typeof defaultConfig;

const positiveInt = z.coerce.number().int().positive();

const configSchema = z.strictObject({
  host: z.string().min(1),
  port: z.coerce.number().int().min(0).max(65535),
  grpcPort: z.coerce.number().int().min(0).max(65535),
  databaseUrl: z.string().min(1),
  redisUrl: z.string().min(1).nullable(),
  auth: z.enum(['open', 'accounts', 'jwt']),
  jwt: z.strictObject({
    secret: z.string().min(1).nullable(),
    publicKey: z.string().min(1).nullable(),
    jwksUrl: z.url({ protocol: /^https?$/ }).nullable(),
    audience: z.string().min(1).nullable(),
    issuer: z.string().min(1).nullable(),
    clockToleranceSeconds: z.coerce.number().int().min(0),
  }),
  accounts: z.strictObject({
    accessTokenTtlSeconds: positiveInt,
    refreshTokenTtlSeconds: positiveInt,
    openRegistration: z.boolean(),
  }),
  apiKeys: z.array(z.string()),
  ticketTtlMs: positiveInt,
  allowedOrigins: z.array(z.string().min(1)),
  trustProxy: z.array(z.string().min(1)),
  allowOpenAuthOnNetwork: z.boolean(),
  transports: z.array(z.enum(TRANSPORTS)).min(1),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
  logFormat: z.enum(['json', 'pretty']),
  metricsPort: z.coerce.number().int().min(0).max(65535).nullable(),
  eventLog: z.strictObject({
    path: z.string().min(1).nullable(),
    flushMs: positiveInt,
    maxBytes: z.coerce.number().int().min(1024),
    keep: z.coerce.number().int().min(0).max(100),
  }),
  drain: z.strictObject({
    reconnectSpreadMs: z.coerce.number().int().min(0).max(600_000),
  }),
  heartbeatMs: positiveInt,
  shutdownTimeoutMs: positiveInt,
  webhooks: z.strictObject({
    urls: z.array(z.url({ protocol: /^https?$/ })),
    secret: z.string().nullable(),
    timeoutMs: positiveInt,
    maxAttempts: positiveInt,
    retryBaseMs: positiveInt,
    retryMaxMs: positiveInt,
  }),
  pusher: z.strictObject({
    apps: z.array(
      z.strictObject({
        id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
        key: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/),
        secret: z.string().min(8),
        channelPrefix: z.string().regex(/^$|^[A-Za-z0-9_.@,+-]{1,32}:$/).default(''),
        webhooks: z.array(z.url({ protocol: /^https?$/ })).default([]),
      }),
    ),
    activityTimeoutSeconds: positiveInt,
    pongTimeoutMs: positiveInt,
    maxPresenceMembers: positiveInt,
    clientEventsPerSecond: positiveInt,
  }),
  limits: z.strictObject({
    maxFrameBytes: positiveInt,
    maxTextLength: positiveInt,
    maxSubscriptionsPerSession: positiveInt,
    maxHistoryPage: positiveInt,
    sendQueueBytes: positiveInt,
    messagesPerSecond: positiveInt,
    messageBurst: positiveInt,
    floodCloseAfter: positiveInt,
    authTimeoutMs: positiveInt,
    maxCommitBatch: positiveInt,
    connectionsPerIp: positiveInt,
    authAttemptsPerMinute: positiveInt,
  }),
});

/** A bad setting: one sentence that names it. The CLI prints it and exits with 1. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface ConfigSources {
  readonly file?: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Values from command-line flags, already named as config keys. */
  readonly flags?: Partial<Record<'host' | 'port' | 'databaseUrl' | 'redisUrl' | 'transports' | 'auth', string>>;
  readonly overrides?: DeepPartial<Config>;
}

export type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

/** Merges defaults, file, env and flags; validates once; returns a frozen Config. */
export function loadConfig(sources: ConfigSources = {}): Readonly<Config> {
  let merged: Record<string, unknown> = structuredClone(defaultConfig);
  if (sources.file) merged = deepMerge(merged, readConfigFile(sources.file));
  merged = deepMerge(merged, fromEnv(sources.env ?? {}));
  merged = deepMerge(merged, fromFlags(sources.flags ?? {}));
  if (sources.overrides) merged = deepMerge(merged, sources.overrides as Record<string, unknown>);

  const parsed = configSchema.safeParse(merged);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new ConfigError(`Invalid setting ${issue.path.join('.') || '(root)'}: ${issue.message}.`);
  }
  const config = parsed.data as Config;
  checkAuthSettings(config);
  checkPusherApps(config);
  if (config.transports.includes('grpc') && config.grpcPort !== 0 && config.grpcPort === config.port) {
    throw new ConfigError(`port and grpcPort are both ${config.port}: gRPC needs a port of its own (GRPC_PORT).`);
  }
  if (config.webhooks.urls.length > 0 && (config.webhooks.secret ?? '').length < 16) {
    throw new ConfigError('Webhooks need a signing secret of at least 16 characters: set webhooks.secret (SWITCHBOARD_WEBHOOK_SECRET).');
  }
  if (config.auth === 'open' && !isLoopback(config.host) && !config.allowOpenAuthOnNetwork) {
    throw new ConfigError(
      `Auth mode "open" lets anyone claim any name, so it listens on loopback only; host ${config.host} needs auth "accounts" or "jwt" (or allowOpenAuthOnNetwork: true).`,
    );
  }
  return deepFreeze(config);
}

/** Auth settings that contradict each other or leave a hole: one sentence each. */
function checkAuthSettings(config: Config): void {
  const { secret, publicKey, jwksUrl } = config.jwt;
  const keys = [secret, publicKey, jwksUrl].filter((key) => key !== null).length;
  if (config.auth === 'jwt' && keys === 0) {
    throw new ConfigError(
      'Auth mode "jwt" needs a key: set SWITCHBOARD_JWT_SECRET (HS256), SWITCHBOARD_JWT_PUBLIC_KEY (RS256/ES256) or SWITCHBOARD_JWKS_URL.',
    );
  }
  if (config.auth === 'jwt' && keys > 1) {
    throw new ConfigError(
      'Auth mode "jwt" takes exactly one of jwt.secret, jwt.publicKey and jwt.jwksUrl, so a token can never be checked with the wrong kind of key.',
    );
  }
  if (config.auth !== 'jwt' && (publicKey !== null || jwksUrl !== null)) {
    throw new ConfigError(`jwt.publicKey and jwt.jwksUrl apply to auth "jwt" only; auth is "${config.auth}".`);
  }
  if (secret !== null && secret.length < 32) {
    throw new ConfigError('jwt.secret (SWITCHBOARD_JWT_SECRET) must be at least 32 characters; a short HS256 secret can be guessed.');
  }
  if (config.apiKeys.some((key) => key.length < 16)) {
    throw new ConfigError('Every API key (SWITCHBOARD_API_KEY) must be at least 16 characters.');
  }
}

/** Pusher apps are found by id (HTTP API) and key (WebSocket) and must not share channels. */
function checkPusherApps(config: Config): void {
  const apps = config.pusher.apps;
  for (const field of ['id', 'key', 'channelPrefix'] as const) {
    if (new Set(apps.map((app) => app[field])).size !== apps.length) {
      throw new ConfigError(`Every Pusher app needs its own ${field}; two apps share one.`);
    }
  }
}

export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(`Cannot read config file ${path}: ${(error as Error).message}.`);
  }
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not a JSON object: ${(error as Error).message}.`);
  }
}

function fromEnv(env: NodeJS.ProcessEnv): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (env.PORT) out.port = env.PORT;
  if (env.GRPC_PORT) out.grpcPort = env.GRPC_PORT;
  if (env.HOST) out.host = env.HOST;
  if (env.DATABASE_URL) out.databaseUrl = env.DATABASE_URL;
  if (env.REDIS_URL) out.redisUrl = env.REDIS_URL;
  if (env.SWITCHBOARD_AUTH) out.auth = env.SWITCHBOARD_AUTH;
  const jwt: Record<string, unknown> = {};
  if (env.SWITCHBOARD_JWT_SECRET) jwt.secret = env.SWITCHBOARD_JWT_SECRET;
  if (env.SWITCHBOARD_JWT_PUBLIC_KEY) jwt.publicKey = env.SWITCHBOARD_JWT_PUBLIC_KEY;
  if (env.SWITCHBOARD_JWKS_URL) jwt.jwksUrl = env.SWITCHBOARD_JWKS_URL;
  if (env.SWITCHBOARD_JWT_AUDIENCE) jwt.audience = env.SWITCHBOARD_JWT_AUDIENCE;
  if (env.SWITCHBOARD_JWT_ISSUER) jwt.issuer = env.SWITCHBOARD_JWT_ISSUER;
  if (Object.keys(jwt).length > 0) out.jwt = jwt;
  // A comma-separated list, so a new key can be added before the old one is removed.
  if (env.SWITCHBOARD_API_KEY) out.apiKeys = env.SWITCHBOARD_API_KEY.split(',').map((k) => k.trim()).filter(Boolean);
  if (env.SWITCHBOARD_ALLOWED_ORIGINS) out.allowedOrigins = env.SWITCHBOARD_ALLOWED_ORIGINS.split(',').map((o) => o.trim()).filter(Boolean);
  if (env.SWITCHBOARD_TRUST_PROXY) out.trustProxy = env.SWITCHBOARD_TRUST_PROXY.split(',').map((a) => a.trim()).filter(Boolean);
  if (env.SWITCHBOARD_MAX_CONNECTIONS_PER_IP) out.limits = { connectionsPerIp: env.SWITCHBOARD_MAX_CONNECTIONS_PER_IP };
  if (env.PUSHER_APP_ID || env.PUSHER_APP_KEY || env.PUSHER_APP_SECRET) {
    const webhooks = (env.PUSHER_WEBHOOK_URLS ?? '').split(',').map((u) => u.trim()).filter(Boolean);
    out.pusher = { apps: [{ id: env.PUSHER_APP_ID, key: env.PUSHER_APP_KEY, secret: env.PUSHER_APP_SECRET, webhooks }] };
  }
  if (env.SWITCHBOARD_WEBHOOK_URLS || env.SWITCHBOARD_WEBHOOK_SECRET) {
    const urls = (env.SWITCHBOARD_WEBHOOK_URLS ?? '').split(',').map((u) => u.trim()).filter(Boolean);
    out.webhooks = { urls, ...(env.SWITCHBOARD_WEBHOOK_SECRET ? { secret: env.SWITCHBOARD_WEBHOOK_SECRET } : {}) };
  }
  if (env.SWITCHBOARD_TRANSPORTS) out.transports = splitList(env.SWITCHBOARD_TRANSPORTS);
  if (env.SWITCHBOARD_LOG_LEVEL) out.logLevel = env.SWITCHBOARD_LOG_LEVEL;
  if (env.SWITCHBOARD_LOG_FORMAT) out.logFormat = env.SWITCHBOARD_LOG_FORMAT;
  if (env.METRICS_PORT) out.metricsPort = env.METRICS_PORT;
  if (env.SWITCHBOARD_EVENT_LOG) out.eventLog = { path: env.SWITCHBOARD_EVENT_LOG };
  return out;
}

function fromFlags(flags: NonNullable<ConfigSources['flags']>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...flags };
  if (flags.transports !== undefined) out.transports = splitList(flags.transports);
  for (const key of Object.keys(out)) if (out[key] === undefined) delete out[key];
  return out;
}

/** `all` (seed 001's mode that starts every adapter) is the full list. */
function splitList(value: string): string[] {
  const names = value.split(',').map((name) => name.trim()).filter(Boolean);
  return names.length === 1 && names[0] === 'all' ? [...TRANSPORTS] : names;
}

function deepMerge(base: Record<string, unknown>, override: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = out[key];
    out[key] =
      isPlainObject(current) && isPlainObject(value) ? deepMerge(current, value) : value;
  }
  return out;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
