import { Redis, type RedisOptions } from 'ioredis';
import { SwitchboardError } from '../core/errors.js';
import { ClusterBroker, type ClusterBrokerOptions } from './cluster-broker.js';
import { RedisPresence } from './redis-presence.js';

export interface RedisBrokerOptions extends Omit<ClusterBrokerOptions, 'prefix'> {
  /**
   * `redis://[:password@]host:port[/db]`. A `prefix` query parameter (default
   * `switchboard:`) names the cluster: nodes share topics and presence only with nodes
   * of the same prefix, so several clusters (or test runs) can share one Redis.
   */
  readonly url: string;
  /** See RedisPresence: defaults 1 s and 5 s. */
  readonly heartbeatMs?: number;
  readonly nodeTimeoutMs?: number;
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
 */
export class RedisBroker extends ClusterBroker {
  readonly presence: RedisPresence;
  readonly #url: string;
  readonly #commands: Redis;
  readonly #subscriber: Redis;
  #lastErrorLog = 0;

  constructor(options: RedisBrokerOptions) {
    const { url, prefix } = splitPrefix(options.url);
    super({ ...options, prefix });
    this.#url = url;
    const common: RedisOptions = {
      lazyConnect: true,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      autoResendUnfulfilledCommands: false,
      connectTimeout: 5000,
      // A command written just as the connection drops would otherwise wait for Redis to
      // come back: a subscribe (presence) or /readyz would hang for the whole outage.
      commandTimeout: 2000,
      // Reconnect quickly once Redis is back: delivery across nodes waits for it.
      retryStrategy: (attempt) => Math.min(attempt * 100, 1000),
    };
    this.#commands = new Redis(url, { ...common, connectionName: `switchboard-${this.nodeId}` });
    this.#subscriber = new Redis(url, { ...common, autoResubscribe: false });
    for (const connection of [this.#commands, this.#subscriber]) {
      connection.on('error', (error: Error) => this.#logError(error));
    }
    this.#subscriber.on('message', (_topic: string, payload: string) => this.receive(payload));
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
    // From here on, every reconnect restores subscriptions, re-sends and resyncs.
    this.#subscriber.on('ready', () => void this.linkUp());
    this.#commands.on('ready', () => void this.linkUp());
    this.logger.info({ redis: describeRedis(this.#url), node: this.nodeId }, 'joined the cluster over Redis');
  }

  async ping(): Promise<void> {
    if (this.#subscriber.status !== 'ready') throw new Error('the Redis subscriber connection is down');
    await this.#commands.ping();
  }

  protected async disconnect(): Promise<void> {
    await this.presence.stop();
    await Promise.all(
      [this.#commands, this.#subscriber].map(async (connection) => {
        if (connection.status === 'ready') await connection.quit().catch(() => connection.disconnect());
        else connection.disconnect();
      }),
    );
  }

  /** At most one line a second: a Redis outage errors on every retry. */
  #logError(error: Error): void {
    const now = Date.now();
    if (now - this.#lastErrorLog < 1000) return;
    this.#lastErrorLog = now;
    this.logger.warn({ err: error, redis: describeRedis(this.#url) }, 'Redis connection error');
  }
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
