import { Redis, type RedisOptions } from 'ioredis';
import { SwitchboardError } from '../core/errors.js';
import type { ChannelId, SessionId } from '../core/types.js';
import { ClusterBroker, type ClusterBrokerOptions } from './cluster-broker.js';
import { RedisPresence } from './redis-presence.js';
import { RedisVolatileLog } from './redis-volatile-log.js';

export interface RedisBrokerOptions extends Omit<ClusterBrokerOptions, 'prefix'> {
  /**
   * `redis://[:password@]host:port[/db]`. A `prefix` query parameter (default
   * `switchboard:`) names the cluster: nodes share topics and presence only with nodes
   * of the same prefix, so several clusters (or test runs) can share one Redis.
   */
  readonly url: string;
  /** See RedisPresence: defaults 1 s and 5 s. Both connections are checked every `heartbeatMs`. */
  readonly heartbeatMs?: number;
  readonly nodeTimeoutMs?: number;
  /**
   * How long a connection may wait for Redis to answer before it counts as stalled: its
   * commands fail, and it is dropped and reconnected as if it had been reset. Default 2 s.
   * A silent partition (the connection open, no bytes moving) is noticed within
   * `heartbeatMs + stallTimeoutMs`, since each connection sends something every beat.
   */
  readonly stallTimeoutMs?: number;
}

/**
 * Cross-node fan-out over Redis pub/sub, one topic per channel (SUBSCRIBE on watch), and
 * presence in Redis. Per-channel topics let Redis route each event only to nodes with a
 * subscriber for it, instead of every node decoding every event of the cluster; the
 * cost, a SUBSCRIBE per newly watched channel, is paid once per channel and node.
 *
 * Two connections: Redis reserves a subscribing connection for pub/sub. Neither queues
 * commands while disconnected: a publish fails at once (counted; the store has the event
 * and the other nodes heal from it) instead of piling up in memory during an outage.
 *
 * A link can also fail silently: the connection stays open and nothing comes back (a
 * partition, a dead middlebox), and no `close` or `ready` ever fires. So each connection
 * says something every beat (the presence heartbeat on one, a PING on the subscriber),
 * and one that waits `stallTimeoutMs` for any byte is dropped (ioredis's socketTimeout):
 * from there a stall takes the path of a reset, down to the reconnect whose `ready`
 * resubscribes, resyncs, re-sends and writes this node's presence back.
 */
export class RedisBroker extends ClusterBroker {
  readonly presence: RedisPresence;
  readonly volatile: RedisVolatileLog;
  readonly #url: string;
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  readonly #stallTimeoutMs: number;
  /** Connections dropped for a stall and not yet back, with when that was noticed. */
  readonly #stalled = new Map<Redis, number>();
  #pingTimer: NodeJS.Timeout | null = null;
  #lastErrorLog = 0;

  constructor(options: RedisBrokerOptions) {
    const { url, prefix } = splitPrefix(options.url);
    super({ ...options, prefix });
    this.#url = url;
    this.#stallTimeoutMs = options.stallTimeoutMs ?? 2000;
    const common: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      autoResendUnfulfilledCommands: false,
      connectTimeout: 5000,
      // A command written just as the connection drops would otherwise wait for Redis to
      // come back: a subscribe (presence) or /readyz would hang for the whole outage.
      commandTimeout: this.#stallTimeoutMs,
      // ... and the connection itself is dropped: a stall must end in a reconnect.
      socketTimeout: this.#stallTimeoutMs,
      // Reconnect quickly once Redis is back: delivery across nodes waits for it.
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    };
    this.#commands = new Redis(url, { ...common, connectionName: `switchboard-${this.nodeId}` });
    this.#subscriber = new Redis(url, { ...common, autoResubscribe: false });
    for (const [name, connection] of [
      ['commands', this.#commands],
      ['subscriber', this.#subscriber],
    ] as const) {
      connection.on('error', (error: Error) => {
        if (isStall(error)) this.#stall(name, connection);
        else this.#logError(error);
      });
      connection.on('ready', () => this.#back(name, connection));
    }
    this.#subscriber.on('message', (_topic: string, payload: string) => this.receive(payload));
    this.volatile = new RedisVolatileLog(this.#commands, prefix);
    this.presence = new RedisPresence({
      redis: this.#commands,
      nodeId: this.nodeId,
      prefix,
      logger: this.logger,
      heartbeatMs: options.heartbeatMs,
      nodeTimeoutMs: options.nodeTimeoutMs,
      onChanges: (changes) => this.announcePresence(changes),
    });
  }

  protected async send(topic: string, payload: string): Promise<void> {
    await this.#commands.publish(topic, payload);
  }

  protected async listen(topic: string, on: boolean): Promise<void> {
    // While disconnected there is nothing to do: linkUp listens to every watched topic
    // again when the connection is back.
    if (this.#subscriber.status !== 'ready') return;
    if (on) await this.#subscriber.subscribe(topic);
    else await this.#subscriber.unsubscribe(topic);
  }

  protected async connect(): Promise<void> {
    try {
      await Promise.all([this.#commands.connect(), this.#subscriber.connect()]);
      await this.presence.start();
    } catch (error) {
      this.#commands.disconnect();
      this.#subscriber.disconnect();
      const reason = error instanceof Error ? error.message : String(error);
      throw new SwitchboardError('unavailable', `Cannot reach Redis at ${describeRedis(this.#url)}: ${reason}`);
    }
    // From here on, every reconnect restores subscriptions, re-sends and resyncs, and a
    // new commands connection writes this node's presence back (first: with a new epoch).
    this.#subscriber.on('ready', () => void this.linkUp());
    this.#commands.on('ready', () => {
      this.presence.relinked();
      void this.linkUp();
    });
    // The presence heartbeat keeps the commands connection talking; this the subscriber.
    this.#pingTimer = setInterval(() => {
      if (this.#subscriber.status === 'ready') this.#subscriber.ping().catch(() => {});
    }, this.presence.heartbeatMs);
    this.#pingTimer.unref();
    this.logger.info({ redis: describeRedis(this.#url), node: this.nodeId }, 'joined the cluster over Redis');
  }

  async ping(): Promise<void> {
    if (this.#subscriber.status !== 'ready') throw new Error('the Redis subscriber connection is down');
    await this.#commands.ping();
  }

  protected override holdsSession(channel: ChannelId, session: SessionId): boolean {
    return this.presence.holds(channel, session);
  }

  protected async disconnect(): Promise<void> {
    if (this.#pingTimer) clearInterval(this.#pingTimer);
    this.#pingTimer = null;
    await this.presence.stop();
    await Promise.all(
      [this.#commands, this.#subscriber].map(async (connection) => {
        if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
        else connection.disconnect();
      }),
    );
  }

  /**
   * One line per stall, however many reconnects it takes: while the path stays silent
   * every attempt stalls too. ioredis has already dropped the connection.
   */
  #stall(name: 'commands' | 'subscriber', connection: Redis): void {
    if (this.#stalled.has(connection)) return;
    this.#stalled.set(connection, Date.now());
    this.stats.stalls++;
    this.logger.warn(
      { connection: name, stallTimeoutMs: this.#stallTimeoutMs, redis: describeRedis(this.#url) },
      'Redis link stalled: no answer within the stall timeout; dropped it and reconnecting',
    );
  }

  #back(name: 'commands' | 'subscriber', connection: Redis): void {
    const since = this.#stalled.get(connection);
    if (since === undefined) return;
    this.#stalled.delete(connection);
    this.logger.info({ connection: name, downMs: Date.now() - since }, 'Redis link back after a stall');
  }

  /** At most one line a second: a Redis outage errors on every retry. */
  #logError(error: Error): void {
    const now = Date.now();
    if (now - this.#lastErrorLog < 1000) return;
    this.#lastErrorLog = now;
    this.logger.warn({ err: error, redis: describeRedis(this.#url) }, 'Redis connection error');
  }
}

/** ioredis's socketTimeout: a connection that waited too long for any byte, which it destroyed. */
function isStall(error: Error): boolean {
  return error.message.startsWith('Socket timeout');
}

/** Takes the cluster prefix out of the URL; ioredis would not know it. */
function splitPrefix(raw: string): { url: string; prefix: string } {
  const url = new URL(raw);
  const prefix = url.searchParams.get('prefix') ?? 'switchboard:';
  url.searchParams.delete('prefix');
  return { url: url.toString(), prefix };
}

/** A Redis URL without its password, fit for logs. */
function describeRedis(raw: string): string {
  const url = new URL(raw);
  if (url.password) url.password = '***';
  return url.toString();
}
