import { PRESENCE_PAGE_LIMIT } from '../../protocol/commands.js';
import type { PresenceChange } from '../../protocol/frames.js';
import type { PresenceRegistry } from './broker.js';
import type { FanOut } from './fan-out.js';
import type { Logger } from './logger.js';
import { FrameIds, presenceFrameOf } from './presence-frames.js';
import type { Session } from './session.js';
import type { ChannelId, EphemeralEvent, Millis, PresenceMember, UserId } from './types.js';

export interface PresenceSettings {
  /** Distinct users above which a channel gets only counts (`occupancy` frames), no join/leave. */
  readonly occupancyAbove: number;
  /** A channel in occupancy mode gets its count at most this often (per node). */
  readonly occupancyIntervalMs: Millis;
}

export const DEFAULT_PRESENCE_SETTINGS: PresenceSettings = { occupancyAbove: 200, occupancyIntervalMs: 1000 };

/** A page of a channel's presence (the `presence` command). */
export interface PresencePage {
  readonly members: PresenceMember[];
  readonly next: UserId | null;
  readonly users: number;
  /** `occupancy` above the threshold: the channel sends counts, not join/leave (see Presence). */
  readonly mode: 'members' | 'occupancy';
}

/** A channel this node counts rather than lists: when it last pushed a count, and what. */
interface Occupancy {
  pushedAt: Millis;
  users: number;
  timer: NodeJS.Timeout | null;
}

/**
 * Who is in which channel, across nodes: a user's sessions enter a channel's presence
 * when they subscribe and leave it when they unsubscribe or disconnect. The registry
 * (the broker's) counts sessions cluster-wide, so `join` and `leave` mark a user's first
 * and last session anywhere.
 *
 * Changes are announced once per tick and channel, not once per change: a tick's changes
 * go to every subscriber (on every node) as one frame, so a thousand subscribes at once
 * cost each subscriber one frame. A channel with more users than `occupancyAbove` gets no
 * join/leave at all, only its count, at most once per `occupancyIntervalMs`: without that,
 * n subscribers joining one by one would still cost n frames each, n^2 in all.
 */
export class Presence {
  readonly #registry: PresenceRegistry;
  readonly #fanOut: FanOut;
  readonly #logger: Logger;
  readonly #settings: PresenceSettings;
  /** This tick's changes per channel, in order. */
  #pending = new Map<ChannelId, PresenceChange[]>();
  #scheduled = false;
  /** Announcements go out one tick after another, so a channel's frames keep their order. */
  #announcing: Promise<void> = Promise.resolve();
  readonly #occupancy = new Map<ChannelId, Occupancy>();
  readonly #ids = new FrameIds();

  /** Told of each presence frame made here (the hub's `presenceChanged` hook). */
  readonly #onFrame: ((frame: EphemeralEvent) => void) | undefined;

  constructor(options: {
    registry: PresenceRegistry;
    fanOut: FanOut;
    logger: Logger;
    settings?: PresenceSettings;
    onFrame?: (frame: EphemeralEvent) => void;
  }) {
    this.#onFrame = options.onFrame;
    this.#registry = options.registry;
    this.#fanOut = options.fanOut;
    this.#logger = options.logger;
    this.#settings = options.settings ?? DEFAULT_PRESENCE_SETTINGS;
  }

  /** Adds a user's session to the channel's presence, unless its subscription ended while that was under way. */
  async enter(session: Session, channel: ChannelId, subscription: { readonly active: boolean }, info?: unknown): Promise<void> {
    const action = await this.#registry.add(channel, session.principal.userId, session.id, info);
    if (subscription.active) {
      this.#queue(channel, { action, user: session.principal.userId, session: session.id, ...(info !== undefined && { info }) });
      return;
    }
    await this.#registry.remove(channel, session.principal.userId, session.id);
  }

  /** Removes the session from the channel's presence; a failure is logged, never thrown into an unsubscribe or disconnect. */
  async leave(session: Session, channel: ChannelId): Promise<void> {
    try {
      const action = await this.#registry.remove(channel, session.principal.userId, session.id);
      if (action) this.#queue(channel, { action, user: session.principal.userId, session: session.id });
    } catch (error) {
      this.#logger.warn({ err: error, channel }, 'presence removal failed');
    }
  }

  /**
   * Members in user id order, `limit` at a time (default the `presence` command's) after
   * `after`, with the mode the count puts the channel in: a client that shows the list
   * reads it all only where join/leave frames keep it true afterwards.
   */
  async list(channel: ChannelId, page: { readonly after?: UserId; readonly limit?: number } = {}): Promise<PresencePage> {
    const { members, more, users } = await this.#registry.page(channel, page.after, page.limit ?? PRESENCE_PAGE_LIMIT);
    const mode = users > this.#settings.occupancyAbove ? 'occupancy' : 'members';
    return { members, next: more && members.length > 0 ? members.at(-1)!.user : null, users, mode };
  }

  /** Stops the occupancy timers (the node is closing). */
  close(): void {
    for (const state of this.#occupancy.values()) if (state.timer) clearTimeout(state.timer);
    this.#occupancy.clear();
  }

  #queue(channel: ChannelId, change: PresenceChange): void {
    const changes = this.#pending.get(channel);
    if (changes) changes.push(change);
    else this.#pending.set(channel, [change]);
    if (this.#scheduled) return;
    this.#scheduled = true;
    // After this turn's I/O: every subscribe read in it lands in the same frame.
    setImmediate(this.#flush);
  }

  readonly #flush = (): void => {
    this.#scheduled = false;
    const tick = this.#pending;
    this.#pending = new Map();
    this.#announcing = this.#announcing
      .then(async () => {
        for (const [channel, changes] of tick) await this.#announce(channel, changes);
      })
      .catch((error: unknown) => this.#logger.warn({ err: error }, 'presence announcement failed'));
  };

  async #announce(channel: ChannelId, changes: PresenceChange[]): Promise<void> {
    let users: number | null = null;
    try {
      users = await this.#registry.count(channel);
    } catch (error) {
      // Without a count the changes go out as they are: exact, if not cheap.
      this.#logger.warn({ err: error, channel }, 'presence count failed; announcing changes one by one');
    }
    const counted = this.#occupancy.get(channel);
    if (users !== null && users > this.#settings.occupancyAbove) {
      if (counted) this.#pushSoon(channel, counted);
      else this.#startCounting(channel, users);
      return;
    }
    if (counted) {
      if (counted.timer) clearTimeout(counted.timer);
      this.#occupancy.delete(channel);
      this.#fanOut.broadcast({ type: 'occupancy', channel, id: this.#ids.next(), at: Date.now(), users: users ?? 0, mode: 'members' });
    }
    const frame = presenceFrameOf(channel, changes, this.#ids.next(), Date.now());
    this.#fanOut.broadcast(frame);
    this.#onFrame?.(frame);
  }

  #startCounting(channel: ChannelId, users: number): void {
    const at = Date.now();
    this.#occupancy.set(channel, { pushedAt: at, users, timer: null });
    this.#fanOut.broadcast({ type: 'occupancy', channel, id: this.#ids.next(), at, users, mode: 'occupancy' });
  }

  /** The count changed: push it once the interval since the last push has passed. */
  #pushSoon(channel: ChannelId, state: Occupancy): void {
    if (state.timer) return;
    const wait = Math.max(0, state.pushedAt + this.#settings.occupancyIntervalMs - Date.now());
    state.timer = setTimeout(() => {
      state.timer = null;
      void this.#pushCount(channel, state);
    }, wait);
    state.timer.unref();
  }

  async #pushCount(channel: ChannelId, state: Occupancy): Promise<void> {
    let users: number;
    try {
      users = await this.#registry.count(channel);
    } catch (error) {
      this.#logger.warn({ err: error, channel }, 'presence count failed; the next change pushes it');
      return;
    }
    // Left occupancy meanwhile (below the threshold: an announcement said so), or nothing changed.
    if (this.#occupancy.get(channel) !== state || users === state.users) return;
    state.pushedAt = Date.now();
    state.users = users;
    this.#fanOut.broadcast({ type: 'occupancy', channel, id: this.#ids.next(), at: state.pushedAt, users, mode: 'occupancy' });
  }
}
