import type { ReadPosition } from '../../protocol/values.js';
import { SwitchboardError } from '../core/errors.js';
import type { Channel, ChannelId, Principal, Seq, UserId } from '../core/types.js';
import { type ChatContext, userOf } from './chat-context.js';

/** Channel types whose members see each other's read positions. Public channels are too large for that. */
export function showsReadReceipts(channel: Channel): boolean {
  return channel.type === 'private' || channel.type === 'direct';
}

/**
 * Read positions per user and channel, and read receipts: moving a position forward in a
 * private channel or DM sends a `receipt` to the channel's subscribers on every node.
 */
export class ReadState {
  readonly #context: ChatContext;
  /** Read positions being started for new members, by user: their reads wait for them. */
  readonly #starting = new Map<UserId, Promise<void>>();

  constructor(context: ChatContext) {
    this.#context = context;
  }

  /** Moves the user's read position in a channel forward (never back). */
  async mark(principal: Principal, id: ChannelId, seq: Seq): Promise<{ channel: ChannelId; seq: Seq }> {
    const user = userOf(principal);
    const { hub, log, tables } = this.#context;
    const channel = await hub.getChannel(principal, id);
    const stored = await log.getChannel(id);
    if (seq > (stored?.lastSeq ?? 0)) throw new SwitchboardError('bad_request', `Channel ${id} has no seq ${seq} yet.`);
    const now = Date.now();
    const position = await tables.markRead(id, user, seq, now);
    if (position === seq && showsReadReceipts(channel)) hub.signal({ type: 'receipt', channel: id, user, seq, at: now });
    return { channel: id, seq: position };
  }

  /**
   * A new member's read position starts at the channel's newest message (unless they had
   * one), so its past does not count as unread. The hub reports the membership before the
   * caller hears of it; until the write is done, the user's reads of read state wait for it.
   */
  startAtNewest(id: ChannelId, user: UserId): void {
    const previous = this.#starting.get(user) ?? Promise.resolve();
    const started = previous
      .then(() => this.#context.tables.startReading(id, user, Date.now()))
      .catch((error: unknown) => this.#context.logger.warn({ err: error, channel: id, user }, 'starting a read position failed'));
    this.#starting.set(user, started);
    void started.then(() => {
      if (this.#starting.get(user) === started) this.#starting.delete(user);
    });
  }

  /** Resolves once the user's read positions being started are written. */
  async settled(user: UserId): Promise<void> {
    await this.#starting.get(user);
  }

  /** Read positions in a channel: everyone's where receipts show, otherwise only the caller's. */
  async positions(principal: Principal, id: ChannelId): Promise<ReadPosition[]> {
    await this.settled(principal.userId);
    const channel = await this.#context.hub.getChannel(principal, id);
    const positions = await this.#context.tables.readPositions(id);
    if (showsReadReceipts(channel) || principal.kind === 'server') return positions;
    return positions.filter((p) => p.user === principal.userId);
  }
}
