import type { Redis } from 'ioredis';
import type { PresenceRegistry } from '../core/broker.js';
import { SwitchboardError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import type { ChannelId, NodeId, PresenceMember, SessionId, UserId } from '../core/types.js';
import type { PresenceChange } from './cluster-broker.js';
import { RedisScript } from './redis-script.js';

export interface RedisPresenceOptions {
  readonly redis: Redis;
  readonly nodeId: NodeId;
  /** Key prefix shared by the cluster, e.g. `switchboard:`. */
  readonly prefix: string;
  readonly logger: Logger;
  /** How often this node says it is alive and looks for dead nodes. Default 1 s. */
  readonly heartbeatMs?: number;
  /** A node silent this long is dead and its sessions leave. Default 5 s. */
  readonly nodeTimeoutMs?: number;
  /**
   * Changes this registry made by itself: sessions removed because their node died (found
   * by this node's reaper), and this node's sessions joining again after Redis lost them.
   */
  readonly onChanges: (changes: PresenceChange[]) => void;
}

/*
 * Keys (P = prefix + 'presence:'):
 *   P nodes               ZSET node -> time (Redis clock, ms) after which it counts as dead
 *   P users:<channel>     HASH user -> number of sessions in the channel
 *   P sessions:<channel>  HASH session -> user
 *   P node:<node>         SET "<channel>\n<session>": what to remove when the node dies
 * Channel ids never contain a newline (see names.ts), so the SET members split cleanly.
 */

const ADD = new RedisScript(`
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1]) == 0 then return 'add' end
redis.call('SADD', KEYS[3], ARGV[3])
if redis.call('HINCRBY', KEYS[1], ARGV[1], 1) == 1 then return 'join' end
return 'add'`);

const REMOVE = new RedisScript(`
if redis.call('HDEL', KEYS[2], ARGV[2]) == 0 then return false end
redis.call('SREM', KEYS[3], ARGV[3])
if redis.call('HINCRBY', KEYS[1], ARGV[1], -1) <= 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  return 'leave'
end
return 'remove'`);

/** Returns 1 when the node was not registered (first beat, reaped, or Redis lost its data). */
const HEARTBEAT = new RedisScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
return redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])`);

/**
 * Removes every dead node (or only ARGV[2], when given: a node leaving cleanly) and its
 * sessions, atomically, so exactly one reaper reports each departure.
 * Returns a flat list: channel, user, session, action, channel, ...
 */
const REAP = new RedisScript(`
local P = ARGV[1]
local dead
if ARGV[2] ~= '' then
  dead = { ARGV[2] }
else
  local t = redis.call('TIME')
  local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now)
end
local out = {}
for _, node in ipairs(dead) do
  redis.call('ZREM', KEYS[1], node)
  local setKey = P .. 'node:' .. node
  for _, entry in ipairs(redis.call('SMEMBERS', setKey)) do
    local cut = string.find(entry, '\\n', 1, true)
    local channel = string.sub(entry, 1, cut - 1)
    local session = string.sub(entry, cut + 1)
    local user = redis.call('HGET', P .. 'sessions:' .. channel, session)
    if user then
      redis.call('HDEL', P .. 'sessions:' .. channel, session)
      local action = 'remove'
      if redis.call('HINCRBY', P .. 'users:' .. channel, user, -1) <= 0 then
        redis.call('HDEL', P .. 'users:' .. channel, user)
        action = 'leave'
      end
      table.insert(out, channel)
      table.insert(out, user)
      table.insert(out, session)
      table.insert(out, action)
    end
  end
  redis.call('DEL', setKey)
end
return out`);

interface Entry {
  readonly channel: ChannelId;
  readonly user: UserId;
  readonly session: SessionId;
}

/**
 * Presence shared by every node through Redis. Each node heartbeats; a node that stops
 * (kill -9, lost network) is reaped by the first surviving node to notice, which reports
 * its sessions' departures so every subscriber sees them `leave`. Entries of this node are
 * also kept locally: while Redis is unreachable presence answers from them instead of
 * failing a subscribe, and they are written back once Redis is reachable again (or after
 * it restarted empty).
 */
export class RedisPresence implements PresenceRegistry {
  readonly heartbeatMs: number;
  readonly nodeTimeoutMs: number;
  readonly #redis: Redis;
  readonly #nodeId: NodeId;
  readonly #keyPrefix: string;
  readonly #logger: Logger;
  readonly #onChanges: (changes: PresenceChange[]) => void;
  readonly #local = new Map<string, Entry>();
  /** Writes that failed while Redis was away, retried on the next heartbeat. */
  readonly #unadded = new Map<string, Entry>();
  readonly #unremoved = new Map<string, Entry>();
  #timer: NodeJS.Timeout | null = null;
  #beating = false;
  #registered = false;
  /** Every local entry must be written again (Redis forgot us); cleared once all are. */
  #rewriteAll = false;
  #lastFailureLog = 0;

  constructor(options: RedisPresenceOptions) {
    this.#redis = options.redis;
    this.#nodeId = options.nodeId;
    this.#keyPrefix = `${options.prefix}presence:`;
    this.#logger = options.logger;
    this.heartbeatMs = options.heartbeatMs ?? 1000;
    this.nodeTimeoutMs = options.nodeTimeoutMs ?? 5000;
    this.#onChanges = options.onChanges;
    if (this.nodeTimeoutMs < 2 * this.heartbeatMs) {
      throw new Error('nodeTimeoutMs must be at least twice heartbeatMs, or live nodes would be reaped.');
    }
  }

  /** Registers the node (rejects if Redis is unreachable) and starts heartbeating. */
  async start(): Promise<void> {
    await HEARTBEAT.run(this.#redis, [this.#nodesKey], [this.#nodeId, this.nodeTimeoutMs]);
    this.#registered = true;
    this.#timer = setInterval(() => void this.#beat(), this.heartbeatMs);
    this.#timer.unref();
  }

  /** Stops heartbeating and removes whatever this node still holds, reporting it. */
  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    try {
      const departures = await this.#reap(this.#nodeId);
      if (departures.length > 0) this.#onChanges(departures);
    } catch (error) {
      this.#logger.warn({ err: error }, 'presence cleanup on close failed; other nodes reap it on timeout');
    }
    this.#local.clear();
  }

  async add(channel: ChannelId, user: UserId, session: SessionId): Promise<'join' | 'add'> {
    const entry = { channel, user, session };
    this.#local.set(entryKey(entry), entry);
    this.#unremoved.delete(entryKey(entry));
    try {
      return (await this.#write(ADD, entry)) as 'join' | 'add';
    } catch (error) {
      this.#logOutage(error);
      this.#unadded.set(entryKey(entry), entry);
      return this.#localSessions(channel, user) === 1 ? 'join' : 'add';
    }
  }

  async remove(channel: ChannelId, user: UserId, session: SessionId): Promise<'leave' | 'remove' | null> {
    const entry = { channel, user, session };
    const known = this.#local.delete(entryKey(entry));
    const neverWritten = this.#unadded.delete(entryKey(entry));
    if (neverWritten) return this.#localSessions(channel, user) === 0 ? 'leave' : 'remove';
    try {
      return (await this.#write(REMOVE, entry)) as 'leave' | 'remove' | null;
    } catch (error) {
      this.#logOutage(error);
      if (!known) return null;
      this.#unremoved.set(entryKey(entry), entry);
      return this.#localSessions(channel, user) === 0 ? 'leave' : 'remove';
    }
  }

  async list(channel: ChannelId): Promise<PresenceMember[]> {
    let counts: Record<string, string>;
    try {
      counts = await this.#redis.hgetall(`${this.#keyPrefix}users:${channel}`);
    } catch {
      throw new SwitchboardError('unavailable', 'Presence is unavailable: Redis does not answer.');
    }
    return Object.entries(counts)
      .map(([user, sessions]) => ({ user, sessions: Number(sessions) }))
      .filter((member) => member.sessions > 0)
      .sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0));
  }

  get #nodesKey(): string {
    return `${this.#keyPrefix}nodes`;
  }

  #write(script: RedisScript, entry: Entry): Promise<unknown> {
    const p = this.#keyPrefix;
    return script.run(
      this.#redis,
      [`${p}users:${entry.channel}`, `${p}sessions:${entry.channel}`, `${p}node:${this.#nodeId}`],
      [entry.user, entry.session, entryKey(entry)],
    );
  }

  async #beat(): Promise<void> {
    if (this.#beating) return;
    this.#beating = true;
    try {
      const fresh = await HEARTBEAT.run(this.#redis, [this.#nodesKey], [this.#nodeId, this.nodeTimeoutMs]);
      if (fresh === 1 && this.#registered) {
        // We were reaped (a pause longer than the timeout) or Redis restarted empty.
        this.#logger.warn({ sessions: this.#local.size }, 'presence re-registered with Redis');
        this.#rewriteAll = true;
      }
      if (this.#rewriteAll) {
        const returned: PresenceChange[] = [];
        for (const entry of [...this.#local.values()]) {
          const action = (await this.#write(ADD, entry)) as 'join' | 'add';
          // 'add' also answers an entry Redis still had: only a real 'join' is news.
          if (action === 'join') returned.push({ ...entry, action });
        }
        this.#rewriteAll = false;
        this.#unadded.clear();
        if (returned.length > 0) this.#onChanges(returned);
      }
      for (const [key, entry] of [...this.#unadded]) {
        await this.#write(ADD, entry);
        this.#unadded.delete(key);
      }
      for (const [key, entry] of [...this.#unremoved]) {
        await this.#write(REMOVE, entry);
        this.#unremoved.delete(key);
      }
      const departures = await this.#reap('');
      if (departures.length > 0) this.#onChanges(departures);
    } catch (error) {
      this.#logOutage(error);
    } finally {
      this.#beating = false;
    }
  }

  async #reap(node: NodeId | ''): Promise<PresenceChange[]> {
    const flat = (await REAP.run(this.#redis, [this.#nodesKey], [this.#keyPrefix, node])) as string[];
    const departures: PresenceChange[] = [];
    for (let i = 0; i + 3 < flat.length; i += 4) {
      departures.push({
        channel: flat[i]!,
        user: flat[i + 1]!,
        session: flat[i + 2]!,
        action: flat[i + 3] === 'leave' ? 'leave' : 'remove',
      });
    }
    return departures;
  }

  #localSessions(channel: ChannelId, user: UserId): number {
    let count = 0;
    for (const entry of this.#local.values()) if (entry.channel === channel && entry.user === user) count++;
    return count;
  }

  #logOutage(error: unknown): void {
    const now = Date.now();
    if (now - this.#lastFailureLog < 1000) return;
    this.#lastFailureLog = now;
    this.#logger.warn({ err: error }, 'presence: Redis unreachable; answering from this node until it is back');
  }
}

function entryKey(entry: { channel: ChannelId; session: SessionId }): string {
  return `${entry.channel}\n${entry.session}`;
}
