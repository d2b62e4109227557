import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { DEFAULT_LIMITS } from '../protocol/limits.js';
import { DEFAULT_PRESENCE_SETTINGS } from './core/presence.js';
import { channelHooksSchema, HOOK_BACKEND_NAME, namespacesSchema } from './namespaces/namespace-config.js';
import { DEFAULT_QUERY_TIMEOUT_MS } from './store/postgres-timeouts.js';
import { DEFAULT_WRITE_BATCH } from './transports/write-batcher.js';

/** Transports this version can serve. */
export const TRANSPORTS = ['ws', 'http', 'sse', 'pusher', 'grpc', 'web'] as const;
export type TransportName = (typeof TRANSPORTS)[number];

const positiveInt = () => z.coerce.number().int().positive();
const port = () => z.coerce.number().int().min(0).max(65535);
const httpUrl = () => z.url({ protocol: /^https?$/ });

/** One Pusher Channels app: what pusher-js calls the key, and what server SDKs sign with. */
const pusherAppSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).describe('The app id of the HTTP API (`/apps/:id/...`).'),
  key: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).describe('What pusher-js connects with (`/app/:key`).'),
  secret: z.string().min(8).describe('What server SDKs sign requests with, and private channel auth is checked against.'),
  channelPrefix: z
    .string()
    .regex(/^$|^[A-Za-z0-9_.@,+-]{1,32}:$/)
    .default('')
    .describe(
      "Empty (at most one app): the app's users are Switchboard's users and its `#server-to-user-<id>` is their inbox. Otherwise its user channels are its own; channels live under `pusher:<app id>:` either way (docs/pusher.md).",
    ),
  webhooks: z.array(httpUrl()).default(() => []).describe("URLs that receive this app's webhooks in Pusher's format."),
  subscribeHook: z
    .string()
    .regex(HOOK_BACKEND_NAME)
    .nullable()
    .default(null)
    .describe(
      "A backend in hooks.backends whose subscribe hook decides private- and presence- subscriptions instead of the client's auth signature (its info is the presence user_info); null: signatures (docs/pusher.md).",
    ),
});

/**
 * Every setting: its type, its validation and its default, in one place. Overridden by a
 * config file, then env, then flags (see `loadConfig`); docs/configuration.md lists them
 * all (a test checks it does).
 */
/** One app backend the hooks call: over HTTP (signed JSON POSTs) or gRPC (proto/proxy.proto). */
const hookBackendSchema = z.strictObject({
  http: z
    .strictObject({
      url: httpUrl().describe('Base URL; each hook POSTs to `<url>/<hook>` (`/connect`, `/refresh`, `/subscribe`, `/publish`, `/rpc`).'),
      secret: z.string().min(16).describe('HMAC-SHA256 key the backend verifies `X-Switchboard-Signature` with, at least 16 characters.'),
    })
    .optional()
    .describe('Call the backend with JSON POSTs (docs/backend-hooks.md).'),
  grpc: z
    .strictObject({ address: z.string().min(1).describe('`host:port` of a server implementing switchboard.proxy.v1.SwitchboardProxy (plaintext).') })
    .optional()
    .describe('Call the backend over gRPC (proto/proxy.proto).'),
  timeoutMs: positiveInt().default(1000).describe('Longest wait for an answer, retries and queueing included; then the client gets `unavailable`.'),
  maxConcurrent: positiveInt().default(64).describe('Calls in flight to this backend at once; more wait (within timeoutMs).'),
  retries: z.coerce.number().int().min(0).max(5).default(1).describe('Extra attempts after a failed connection or a 5xx/UNAVAILABLE, for connect, refresh and subscribe only.'),
});
const backendName = z.string().regex(HOOK_BACKEND_NAME);

const hooksSchema = z
  .strictObject({
    backends: z.record(backendName, hookBackendSchema).default(() => ({})).describe('The app backends hooks may call, by name.'),
    connect: backendName.nullable().default(null).describe('Backend asked on every new connection (/ws, SSE, gRPC streams); null: none.'),
    refresh: backendName.nullable().default(null).describe('Backend asked to extend a connection before the expiry its connect hook gave; null: the session ends then.'),
    rpc: backendName.nullable().default(null).describe('Backend that answers the `rpc` command; null: `rpc` is `unavailable`.'),
    channelDefault: channelHooksSchema
      .default(() => ({}))
      .describe('Subscribe and publish hooks of channels whose namespace has no entry in `namespaces` (and of channels without a namespace); a namespace sets its own in `namespaces.<ns>.hooks`.'),
    forwardHeaders: z.array(z.string().min(1).max(64)).default(() => []).describe('Request headers (lower case) the connect hook is sent.'),
    forwardCookies: z.array(z.string().min(1).max(64)).default(() => []).describe('Cookies the connect hook is sent.'),
    refreshBeforeMs: positiveInt().default(10_000).describe('How long before a hooked connection expires the refresh hook is asked.'),
    rpcPerSecond: positiveInt().default(10).describe('`rpc` commands one user may send per second, on every wire together.'),
    rpcBurst: positiveInt().default(20).describe('`rpc` commands one user may send at once above the rate.'),
  })
  .prefault({})
  .describe("The app's backend decides: connect, refresh, subscribe, publish and RPC hooks (docs/backend-hooks.md).");

export const configSchema = z.strictObject({
  host: z.string().min(1).default('127.0.0.1').describe('Address to listen on. `open` auth refuses anything but loopback.'),
  port: port().default(8080).describe('HTTP and WebSocket port; 0 picks a free one.'),
  grpcPort: port().default(50051).describe('gRPC (transport `grpc`) listens on its own port, on `host`; 0 for any free port.'),
  databaseUrl: z
    .string()
    .min(1)
    .default('sqlite:./data/switchboard.db')
    .describe('`sqlite:PATH`, a bare path, or `postgres://...`; created and migrated on start.'),
  redisUrl: z
    .string()
    .min(1)
    .nullable()
    .default(null)
    .describe('Redis for cross-node fan-out and presence. Null: the in-process broker (one node).'),
  auth: z
    .enum(['open', 'accounts', 'jwt'])
    .default('open')
    .describe('`open`: clients name themselves (development only); `accounts`: built-in accounts; `jwt`: tokens from your backend.'),
  jwt: z
    .strictObject({
      secret: z
        .string()
        .min(1)
        .nullable()
        .default(null)
        .describe('HS256 key, at least 32 characters. Auth "accounts": signs access tokens (null: a random key kept in the database).'),
      publicKey: z.string().min(1).nullable().default(null).describe('PEM public key (RS256 or ES256 by key type), auth "jwt" only.'),
      jwksUrl: httpUrl().nullable().default(null).describe('JWKS URL (RS256/ES256), auth "jwt" only.'),
      audience: z.string().min(1).nullable().default(null).describe('Required `aud`, when set.'),
      issuer: z.string().min(1).nullable().default(null).describe('Required `iss`, when set.'),
      clockToleranceSeconds: z.coerce.number().int().min(0).default(5).describe('Seconds of clock skew tolerated on `exp` and `nbf`.'),
    })
    .prefault({})
    .describe('Token verification. Auth "jwt" checks tokens with exactly one of `secret`, `publicKey` and `jwksUrl`.'),
  accounts: z
    .strictObject({
      accessTokenTtlSeconds: positiveInt().default(900).describe('Lifetime of the access tokens the server signs.'),
      refreshTokenTtlSeconds: positiveInt().default(30 * 24 * 3600).describe('Lifetime of refresh tokens (30 days).'),
      openRegistration: z.boolean().default(true).describe('Anyone may register; false: only API-key holders create users.'),
    })
    .prefault({})
    .describe('Built-in accounts (auth "accounts").'),
  apiKeys: z
    .array(z.string())
    .default(() => [])
    .describe("Server API keys (the app's backend, /metrics, /admin), each at least 16 characters; several at once, so they can be rotated."),
  ticketTtlMs: positiveInt().default(30_000).describe('How long a connect ticket (`/ws?ticket=`) stays valid; it is single-use either way.'),
  allowedOrigins: z
    .array(z.string().min(1))
    .default(() => [])
    .describe("Browser origins allowed to open /ws and /sse besides the server's own (`*`: any); requests without Origin are not affected."),
  trustProxy: z
    .array(z.string().min(1))
    .default(() => [])
    .describe('Reverse proxies whose X-Forwarded-For is believed, so per-IP limits count clients; empty: the header is ignored.'),
  allowOpenAuthOnNetwork: z.boolean().default(false).describe('Serve `open` auth beyond loopback anyway (logged loudly), for demos on a trusted LAN.'),
  transports: z
    .array(z.enum(TRANSPORTS))
    .min(1)
    .default(() => [...TRANSPORTS])
    .describe('Which endpoints this node serves; `all` (env, flag) means every one.'),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info').describe('Least severe log level written.'),
  logFormat: z
    .enum(['json', 'pretty'])
    .default('json')
    .describe('`json`: one object per line, for a log shipper; `pretty`: one readable line, for a terminal.'),
  metricsPort: port()
    .nullable()
    .default(null)
    .describe('Serve /metrics alone on this port (on `host`) without an API key; null: on the main port, behind an API key.'),
  eventLog: z
    .strictObject({
      path: z.string().min(1).nullable().default(null).describe('The JSON-lines file (`--event-log PATH`); null: off.'),
      flushMs: positiveInt().default(1000).describe('Buffered lines are written at least this often, and at shutdown.'),
      maxBytes: z
        .coerce.number()
        .int()
        .min(1024)
        .default(256 * 1024 * 1024)
        .describe('The file is rotated (to PATH.1, PATH.2 ...) when it would grow past this.'),
      keep: z.coerce.number().int().min(0).max(100).default(5).describe('Rotated files kept.'),
      kinds: z
        .array(z.enum(['message', 'presence', 'lifecycle']))
        .min(1)
        .default(['message'])
        .describe(
          'What is written: `message` (every committed log event: messages, edits, deletes, reactions), `presence` (join/add/remove/leave), `lifecycle` (channel created/deleted, node start/close). Default `["message"]`, as before kinds existed.',
        ),
    })
    .prefault({})
    .describe('An append-only file of every event this node commits.'),
  drain: z
    .strictObject({
      reconnectSpreadMs: z
        .coerce.number()
        .int()
        .min(0)
        .max(600_000)
        .default(5000)
        .describe('Clients told to reconnect elsewhere spread their reconnects over this window; 0: their own backoff.'),
    })
    .prefault({})
    .describe('Graceful drain on SIGTERM (docs/operations.md).'),
  cluster: z
    .strictObject({
      heartbeatMs: positiveInt().default(1000).describe('How often a node heartbeats to Redis and checks both its connections.'),
      nodeTimeoutMs: positiveInt()
        .default(5000)
        .describe('A node silent this long is reaped: its sessions leave on every node. At least twice heartbeatMs.'),
      stallTimeoutMs: positiveInt()
        .default(2000)
        .describe(
          'How long a Redis connection may wait for any reply before it counts as stalled (a silent partition): its commands fail, and it is dropped and reconnected. Also the Redis command timeout.',
        ),
    })
    .prefault({})
    .describe('Timing of a Redis cluster: heartbeats, reaping dead nodes, noticing a stalled link (docs/operations.md).'),
  postgres: z
    .strictObject({
      queryTimeoutMs: z
        .coerce.number()
        .int()
        .min(1000)
        .default(DEFAULT_QUERY_TIMEOUT_MS)
        .describe(
          "Longest wait for one query's answer, at least 1000: then it fails with `unavailable` and its connection is replaced (PostgreSQL out of reach silently). The server cancels a statement at 90% of it and ends a transaction left idle this long. Migrations are exempt.",
        ),
    })
    .prefault({})
    .describe('PostgreSQL connections, with a `postgres://` databaseUrl (docs/operations.md).'),
  batching: z
    .strictObject({
      maxWriteDelayMs: z
        .coerce.number()
        .int()
        .min(0)
        .max(1000)
        .default(DEFAULT_WRITE_BATCH.maxDelayMs)
        .describe(
          'Under load, a /ws flush waits as long as the previous one took, at most this long, so frames leave several per write; at low load nothing waits. 0: never delayed.',
        ),
      maxFramesPerWrite: positiveInt()
        .default(DEFAULT_WRITE_BATCH.maxFramesPerWrite)
        .describe('Frames one /ws socket write carries at most; a connection with this many waiting is written at once.'),
    })
    .prefault({})
    .describe('The load-adaptive write delay on /ws and SSE (docs/configuration.md).'),
  presence: z
    .strictObject({
      occupancyAbove: positiveInt()
        .default(DEFAULT_PRESENCE_SETTINGS.occupancyAbove)
        .describe(
          "Distinct users in a channel above which its subscribers get only the count (`occupancy` frames), no join/leave frames; the member list is paged with the `presence` command. A chat channel with more members than this does not carry its members' `status` either (follow them in a users list).",
        ),
      occupancyIntervalMs: positiveInt()
        .default(DEFAULT_PRESENCE_SETTINGS.occupancyIntervalMs)
        .describe('A channel above occupancyAbove gets its count at most this often (per node), when it changed.'),
    })
    .prefault({})
    .describe("Channel presence: a tick's joins and leaves go out as one frame; large channels get counts (docs/protocol.md)."),
  heartbeatMs: positiveInt()
    .default(15_000)
    .describe('WebSocket ping interval; a client silent for two is dropped and shown offline (within 30 s by default).'),
  shutdownTimeoutMs: positiveInt().default(10_000).describe('Longest wait for clients and commits on shutdown before exiting anyway.'),
  webhooks: z
    .strictObject({
      urls: z.array(httpUrl()).default(() => []).describe('Receivers (env SWITCHBOARD_WEBHOOK_URLS, comma-separated); empty: no webhooks.'),
      secret: z
        .string()
        .nullable()
        .default(null)
        .describe('HMAC-SHA256 key shared with the receivers, at least 16 characters (env SWITCHBOARD_WEBHOOK_SECRET).'),
      timeoutMs: positiveInt().default(10_000).describe('How long one POST may take.'),
      maxAttempts: positiveInt()
        .default(12)
        .describe('Attempts per event and URL, the first included; after that it is kept in the outbox as failed.'),
      retryBaseMs: positiveInt().default(1000).describe('First retry delay; doubled per attempt up to retryMaxMs.'),
      retryMaxMs: positiveInt().default(10 * 60_000).describe('Longest retry delay.'),
    })
    .prefault({})
    .describe('Signed POSTs to the app on channel and member changes and new messages (docs/webhooks.md).'),
  pusher: z
    .strictObject({
      apps: z
        .array(pusherAppSchema)
        .default(() => [])
        .describe('Apps by id, key and secret; env PUSHER_APP_ID, PUSHER_APP_KEY, PUSHER_APP_SECRET give one.'),
      activityTimeoutSeconds: positiveInt()
        .default(120)
        .describe('Seconds of silence before either side pings (sent to clients as `activity_timeout`).'),
      pongTimeoutMs: positiveInt().default(30_000).describe('How long a ping waits for its pong before the connection is closed with 4201.'),
      maxPresenceMembers: positiveInt().default(100).describe('Distinct users per presence channel.'),
      clientEventsPerSecond: positiveInt().default(10).describe('Client events a connection may send per second; more get error 4301.'),
      maxSubscriptionsPerConnection: positiveInt()
        .default(1000)
        .describe('Channels one Pusher connection may subscribe to; one more gets `pusher:subscription_error` LimitReached (429).'),
    })
    .prefault({})
    .describe('The Pusher Channels protocol (`/app/:key` and `/apps/:id/...`; docs/pusher.md).'),
  namespaces: namespacesSchema,
  retention: z
    .strictObject({
      pruneIntervalMs: positiveInt().default(10_000).describe('How often durable channels bounded by maxAge or maxCount are pruned.'),
      pruneBatch: positiveInt().default(500).describe('Events deleted per transaction while pruning: small, so publishing never waits long.'),
    })
    .prefault({})
    .describe('The background pruning of bounded durable channels.'),
  files: z
    .strictObject({
      storage: z.enum(['local', 's3']).default('local').describe('`local`: under `files.directory`; `s3`: any S3-compatible service (`files.s3`).'),
      directory: z
        .string()
        .min(1)
        .nullable()
        .default(null)
        .describe('Stored files (local storage) and unfinished uploads (both storages); null: `files/` beside the SQLite database, or `./data/files`.'),
      s3: z
        .strictObject({
          bucket: z.string().min(1).nullable().default(null).describe('The bucket (required with storage `s3`).'),
          prefix: z.string().default('').describe('Prepended to every key, so one bucket can hold other things too.'),
          region: z.string().min(1).default('us-east-1').describe('The region the client signs for.'),
          endpoint: httpUrl().nullable().default(null).describe("An S3-compatible service's URL (MinIO, R2, Ceph ...); null: AWS."),
          forcePathStyle: z.boolean().default(false).describe('The bucket in the path rather than the host name, as most S3-compatible services want.'),
          accessKeyId: z.string().min(1).nullable().default(null).describe("Null (with secretAccessKey): the SDK's default chain (environment, shared files, instance roles)."),
          secretAccessKey: z.string().min(1).nullable().default(null).describe('The secret of accessKeyId.'),
        })
        .prefault({})
        .describe('The bucket, with storage `s3`.'),
      maxFileBytes: positiveInt().default(100 * 1024 * 1024).describe('Largest file, any upload; larger: 413 `too_large` before the body is read.'),
      maxSingleUploadBytes: positiveInt().default(16 * 1024 * 1024).describe('Largest single-request upload (`POST /api/files`); larger files go resumable (tus).'),
      quotaBytesPerUser: z.coerce.number().int().min(0).default(1024 * 1024 * 1024).describe("Bytes one user's files take together; 0: no quota."),
      uploadsPerMinute: z.coerce.number().int().min(0).default(30).describe('Uploads one user starts per minute on a node; more: 429 `rate_limited`; 0: no limit.'),
      urlTtlSeconds: positiveInt().default(600).describe('A signed download link works at least this long (and at most 1.5 times it).'),
      urlSecret: z
        .string()
        .nullable()
        .default(null)
        .describe('The download-link signing secret, at least 32 characters, the same on every node; null: one is made and kept in the database.'),
      thumbnailSize: positiveInt().default(320).describe("A thumbnail's longest side, in pixels."),
      maxImagePixels: positiveInt().default(50_000_000).describe('Images with more pixels get no thumbnail and download rather than show (decompression bombs).'),
      gcGraceSeconds: z.coerce.number().int().min(0).default(24 * 3600).describe('How long a file no message refers to (never attached, or its message deleted) is kept.'),
      gcIntervalSeconds: z.coerce.number().int().min(0).default(3600).describe('How often a node removes unreferenced files and abandoned uploads; 0: never on its own.'),
      resumableExpirySeconds: positiveInt().default(24 * 3600).describe('How long an unfinished resumable upload may be resumed.'),
    })
    .prefault({})
    .describe('Uploads, attachments and downloads (docs/files.md).'),
  hooks: hooksSchema,
  limits: z
    .strictObject({
      maxFrameBytes: positiveInt().default(64 * 1024).describe('Largest WebSocket frame accepted; larger ones close the connection with 1009.'),
      maxTextLength: positiveInt().default(DEFAULT_LIMITS.maxTextLength).describe('Longest message text, in characters; longer: `too_large`, nothing stored.'),
      maxSubscriptionsPerSession: positiveInt().default(DEFAULT_LIMITS.maxSubscriptionsPerSession).describe('Subscriptions per connection; more: `too_many_subscriptions`.'),
      maxHistoryPage: positiveInt().default(DEFAULT_LIMITS.maxHistoryPage).describe('Largest page a history request may ask for; larger ones are clamped.'),
      sendQueueBytes: positiveInt()
        .default(4 * 1024 * 1024)
        .describe('Bytes queued for one client before it is disconnected as a slow consumer (4408).'),
      messagesPerSecond: positiveInt().default(100).describe('Frames a connection may send per second, on average.'),
      messageBurst: positiveInt().default(200).describe('Frames a connection may send at once above the rate.'),
      floodCloseAfter: positiveInt()
        .default(100)
        .describe('Frames refused for rate within floodWindowMs past which a /ws or Pusher connection is closed (4429 / 4301).'),
      floodWindowMs: positiveInt().default(10_000).describe('The window floodCloseAfter counts refused frames in.'),
      authTimeoutMs: positiveInt().default(10_000).describe('A connection that has not authenticated by then is closed (4401).'),
      maxCommitBatch: positiveInt().default(1000).describe('Most appends written in one transaction.'),
      connectionsPerIp: positiveInt()
        .default(256)
        .describe(
          'Connections one address may hold (an IPv6 address: its whole /64), every wire together (/ws and Pusher sockets, SSE and gRPC streams, connections without a request yet); more are refused.',
        ),
      headerTimeoutMs: positiveInt()
        .default(10_000)
        .describe('A connection that has not completed a request by then (HTTP headers, a first gRPC call) is closed (HTTP 408).'),
      grpcStreamsPerConnection: positiveInt()
        .default(100)
        .describe('gRPC streams one HTTP/2 connection may have open at once; the client holds more until one ends.'),
      maxSessionsPerUser: positiveInt()
        .default(DEFAULT_LIMITS.maxSessionsPerUser)
        .describe(
          'Live sessions one user may hold on a node (/ws connections, SSE streams and gRPC streams together); one more is refused with `too_many_sessions` (HTTP 429, close 4429, RESOURCE_EXHAUSTED) before it opens.',
        ),
      httpBodyBytes: positiveInt().default(1024 * 1024).describe('Largest HTTP request body on any route (the Pusher HTTP API reads at most 256 KiB); larger: 413 too_large, then a lingering close.'),
      authAttemptsPerMinute: positiveInt().default(30).describe('Register/login/refresh attempts per minute from one IP address; more get 429.'),
    })
    .prefault({})
    .describe('Limits that protect the node and its clients.'),
});

/** The settings of a node: what `loadConfig` returns (frozen), every field filled in. */
export type Config = z.output<typeof configSchema>;

/** Every setting at its default: the schema's defaults, parsed from nothing. */
export const defaultConfig: Readonly<Config> = deepFreeze(configSchema.parse({}));

// Each module's own slice, so the composition root can hand a module only what it reads.
export type JwtConfig = Config['jwt'];
export type AccountsConfig = Config['accounts'];
/** What src/auth reads. */
export type AuthConfig = Pick<Config, 'auth' | 'jwt' | 'accounts' | 'apiKeys' | 'ticketTtlMs'>;
export type EventLogConfig = Config['eventLog'];
/** What src/ops reads. */
export type OpsConfig = Pick<Config, 'host' | 'metricsPort' | 'eventLog'>;
export type DrainConfig = Config['drain'];
export type WebhooksConfig = Config['webhooks'];
export type PusherConfig = Config['pusher'];
export type PusherAppConfig = PusherConfig['apps'][number];
export type LimitsConfig = Config['limits'];
export type NamespacesConfig = Config['namespaces'];
/** What src/files reads. */
export type FilesConfig = Config['files'];
/** What src/hooks reads. */
export type HooksConfig = Config['hooks'];
export type HookBackendConfig = HooksConfig['backends'][string];

/**
 * Bad settings: one sentence per problem, each naming its setting. `message` is the
 * problems one per line; the CLI prints each and exits with 1.
 */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: string | readonly string[]) {
    const list = typeof problems === 'string' ? [problems] : [...problems];
    super(list.join('\n'));
    this.name = 'ConfigError';
    this.problems = Object.freeze(list);
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

/**
 * Merges file, env and flags over the defaults; validates once; returns a frozen Config.
 * Throws a ConfigError that lists every problem, not just the first.
 */
export function loadConfig(sources: ConfigSources = {}): Readonly<Config> {
  let merged: Record<string, unknown> = {};
  if (sources.file) merged = deepMerge(merged, readConfigFile(sources.file));
  merged = deepMerge(merged, fromEnv(sources.env ?? {}));
  merged = deepMerge(merged, fromFlags(sources.flags ?? {}));
  if (sources.overrides) merged = deepMerge(merged, sources.overrides as Record<string, unknown>);

  const parsed = configSchema.safeParse(merged);
  if (parsed.success) {
    const problems = contradictions(parsed.data, new Set());
    if (problems.length > 0) throw new ConfigError(problems);
    return deepFreeze(parsed.data);
  }
  const problems = parsed.error.issues.map((issue) => describeIssue(issue, merged));
  // The settings at fault set aside (their defaults stand in), the rest still parses, so
  // the contradictions among the others are reported too. Checks that read a setting set
  // aside are skipped: its default is not what was meant.
  const faulty = new Set(parsed.error.issues.flatMap(faultySettings));
  const rest = configSchema.safeParse(without(merged, faulty));
  if (rest.success) problems.push(...contradictions(rest.data, faulty));
  throw new ConfigError(problems);
}

/** One rule across settings: the top-level settings it reads, and its sentence when broken. */
interface CrossCheck {
  readonly reads: readonly (keyof Config)[];
  check(config: Config): string | null;
}

/** Settings that contradict each other or leave a hole: one sentence each. */
const CROSS_CHECKS: readonly CrossCheck[] = [
  {
    reads: ['auth', 'jwt'],
    check(config) {
      const count = jwtKeys(config);
      if (config.auth !== 'jwt' || count > 0) return null;
      return 'Auth mode "jwt" needs a key: set SWITCHBOARD_JWT_SECRET (HS256), SWITCHBOARD_JWT_PUBLIC_KEY (RS256/ES256) or SWITCHBOARD_JWKS_URL.';
    },
  },
  {
    reads: ['auth', 'jwt'],
    check: (config) =>
      config.auth === 'jwt' && jwtKeys(config) > 1
        ? 'Auth mode "jwt" takes exactly one of jwt.secret, jwt.publicKey and jwt.jwksUrl, so a token can never be checked with the wrong kind of key.'
        : null,
  },
  {
    reads: ['auth', 'jwt'],
    check: (config) =>
      config.auth !== 'jwt' && (config.jwt.publicKey !== null || config.jwt.jwksUrl !== null)
        ? `jwt.publicKey and jwt.jwksUrl apply to auth "jwt" only; auth is "${config.auth}".`
        : null,
  },
  {
    reads: ['jwt'],
    check: (config) =>
      config.jwt.secret !== null && config.jwt.secret.length < 32
        ? 'jwt.secret (SWITCHBOARD_JWT_SECRET) must be at least 32 characters; a short HS256 secret can be guessed.'
        : null,
  },
  {
    reads: ['apiKeys'],
    check: (config) =>
      config.apiKeys.some((key) => key.length < 16) ? 'Every API key (SWITCHBOARD_API_KEY) must be at least 16 characters.' : null,
  },
  // Pusher apps are found by id (HTTP API) and key (WebSocket) and must not share channels.
  ...(['id', 'key', 'channelPrefix'] as const).map(
    (field): CrossCheck => ({
      reads: ['pusher'],
      check: ({ pusher: { apps } }) =>
        new Set(apps.map((app) => app[field])).size !== apps.length ? `Every Pusher app needs its own ${field}; two apps share one.` : null,
    }),
  ),
  {
    reads: ['transports', 'grpcPort', 'port'],
    check: (config) =>
      config.transports.includes('grpc') && config.grpcPort !== 0 && config.grpcPort === config.port
        ? `port and grpcPort are both ${config.port}: gRPC needs a port of its own (GRPC_PORT).`
        : null,
  },
  {
    reads: ['cluster'],
    check: ({ cluster }) =>
      cluster.nodeTimeoutMs < 2 * cluster.heartbeatMs
        ? `cluster.nodeTimeoutMs (${cluster.nodeTimeoutMs}) must be at least twice cluster.heartbeatMs (${cluster.heartbeatMs}), or a node that misses one beat is taken for dead.`
        : null,
  },
  {
    reads: ['hooks', 'namespaces', 'pusher'],
    check: ({ hooks, namespaces, pusher }) => {
      const channelHooks = [hooks.channelDefault, ...Object.values(namespaces).map((namespace) => namespace.hooks)];
      const named = [
        hooks.connect,
        hooks.refresh,
        hooks.rpc,
        ...channelHooks.flatMap((c) => [c.subscribe, c.publish]),
        ...pusher.apps.map((app) => app.subscribeHook),
      ];
      const unknown = named.find((name) => name != null && !Object.hasOwn(hooks.backends, name));
      return unknown === undefined ? null : `Hook backend "${unknown}" is used but not defined in hooks.backends.`;
    },
  },
  {
    reads: ['hooks'],
    check: ({ hooks }) => {
      const wrong = Object.entries(hooks.backends).find(([, backend]) => (backend.http === undefined) === (backend.grpc === undefined));
      return wrong ? `Hook backend "${wrong[0]}" needs exactly one of http or grpc.` : null;
    },
  },
  {
    reads: ['hooks'],
    check: ({ hooks }) =>
      hooks.refresh !== null && hooks.connect === null ? 'hooks.refresh extends what the connect hook granted: set hooks.connect too.' : null,
  },
  {
    reads: ['webhooks'],
    check: (config) =>
      config.webhooks.urls.length > 0 && (config.webhooks.secret ?? '').length < 16
        ? 'Webhooks need a signing secret of at least 16 characters: set webhooks.secret (SWITCHBOARD_WEBHOOK_SECRET).'
        : null,
  },
  {
    reads: ['files'],
    check: ({ files }) =>
      files.storage === 's3' && files.s3.bucket === null ? 'files.storage is "s3" but files.s3.bucket is not set.' : null,
  },
  {
    reads: ['files'],
    check: ({ files: { s3 } }) =>
      (s3.accessKeyId === null) !== (s3.secretAccessKey === null)
        ? 'files.s3.accessKeyId and files.s3.secretAccessKey go together: set both, or neither for the SDK\'s default chain.'
        : null,
  },
  {
    reads: ['files'],
    check: ({ files }) =>
      files.urlSecret !== null && files.urlSecret.length < 32
        ? 'files.urlSecret (SWITCHBOARD_FILES_URL_SECRET) must be at least 32 characters; a short signing secret can be guessed.'
        : null,
  },
  {
    reads: ['files'],
    check: ({ files }) =>
      files.maxSingleUploadBytes > files.maxFileBytes
        ? `files.maxSingleUploadBytes (${files.maxSingleUploadBytes}) is larger than files.maxFileBytes (${files.maxFileBytes}), which every upload obeys.`
        : null,
  },
  {
    reads: ['auth', 'host', 'allowOpenAuthOnNetwork'],
    check: (config) =>
      config.auth === 'open' && !isLoopback(config.host) && !config.allowOpenAuthOnNetwork
        ? `Auth mode "open" lets anyone claim any name, so it listens on loopback only; host ${config.host} needs auth "accounts" or "jwt" (or allowOpenAuthOnNetwork: true).`
        : null,
  },
];

function jwtKeys(config: Config): number {
  const { secret, publicKey, jwksUrl } = config.jwt;
  return [secret, publicKey, jwksUrl].filter((key) => key !== null).length;
}

/** Every broken cross-setting rule, skipping those that read a setting in `skip`. */
function contradictions(config: Config, skip: ReadonlySet<string>): string[] {
  return CROSS_CHECKS.filter((rule) => !rule.reads.some((name) => skip.has(name)))
    .map((rule) => rule.check(config))
    .filter((problem): problem is string => problem !== null);
}

/** The top-level settings an issue is about (unknown keys at the root are their own names). */
function faultySettings(issue: z.core.$ZodIssue): string[] {
  const top = issue.path[0];
  if (top !== undefined) return [String(top)];
  return issue.code === 'unrecognized_keys' ? issue.keys : [];
}

/** A copy of the merged settings without the named top-level ones. */
function without(settings: Record<string, unknown>, names: ReadonlySet<string>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(settings).filter(([key]) => !names.has(key)));
}

/** Settings an earlier version read, with the sentence that names what replaced them. */
const RETIRED_SETTINGS: Readonly<Record<string, string>> = {
  'hooks.channels':
    "hooks.channels is replaced: set a namespace's hooks in namespaces.<ns>.hooks ({\"subscribe\": …, \"publish\": …}) and every other channel's in hooks.channelDefault.",
};

function describeIssue(issue: z.core.$ZodIssue, settings: Record<string, unknown>): string {
  if (issue.code === 'unrecognized_keys') {
    const names = issue.keys.map((key) => [...issue.path, key].join('.'));
    const retired = names.map((name) => RETIRED_SETTINGS[name]).find((sentence) => sentence !== undefined);
    if (retired) return retired;
    return `Unknown setting ${names.join(', ')}: docs/configuration.md lists every setting.`;
  }
  const name = issue.path.join('.') || '(root)';
  // A number read from text (a file, env, a flag) that is not one: say what was given.
  if (issue.code === 'invalid_type' && issue.expected === 'number') {
    const given = issue.path.reduce<unknown>((value, key) => (value as Record<PropertyKey, unknown> | undefined)?.[key], settings);
    return `Invalid setting ${name}: expected a number, not ${JSON.stringify(given)}.`;
  }
  return `Invalid setting ${name}: ${issue.message}.`;
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
    const value: unknown = JSON.parse(stripJsonComments(text));
    if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
    return value as Record<string, unknown>;
  } catch (error) {
    throw new ConfigError(`Config file ${path} is not a JSON object: ${withLineAndColumn((error as Error).message, text)}.`);
  }
}

/**
 * JSON with comments (JSONC, as `switchboard config init` writes it) made plain JSON:
 * line comments (`//`), block comments, and a comma before a closing bracket (what
 * commenting out the last setting leaves) become spaces. Strings are kept as they are,
 * and so is every other character's position (newlines stay), so a parse error points
 * into the file as written.
 *
 * @example
 *   JSON.parse(stripJsonComments('{ "port": 8080, // HTTP\n}')); // { port: 8080 }
 */
export function stripJsonComments(text: string): string {
  const out = text.split('');
  const blank = (from: number, to: number) => {
    for (let i = from; i < to; i++) if (out[i] !== '\n' && out[i] !== '\r') out[i] = ' ';
  };
  /** The last comma outside strings and comments, while only whitespace has followed it. */
  let pendingComma = -1;
  let i = 0;
  while (i < text.length) {
    const char = text[i]!;
    if (char === '"') {
      pendingComma = -1;
      i++;
      while (i < text.length && text[i] !== '"' && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
      i++;
    } else if (char === '/' && text[i + 1] === '/') {
      const end = text.indexOf('\n', i);
      const stop = end === -1 ? text.length : end;
      blank(i, stop);
      i = stop;
    } else if (char === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end === -1 ? text.length : end + 2;
      blank(i, stop);
      i = stop;
    } else {
      if (char === ',') pendingComma = i;
      else if ((char === '}' || char === ']') && pendingComma !== -1) out[pendingComma] = ' ';
      if (!/\s/.test(char) && char !== ',') pendingComma = -1;
      i++;
    }
  }
  return out.join('');
}

/** Adds `(line L column C)` to a JSON.parse message that gives only a position (Node.js 20). */
function withLineAndColumn(message: string, text: string): string {
  const match = /at position (\d+)/.exec(message);
  if (!match || /\(line \d+/.test(message)) return message;
  const before = text.slice(0, Number(match[1]));
  const line = before.split('\n').length;
  const column = before.length - before.lastIndexOf('\n');
  return `${message} (line ${line} column ${column})`;
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
  const files: Record<string, unknown> = {};
  if (env.SWITCHBOARD_FILES_STORAGE) files.storage = env.SWITCHBOARD_FILES_STORAGE;
  if (env.SWITCHBOARD_FILES_DIR) files.directory = env.SWITCHBOARD_FILES_DIR;
  if (env.SWITCHBOARD_FILES_URL_SECRET) files.urlSecret = env.SWITCHBOARD_FILES_URL_SECRET;
  const s3: Record<string, unknown> = {};
  if (env.SWITCHBOARD_S3_BUCKET) s3.bucket = env.SWITCHBOARD_S3_BUCKET;
  if (env.SWITCHBOARD_S3_ENDPOINT) s3.endpoint = env.SWITCHBOARD_S3_ENDPOINT;
  if (env.SWITCHBOARD_S3_REGION) s3.region = env.SWITCHBOARD_S3_REGION;
  if (env.SWITCHBOARD_S3_ACCESS_KEY_ID) s3.accessKeyId = env.SWITCHBOARD_S3_ACCESS_KEY_ID;
  if (env.SWITCHBOARD_S3_SECRET_ACCESS_KEY) s3.secretAccessKey = env.SWITCHBOARD_S3_SECRET_ACCESS_KEY;
  if (Object.keys(s3).length > 0) files.s3 = s3;
  if (Object.keys(files).length > 0) out.files = files;
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
