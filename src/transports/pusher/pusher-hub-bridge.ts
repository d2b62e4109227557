import type { CommandResult } from '../../../protocol/commands.js';
import { PUSHER_SERVER_USER } from '../../../protocol/names.js';
import type { Outbound } from '../../core/delivery.js';
import { SwitchboardError } from '../../core/errors.js';
import { makeRoom } from '../../core/make-room.js';
import type { Principal } from '../../core/types.js';
import type { Call } from '../../edge/call.js';
import type { CommandPipeline } from '../../edge/pipeline.js';
import { type HubChannelRef, refusalToServe } from './pusher-channel-names.js';

/**
 * How a Pusher event sits in a hub channel's log: a message with no text whose `data`
 * holds the event name, the data string as published, and the socket to leave out.
 */
export interface PusherMessageData {
  readonly pusherEvent: string;
  readonly data: string;
  readonly pusherSocketId?: string;
}

/** The principal the Pusher transport acts as once the app's signature has been checked. */
export const PUSHER_SERVER: Principal = { kind: 'server', userId: PUSHER_SERVER_USER, name: 'Pusher API', roles: [] };

/** A cached event older than this is a miss, as on the hosted service. */
const CACHE_TTL_MS = 30 * 60 * 1000;
/** Hub channels checked to be the app's own, remembered so a trigger costs no look-up; the oldest quarter goes past this many. */
const CHECKED_LIMIT = 10_000;

export function isPusherMessageData(data: unknown): data is PusherMessageData {
  if (typeof data !== 'object' || data === null) return false;
  const candidate = data as Record<string, unknown>;
  return typeof candidate.pusherEvent === 'string' && typeof candidate.data === 'string';
}

/**
 * The Switchboard commands the Pusher protocol runs, as the Pusher server principal and
 * through the edge's pipeline, so the shared validation and limits apply: publishing
 * into hub channels (creating a channel the first time it is used, so one log serves
 * every protocol), subscribing a connection's hub session, and the cache channels' last
 * event.
 */
export class PusherHubBridge {
  readonly #pipeline: CommandPipeline;
  readonly #call: Call = { principal: PUSHER_SERVER, session: null, wire: 'pusher' };
  /**
   * Hub channels `ensure` found fit to carry their Pusher channel. Only the Pusher
   * transport creates channels in `pusher:` and no one but an admin changes their type,
   * so once checked a channel stays fit; a deleted one is found again (`not_found`).
   */
  readonly #checked = new Set<string>();

  constructor(pipeline: CommandPipeline) {
    this.#pipeline = pipeline;
  }

  /** Stores a trigger in the hub channel, after making sure the channel is the app's own (see `ensure`). */
  async publish(ref: HubChannelRef, message: PusherMessageData): Promise<CommandResult<'publish'>> {
    const input = { channel: ref.id, data: message };
    if (!this.#checked.has(ref.id)) await this.ensure(ref);
    try {
      return await this.#pipeline.run('publish', input, this.#call);
    } catch (error) {
      if (!(error instanceof SwitchboardError) || error.code !== 'not_found') throw error;
      this.#checked.delete(ref.id);
      await this.ensure(ref);
      return this.#pipeline.run('publish', input, this.#call);
    }
  }

  /**
   * The hub channel, created first unless it exists (a concurrent creation is fine), with
   * the type the Pusher name implies and the name as its title. An existing channel that
   * may not carry the Pusher channel (a user's squat from before `pusher:` was reserved,
   * or the wrong type) is refused with `conflict`: nothing is published to it or read from it.
   */
  async ensure(ref: HubChannelRef): Promise<CommandResult<'channel.get'>> {
    const channel = await this.#getOrCreate(ref);
    const refusal = refusalToServe(ref, channel);
    if (refusal !== null) throw new SwitchboardError('conflict', refusal);
    if (!this.#checked.has(ref.id)) makeRoom(this.#checked, CHECKED_LIMIT);
    this.#checked.add(ref.id);
    return channel;
  }

  async #getOrCreate(ref: HubChannelRef): Promise<CommandResult<'channel.get'>> {
    const channel = { channel: ref.id };
    try {
      return await this.#pipeline.run('channel.get', channel, this.#call);
    } catch (error) {
      if (!(error instanceof SwitchboardError) || error.code !== 'not_found' || ref.createAs === null) throw error;
    }
    try {
      const input = { ...channel, channelType: ref.createAs, title: ref.name };
      return await this.#pipeline.run('channel.create', input, this.#call);
    } catch (error) {
      if (!(error instanceof SwitchboardError) || error.code !== 'conflict') throw error;
      return this.#pipeline.run('channel.get', channel, this.#call);
    }
  }

  /** Subscribes the session of `call` (a connection's); `since` resumes after a seq (cache channels). */
  async subscribe(call: Call, ref: HubChannelRef, since: number | undefined): Promise<void> {
    await this.#pipeline.run('subscribe', { channel: ref.id, since }, call);
  }

  async unsubscribe(call: Call, ref: HubChannelRef): Promise<void> {
    await this.#pipeline.run('unsubscribe', { channel: ref.id }, call);
  }

  /** The seq to resume after so a `cache-` subscriber gets the last event, or null on a miss. */
  async cachedSince(ref: HubChannelRef): Promise<number | null> {
    const { events } = await this.#pipeline.run('history', { channel: ref.id, limit: 1 }, this.#call);
    const last = events[0];
    if (!last || last.deletedAt !== null || Date.now() - last.createdAt > CACHE_TTL_MS) return null;
    return last.seq - 1;
  }
}

/**
 * A hub message as a Pusher frame on channel `name`. Events the Pusher API published keep
 * their name and data; anything a user published (even with a `pusherEvent` in its data,
 * which would otherwise pass for one of the app's events) arrives as `message`, `edit` or
 * `delete` (the event's kind) with the event as JSON data. Presence and typing signals of
 * native clients are not relayed (Pusher presence is its own, see docs/pusher.md).
 */
export function encodeHubEvent(name: string, message: Outbound): string | null {
  if (message.type !== 'event') return null;
  const event = message.event;
  if (event.kind === 'message' && event.author === null && isPusherMessageData(event.data)) {
    return JSON.stringify({ event: event.data.pusherEvent, channel: name, data: event.data.data });
  }
  const data = JSON.stringify({
    seq: event.seq,
    id: event.id,
    author: event.author,
    text: event.text,
    data: event.data,
    replyTo: event.replyTo,
    target: event.target,
    createdAt: event.createdAt,
    editedAt: event.editedAt,
    deletedAt: event.deletedAt,
  });
  return JSON.stringify({ event: event.kind, channel: name, data });
}

/** The socket a Pusher API publish asked to leave out (`socket_id`), if any. */
export function excludedSocketOf(message: Outbound): string | undefined {
  if (message.type !== 'event' || message.event.author !== null || !isPusherMessageData(message.event.data)) return undefined;
  return message.event.data.pusherSocketId;
}
