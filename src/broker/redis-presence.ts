import type { Redis } from 'ioredis';
import type { PresenceRegistry, PresenceSlice } from '../core/broker.js';
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
   * by this node's reaper), this node's sessions joining again after Redis lost them, and
   * writes that failed when the hub made them and went through later.
   */
  readonly onChanges: (changes: PresenceChange[]) => void;
}

/*
 * Keys (P = prefix + 'presence:'):
 *   P nodes               ZSET node -> time (Redis clock, ms) after which it counts as dead
 *   P epoch:<node>        the node's connection number; writes made on an older connection are ignored
 *   P users:<channel>     HASH user -> number of sessions in the channel
 *   P sessions:<channel>  HASH session -> user
 *   P infos:<channel>     HASH session -> what the subscribe hook attached (JSON); only sessions that got something
 *   P index:<channel>     ZSET "<user>\n<session>", all scored 0: the sessions in user id order, so a page of
 *                         members is read from where the last one ended (ZRANGEBYLEX) instead of listing the channel
 *   P node:<node>         SET "<channel>\n<session>": what to remove when the node dies
 *   P indexing            SET of the nodes that keep the index (every node of this version): while a node
 *                         from before it is registered, its sessions may be missing from an index, so a page
 *                         is read from the hashes instead
 * Channel ids never contain a newline (see names.ts), so the SET members split cleanly.
 *
 * Why an epoch: a connection dropped for a stall still holds the bytes written into it,
 * and TCP delivers them when the path heals, seconds later, after the node has reconnected
 * and rewritten its presence. A late ADD of a session that closed meanwhile would leave a
 * user online for good. Each connection writes with its own number, each heartbeat stores
 * it, and a script that carries a lower one does nothing.
 */

/** Ends a script that carries an older epoch than Redis holds for the node (returning 0). */
const FENCE = `
if tonumber(redis.call('GET', KEYS[4]) or '0') > tonumber(ARGV[4]) then return 0 end`;

/**
 * Returns the user's session count in the channel after adding: 1 is a join. A session
 * already there returns minus the count, so a node writing its sessions back can tell news
 * from what Redis kept. 0: ignored (see FENCE), or this node is not registered (reaped).
 */
const ADD = new RedisScript(`${FENCE}
if not redis.call('ZSCORE', KEYS[5], ARGV[5]) then return 0 end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[6], ARGV[2], ARGV[6]) end
if redis.call('HSETNX', KEYS[2], ARGV[2], ARGV[1]) == 0 then
  return -tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '1')
end
if ARGV[7] ~= '' then redis.call('ZADD', KEYS[7], 0, ARGV[1] .. '\\n' .. ARGV[2]) end
redis.call('SADD', KEYS[3], ARGV[3])
return redis.call('HINCRBY', KEYS[1], ARGV[1], 1)`);

/** 'leave' (the user's last session in the channel), 'remove', or false: not there or ignored. */
const REMOVE = new RedisScript(`${FENCE.replace('return 0', 'return false')}
redis.call('HDEL', KEYS[6], ARGV[2])
local stored = redis.call('HGET', KEYS[2], ARGV[2])
if not stored then return false end
redis.call('HDEL', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[7], stored .. '\\n' .. ARGV[2])
redis.call('SREM', KEYS[3], ARGV[3])
if redis.call('HINCRBY', KEYS[1], stored, -1) <= 0 then
  redis.call('HDEL', KEYS[1], stored)
  return 'leave'
end
return 'remove'`);

/**
 * A page of a channel's members in one snapshot: KEYS index, users, sessions, infos, nodes,
 * indexing; ARGV the lower bound (exclusive, past every session of the previous page's last
 * user, or '-') and the limit. Returns the channel's distinct users, 1 if members follow the
 * page (else 0), then user, session count, info ('' for none) per member. A user's info is
 * that of their session with the lowest id among those that have one, as sessions sort in
 * the index. Returns { -1 } while a node that does not keep the index is registered (a
 * rolling upgrade from before it): its sessions may be missing, and the page is read from
 * the hashes instead. An index that holds more entries than there are sessions (such a node
 * removed some, and left) is made again from the sessions first.
 */
const PAGE = new RedisScript(`
for _, node in ipairs(redis.call('ZRANGE', KEYS[5], 0, -1)) do
  if redis.call('SISMEMBER', KEYS[6], node) == 0 then return { -1 } end
end
if redis.call('ZCARD', KEYS[1]) ~= redis.call('HLEN', KEYS[3]) then
  redis.call('DEL', KEYS[1])
  local all = redis.call('HGETALL', KEYS[3])
  for i = 1, #all, 2 do redis.call('ZADD', KEYS[1], 0, all[i + 1] .. '\\n' .. all[i]) end
end
local limit = tonumber(ARGV[2])
local withInfos = redis.call('HLEN', KEYS[4]) > 0
local out = { redis.call('HLEN', KEYS[2]), 0 }
local found = 0
local from = ARGV[1]
while true do
  local first = redis.call('ZRANGEBYLEX', KEYS[1], from, '+', 'LIMIT', 0, 1)[1]
  if not first then return out end
  local user = string.sub(first, 1, string.find(first, '\\n', 1, true) - 1)
  local count = tonumber(redis.call('HGET', KEYS[2], user) or '0')
  if count > 0 then
    if found == limit then
      out[2] = 1
      return out
    end
    found = found + 1
    local info = ''
    if withInfos then
      for _, entry in ipairs(redis.call('ZRANGEBYLEX', KEYS[1], '[' .. user .. '\\n', '(' .. user .. '\\v')) do
        local got = redis.call('HGET', KEYS[4], string.sub(entry, #user + 2))
        if got then
          info = got
          break
        end
      end
    end
    table.insert(out, user)
    table.insert(out, count)
    table.insert(out, info)
  end
  -- Past the user's other sessions ("<user>\\n..." sorts below "<user>\\v", whatever the
  -- session id): a page costs its users, not their sessions.
  from = '(' .. user .. '\\v'
end`);

/**
 * Returns 1 when the node was not registered (first beat, reaped, or Redis lost its data),
 * 0 when it was, -1 when ignored (a beat from an older connection arriving late).
 */
const HEARTBEAT = new RedisScript(`
local epoch = tonumber(ARGV[3])
if tonumber(redis.call('GET', KEYS[2]) or '0') > epoch then return -1 end
redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
redis.call('SADD', KEYS[3], ARGV[1])
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
  redis.call('SREM', P .. 'indexing', node)
  local setKey = P .. 'node:' .. node
  for _, entry in ipairs(redis.call('SMEMBERS', setKey)) do
    local cut = string.find(entry, '\\n', 1, true)
    local channel = string.sub(entry, 1, cut - 1)
    local session = string.sub(entry, cut + 1)
    local user = redis.call('HGET', P .. 'sessions:' .. channel, session)
    redis.call('HDEL', P .. 'infos:' .. channel, session)
    if user then
      redis.call('HDEL', P .. 'sessions:' .. channel, session)
      redis.call('ZREM', P .. 'index:' .. channel, user .. '\\n' .. session)
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

/**
 * How long a node's epoch outlives its last heartbeat: longer than any TCP retransmission
 * could still deliver a late write (minutes), short enough that dead nodes leave nothing.
 */
const EPOCH_TTL_MS = 10 * 60_000;

/** Writes sent at once while writing a node's presence back (pipelined, bounded). */
const REWRITE_BATCH = 256;

interface Entry {
  readonly channel: ChannelId;
  readonly user: UserId;
  readonly session: SessionId;
  /** The subscribe hook's info as JSON, if it gave any. */
  readonly info?: string;
}

/**
 * Presence shared by every node through Redis. Each node heartbeats; a node that stops
 * (kill -9, lost network) is reaped by the first surviving node to notice, which reports
 * its sessions' departures so every subscriber sees them `leave`. Entries of this node are
 * also kept locally: while Redis is unreachable presence answers from them instead of
 * failing a subscribe, and they are written back once Redis is reachable again.
 *
 * Written back whenever the commands connection is new (`relinked`: after a reset or a
 * stall) or Redis says it does not know this node, never only when Redis happens to say
 * so: after a stall the heartbeat that learns the node was reaped may be the late one
 * from the dropped connection, whose answer nobody reads.
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
  /** Adds whose outcome is unknown (Redis did not answer); written with the next beat. */
  readonly #unadded = new Map<string, Entry>();
  /** Removals not known to be written; retried on the next beat. */
  readonly #unremoved = new Map<string, Entry>();
  #timer: NodeJS.Timeout | null = null;
  /** The beat under way, if any. */
  #running: Promise<void> | null = null;
  /** Something asked for a beat while one was under way: run another right after it. */
  #again = false;
  #registered = false;
  /** The number of the commands connection; every write carries it (see the epoch key). */
  #epoch = 1;
  /** Every local entry must be written again (a new connection, or Redis forgot us); cleared once all are. */
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
    await this.#heartbeat();
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

  /**
   * The commands connection is new (it was reset, or dropped for a stall): whatever Redis
   * answered on the old one may be lost, and the other nodes may have reaped this one
   * meanwhile. From now on writes carry a new epoch, and the next beat, started at once,
   * writes every session of this node back and reports those Redis had lost.
   */
  relinked(): void {
    this.#epoch++;
    this.#rewriteAll = true;
    void this.#beat();
  }

  /**
   * Resolves after a whole beat that began after the call: every write pending then (a
   * session to write back, a removal to retry) has been tried. For tests and draining.
   */
  settle(): Promise<void> {
    return this.#beat();
  }

  /** Whether this node holds the session in the channel (it is open here). */
  holds(channel: ChannelId, session: SessionId): boolean {
    return this.#local.has(entryKey({ channel, session }));
  }

  async add(channel: ChannelId, user: UserId, session: SessionId, info?: unknown): Promise<'join' | 'add'> {
    const entry: Entry = info === undefined ? { channel, user, session } : { channel, user, session, info: JSON.stringify(info) };
    const key = entryKey(entry);
    this.#local.set(key, entry);
    this.#unremoved.delete(key);
    try {
      const count = Number(await this.#write(ADD, entry));
      if (count !== 0) return count === 1 ? 'join' : 'add';
      // Redis does not know this node: it was reaped (a pause longer than the timeout).
      this.#rewriteAll = true;
      void this.#beat();
    } catch (error) {
      this.#logOutage(error);
    }
    this.#unadded.set(key, entry);
    return this.#localSessions(channel, user) === 1 ? 'join' : 'add';
  }

  async remove(channel: ChannelId, user: UserId, session: SessionId): Promise<'leave' | 'remove' | null> {
    const entry = { channel, user, session };
    const key = entryKey(entry);
    const known = this.#local.delete(key);
    if (this.#unadded.delete(key)) {
      // Its add may still land (written just before the link went): remove it to be sure.
      this.#unremoved.set(key, entry);
      return this.#localSessions(channel, user) === 0 ? 'leave' : 'remove';
    }
    try {
      return (await this.#write(REMOVE, entry)) as 'leave' | 'remove' | null;
    } catch (error) {
      this.#logOutage(error);
      if (!known) return null;
      this.#unremoved.set(key, entry);
      return this.#localSessions(channel, user) === 0 ? 'leave' : 'remove';
    }
  }

  async page(channel: ChannelId, after: UserId | undefined, limit: number): Promise<PresenceSlice> {
    const p = this.#keyPrefix;
    let reply: (string | number)[];
    try {
      // Past every "<after>\n<session>": \v is the byte after \n.
      const from = after === undefined ? '-' : `(${after}\v`;
      reply = (await PAGE.run(
        this.#redis,
        [`${p}index:${channel}`, `${p}users:${channel}`, `${p}sessions:${channel}`, `${p}infos:${channel}`, this.#nodesKey, this.#indexingKey],
        [from, limit],
      )) as (string | number)[];
      if (reply[0] === -1) return await this.#pageFromHashes(channel, after, limit);
    } catch {
      throw new SwitchboardError('unavailable', 'Presence is unavailable: Redis does not answer.');
    }
    const members: PresenceMember[] = [];
    for (let i = 2; i + 2 < reply.length; i += 3) members.push(memberOf(String(reply[i]), Number(reply[i + 1]), String(reply[i + 2]) || undefined));
    return { members, more: reply[1] === 1, users: Number(reply[0]) };
  }

  /**
   * A page read from the channel's hashes, the whole channel sorted, while a node from
   * before the index is registered (a rolling upgrade): what every page cost before the
   * index, and never a write.
   */
  async #pageFromHashes(channel: ChannelId, after: UserId | undefined, limit: number): Promise<PresenceSlice> {
    const p = this.#keyPrefix;
    // One round trip, one snapshot: a MULTI reads the hashes at the same moment.
    const replies = await this.#redis.multi().hgetall(`${p}users:${channel}`).hgetall(`${p}infos:${channel}`).hgetall(`${p}sessions:${channel}`).exec();
    if (!replies || replies.some(([error]) => error)) throw new Error('presence read failed');
    const [counts, infos, sessions] = replies.map(([, value]) => value as Record<string, string>) as [
      Record<string, string>,
      Record<string, string>,
      Record<string, string>,
    ];
    const infoOf = infosByUser(infos, sessions);
    const users = Object.keys(counts)
      .filter((user) => Number(counts[user]) > 0 && (after === undefined || user > after))
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const members = users.slice(0, limit).map((user) => memberOf(user, Number(counts[user]), infoOf.get(user)));
    return { members, more: users.length > limit, users: Object.keys(counts).length };
  }

  async count(channel: ChannelId): Promise<number> {
    try {
      return await this.#redis.hlen(`${this.#keyPrefix}users:${channel}`);
    } catch {
      throw new SwitchboardError('unavailable', 'Presence is unavailable: Redis does not answer.');
    }
  }

  async sessionsOf(channel: ChannelId, user: UserId): Promise<number> {
    let count: string | null;
    try {
      count = await this.#redis.hget(`${this.#keyPrefix}users:${channel}`, user);
    } catch {
      throw new SwitchboardError('unavailable', 'Presence is unavailable: Redis does not answer.');
    }
    return Math.max(0, Number(count ?? 0));
  }

  async presentAmong(channel: ChannelId, users: readonly UserId[]): Promise<Set<UserId>> {
    if (users.length === 0) return new Set();
    let counts: (string | null)[];
    try {
      counts = await this.#redis.hmget(`${this.#keyPrefix}users:${channel}`, ...users);
    } catch {
      // Not this node's sessions instead: users connected elsewhere would read as gone, and
      // nothing would tell them otherwise once Redis is back.
      throw new SwitchboardError('unavailable', 'Presence is unavailable: Redis does not answer.');
    }
    return new Set(users.filter((_, k) => Number(counts[k] ?? 0) > 0));
  }

  get #nodesKey(): string {
    return `${this.#keyPrefix}nodes`;
  }

  get #indexingKey(): string {
    return `${this.#keyPrefix}indexing`;
  }

  get #epochKey(): string {
    return `${this.#keyPrefix}epoch:${this.#nodeId}`;
  }

  /** 1: Redis did not know this node; 0: renewed; -1: ignored (an older connection's late beat). */
  async #heartbeat(): Promise<number> {
    const answer = await HEARTBEAT.run(
      this.#redis,
      [this.#nodesKey, this.#epochKey, this.#indexingKey],
      [this.#nodeId, this.nodeTimeoutMs, this.#epoch, EPOCH_TTL_MS],
    );
    return Number(answer);
  }

  #write(script: RedisScript, entry: Entry): Promise<unknown> {
    const p = this.#keyPrefix;
    return script.run(
      this.#redis,
      [
        `${p}users:${entry.channel}`,
        `${p}sessions:${entry.channel}`,
        `${p}node:${this.#nodeId}`,
        this.#epochKey,
        this.#nodesKey,
        `${p}infos:${entry.channel}`,
        `${p}index:${entry.channel}`,
      ],
      // Registry keys (`~online`) are never paged: no index to keep.
      [entry.user, entry.session, entryKey(entry), this.#epoch, this.#nodeId, entry.info ?? '', entry.channel.startsWith('~') ? '' : '1'],
    );
  }

  /** Starts a beat, or asks the one under way for another; resolves when they are done. */
  #beat(): Promise<void> {
    if (this.#running) {
      this.#again = true;
      return this.#running;
    }
    this.#running = this.#beats();
    return this.#running;
  }

  async #beats(): Promise<void> {
    try {
      do {
        this.#again = false;
        try {
          await this.#beatOnce();
        } catch (error) {
          this.#logOutage(error);
        }
      } while (this.#again && this.#timer !== null);
    } finally {
      // In the same turn as the last check of #again: no request falls in between.
      this.#running = null;
    }
  }

  async #beatOnce(): Promise<void> {
    const beat = await this.#heartbeat();
    // Only a newer connection of this node can have stored a higher epoch: there is none.
    if (beat === -1) throw new Error('presence heartbeat ignored: Redis holds a newer epoch for this node');
    if (beat === 1 && this.#registered && !this.#rewriteAll) {
      // We were reaped (a pause longer than the timeout) or Redis restarted empty.
      this.#rewriteAll = true;
    }
    if (this.#rewriteAll) await this.#rewrite();
    for (const [key, entry] of [...this.#unadded]) {
      const count = Number(await this.#write(ADD, entry));
      if (count === 0) {
        this.#rewriteAll = true;
        this.#again = true;
        return;
      }
      this.#unadded.delete(key);
      // The hub told this node's subscribers when it answered; the others hear it now.
      if (count > 0) this.#onChanges([{ ...entry, action: count === 1 ? 'join' : 'add' }]);
    }
    for (const [key, entry] of [...this.#unremoved]) {
      const action = (await this.#write(REMOVE, entry)) as 'leave' | 'remove' | null;
      this.#unremoved.delete(key);
      if (action) this.#onChanges([{ ...entry, action, retried: true }]);
    }
    const departures = await this.#reap('');
    if (departures.length > 0) this.#onChanges(departures);
  }

  /**
   * Writes every session of this node to Redis again, in pipelined batches, and reports
   * those Redis did not have (the other nodes saw them leave, or never heard of them) and
   * those whose first write went unanswered. A session closed meanwhile is skipped: the
   * check and the send happen in one turn, so a removal is never overtaken.
   */
  async #rewrite(): Promise<void> {
    const entries = [...this.#local.entries()];
    let back = 0;
    let unregistered = false;
    for (let i = 0; i < entries.length; i += REWRITE_BATCH) {
      const batch = entries.slice(i, i + REWRITE_BATCH).filter(([key]) => this.#local.has(key));
      const counts = await Promise.all(batch.map(([, entry]) => this.#write(ADD, entry)));
      const changes: PresenceChange[] = [];
      batch.forEach(([key, entry], j) => {
        const count = Number(counts[j]);
        if (count === 0) {
          unregistered = true;
          return;
        }
        const unknown = this.#unadded.delete(key);
        if (count > 0 || unknown) changes.push({ ...entry, action: Math.abs(count) === 1 ? 'join' : 'add' });
      });
      back += changes.length;
      // Reported batch by batch: a failure half-way must not lose what was already written.
      if (changes.length > 0) this.#onChanges(changes);
    }
    if (unregistered) {
      // Reaped again between our heartbeat and the writes (a long pause): once more.
      this.#again = true;
      return;
    }
    this.#rewriteAll = false;
    if (back > 0) this.#logger.warn({ sessions: this.#local.size, rejoined: back }, 'presence re-registered with Redis');
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

/**
 * Each user's hook info (JSON), chosen as the page script chooses it from the index: that
 * of the user's session with the lowest id among those that have one, so every node lists
 * the same. An info whose session is gone (reaped by a node of a version that knows
 * nothing of infos) is ignored.
 */
function infosByUser(infos: Record<string, string>, sessions: Record<string, string>): Map<UserId, string> {
  const chosen = new Map<UserId, { session: SessionId; info: string }>();
  for (const [session, info] of Object.entries(infos)) {
    const user = sessions[session];
    if (user === undefined) continue;
    const current = chosen.get(user);
    if (!current || session < current.session) chosen.set(user, { session, info });
  }
  return new Map([...chosen].map(([user, { info }]) => [user, info]));
}

/** A member as listed: `info` the hook's JSON, if the user's sessions got any. */
function memberOf(user: UserId, sessions: number, info: string | undefined): PresenceMember {
  return info === undefined ? { user, sessions } : { user, sessions, info: JSON.parse(info) as unknown };
}

function entryKey(entry: { channel: ChannelId; session: SessionId }): string {
  return `${entry.channel}\n${entry.session}`;
}
