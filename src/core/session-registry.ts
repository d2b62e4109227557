import { randomUUID } from 'node:crypto';
import type { Deadline } from './deadline-queue.js';
import type { Delivery } from './delivery.js';
import { SwitchboardError } from './errors.js';
import { MultiMap } from './multimap.js';
import type { Session, SessionSink } from './session.js';
import type { ChannelId, Principal, SessionId, UserId } from './types.js';

const NO_CHANNELS: ReadonlySet<ChannelId> = new Set();

/** A connected session as the hub keeps it: the channels it is subscribed to, and whether it has ended. */
export class HubSession implements Session {
  readonly id: SessionId;
  readonly transport: string;
  readonly sink: SessionSink;
  #principal: Principal;
  /** Made on the first subscribe: most sessions of a large node are idle (a Set is ~230 bytes). */
  #channels: Set<ChannelId> | null = null;
  /** Its place in the hub's expiry queue while its credential expires. */
  expiry: Deadline<HubSession> | null = null;
  closed = false;

  constructor(principal: Principal, transport: string, sink: SessionSink) {
    this.id = randomUUID();
    this.#principal = principal;
    this.transport = transport;
    this.sink = sink;
  }

  get principal(): Principal {
    return this.#principal;
  }

  /** A refreshed credential of the same user (`auth.refresh`): its expiry, roles and name from now on. */
  renew(principal: Principal): void {
    this.#principal = principal;
  }

  get channels(): ReadonlySet<ChannelId> {
    return this.#channels ?? NO_CHANNELS;
  }

  enter(id: ChannelId): void {
    (this.#channels ??= new Set()).add(id);
  }

  leave(id: ChannelId): void {
    this.#channels?.delete(id);
  }
}

/**
 * This node's sessions, by id, and users' sessions by user (for frames meant for a user
 * rather than a channel). Server principals (API keys) are nobody's sessions.
 */
export class SessionRegistry {
  readonly #byId = new Map<SessionId, HubSession>();
  readonly #byUser = new MultiMap<UserId, HubSession>();

  get size(): number {
    return this.#byId.size;
  }

  open(principal: Principal, transport: string, sink: SessionSink): HubSession {
    const session = new HubSession(principal, transport, sink);
    this.#byId.set(session.id, session);
    if (principal.kind === 'user') this.#byUser.add(principal.userId, session);
    return session;
  }

  /** Marks the session closed and forgets it; null when it was closed already (or never known). */
  close(session: Session): HubSession | null {
    const state = this.#byId.get(session.id);
    if (!state || state.closed) return null;
    state.closed = true;
    this.#byId.delete(session.id);
    if (state.principal.kind === 'user') this.#byUser.delete(state.principal.userId, state);
    return state;
  }

  /** The hub's record of a session that is still open, or `unavailable`. */
  live(session: Session): HubSession {
    const state = this.#byId.get(session.id);
    if (!state || state.closed) throw new SwitchboardError('unavailable', 'The session is closed.');
    return state;
  }

  /** The hub's record of a session while it is open. */
  find(id: SessionId): HubSession | undefined {
    const state = this.#byId.get(id);
    return state && !state.closed ? state : undefined;
  }

  all(): IterableIterator<HubSession> {
    return this.#byId.values();
  }

  of(user: UserId): Iterable<HubSession> {
    return this.#byUser.get(user);
  }

  /** How many sessions the user holds on this node. */
  countOf(user: UserId): number {
    return this.#byUser.count(user);
  }

  /** Hands one delivery to every session of these users on this node. */
  deliverTo(users: Iterable<UserId>, delivery: Delivery): void {
    for (const user of users) for (const session of this.#byUser.get(user)) session.sink.deliver(delivery);
  }
}
