import type { Redis } from 'ioredis';
import type { VolatileEvent, VolatileLog } from '../core/broker.js';
import { SwitchboardError } from '../core/errors.js';
import type { EventRange } from '../core/store.js';
import type { ChannelEvent, ChannelId, Seq } from '../core/types.js';
import { RedisScript } from './redis-script.js';
import { eventsInRange } from './volatile-range.js';

/** How long a `cid` is remembered for a retried publish. */
const CID_TTL_SECONDS = 3600;

/**
 * One append, atomic: a cid seen before answers its seq (and the event, while the ring
 * holds it); otherwise INCR the channel's seq and add the event to its ring (a sorted set
 * by seq, trimmed to `keep`). Atomic, so every seq a node has been told of is in the ring
 * until trimmed: a node healing a gap never waits for a write in flight elsewhere.
 * KEYS: seq, ring, cid (or ""). ARGV: the event as JSON without its seq, keep, cid TTL.
 */
const APPEND = new RedisScript(`
local cidKey = KEYS[3]
if cidKey ~= '' then
  local seen = redis.call('GET', cidKey)
  if seen then
    local kept = redis.call('ZRANGEBYSCORE', KEYS[2], seen, seen)
    return {tonumber(seen), 1, kept[1]}
  end
end
local seq = redis.call('INCR', KEYS[1])
local keep = tonumber(ARGV[2])
if keep > 0 then
  redis.call('ZADD', KEYS[2], seq, seq .. ':' .. ARGV[1])
  redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -keep - 1)
end
if cidKey ~= '' then redis.call('SET', cidKey, seq, 'EX', tonumber(ARGV[3])) end
return {seq, 0}
`);

/**
 * The volatile log of a cluster in Redis: a counter (INCR) and a ring (a sorted set of
 * `seq:json`) per channel, under the cluster's prefix. Every node appends and reads the
 * same keys, so seqs never repeat and any node resumes a subscriber from the ring. Lost
 * when Redis loses its data; nothing reaches the database.
 */
export class RedisVolatileLog implements VolatileLog {
  readonly #redis: Redis;
  readonly #prefix: string;

  constructor(redis: Redis, prefix: string) {
    this.#redis = redis;
    this.#prefix = `${prefix}vlog:`;
  }

  async append(request: VolatileEvent, keep: number): Promise<{ event: ChannelEvent; duplicate: boolean }> {
    const { channel, cid } = request;
    const keys = [this.#seqKey(channel), this.#ringKey(channel), cid === null ? '' : `${this.#prefix}cid:${channel}:${cid}`];
    const reply = (await this.#run(() => APPEND.run(this.#redis, keys, [JSON.stringify(request), keep, CID_TTL_SECONDS]))) as [
      number,
      number,
      string?,
    ];
    const [seq, duplicate, kept] = reply;
    if (duplicate === 1) return { event: kept ? parseMember(kept) : { ...request, seq }, duplicate: true };
    return { event: { ...request, seq }, duplicate: false };
  }

  async lastSeq(channel: ChannelId): Promise<Seq> {
    const value = await this.#run(() => this.#redis.get(this.#seqKey(channel)));
    return value === null ? 0 : Number(value);
  }

  async readEvents(channel: ChannelId, range: EventRange): Promise<ChannelEvent[]> {
    const min = range.after === undefined ? '-inf' : `(${range.after}`;
    const max = range.before === undefined ? '+inf' : `(${range.before}`;
    const key = this.#ringKey(channel);
    let members: string[];
    if (range.messagesOnly) members = await this.#run(() => this.#redis.zrangebyscore(key, min, max));
    else if (range.after !== undefined) members = await this.#run(() => this.#redis.zrangebyscore(key, min, max, 'LIMIT', 0, range.limit));
    else members = (await this.#run(() => this.#redis.zrevrangebyscore(key, max, min, 'LIMIT', 0, range.limit))).reverse();
    return eventsInRange(members.map(parseMember), range);
  }

  async startAfter(channel: ChannelId, seq: Seq): Promise<void> {
    await this.#run(() => this.#redis.set(this.#seqKey(channel), seq, 'NX'));
  }

  async drop(channel: ChannelId): Promise<void> {
    await this.#run(() => this.#redis.del(this.#seqKey(channel), this.#ringKey(channel)));
  }

  #seqKey(channel: ChannelId): string {
    return `${this.#prefix}seq:${channel}`;
  }

  #ringKey(channel: ChannelId): string {
    return `${this.#prefix}ring:${channel}`;
  }

  /** Redis unreachable is the volatile log's outage: `unavailable`, nothing stored. */
  async #run<T>(command: () => Promise<T>): Promise<T> {
    try {
      return await command();
    } catch {
      throw new SwitchboardError('unavailable', 'The cluster log (Redis) is unavailable; nothing was stored.');
    }
  }
}

function parseMember(member: string): ChannelEvent {
  const colon = member.indexOf(':');
  return { ...(JSON.parse(member.slice(colon + 1)) as Omit<ChannelEvent, 'seq'>), seq: Number(member.slice(0, colon)) };
}
