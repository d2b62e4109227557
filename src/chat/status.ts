import type { UserState, UserStatus } from '../../protocol/values.js';
import type { PresenceRegistry } from '../core/broker.js';
import { Delivery } from '../core/delivery.js';
import { isUnavailable, SwitchboardError } from '../core/errors.js';
import type { Session } from '../core/session.js';
import type { SessionId, UserId } from '../core/types.js';
import { unknownUser } from './chat-cache.js';
import type { ChatContext } from './chat-context.js';
import { CHAT_MODULE, type ChatNotice } from './notices.js';
import { PendingSnapshots } from './pending-snapshots.js';
import { PendingStatusChanges, type RegistryStatusChange, type SessionStatusChange } from './pending-status-changes.js';
import { ONLINE_KEY } from './user-states.js';

type StatusNotice = Extract<ChatNotice, { kind: 'status' }>;

const SETTLED = Promise.resolve();
/** The snapshot of a user with no contacts: one frame, encoded once for every such connect. */
const NO_CONTACTS = new Delivery({ type: 'contacts', contacts: [] });

/**
 * Online / away / offline per user. A user is online from their first session on any
 * node to their last (the broker's presence registry counts sessions cluster-wide; a
 * silent client is dropped by its transport's heartbeat, which ends the session).
 * Changes go to the user's contacts and everyone who shares a channel or DM with them,
 * as `status` frames; a session is sent its user's contacts when it opens, or once the
 * database answers again if it was out of reach then (PendingSnapshots). A connect or a
 * last disconnect that could not read whom to tell, the database out of reach, is
 * announced once it answers, unless a later change of the user's came first
 * (PendingStatusChanges), and so is a change the registry made on its own (a reap, a
 * write-back) whose reads found the database out of reach.
 *
 * A session never gets the same status for a user twice in a row. A change the registry
 * made on its own (a reaped node's sessions leaving, a cut-off node's written back) is
 * acted on by the one node that made it, yet a node cut off from the cluster may report a
 * return its own sessions never saw the user leave, and a local close and a reaper may
 * both say offline: so the frame is held back from sessions that were last told the same.
 */
export class UserStatusTracker {
  readonly #context: ChatContext;
  readonly #presence: PresenceRegistry;
  /** Called for every status change, local or from another node (live user lists). */
  readonly #onChange: (state: UserState) => void;
  /** Per-user chains, so one user's connect and disconnect are handled in order. */
  readonly #queues = new Map<UserId, Promise<void>>();
  /**
   * The status this node's sessions were last told for each user (a frame, or the first
   * contacts snapshot that named the user). One entry per user whose last change reached a
   * session here.
   */
  readonly #told = new Map<UserId, UserStatus>();
  /**
   * Sessions told otherwise by their contacts snapshot (read from the database, which may
   * be ahead of or behind the frames this node got): session -> user -> status. An entry
   * lasts until the next frame about that user settles it.
   */
  readonly #toldOtherwise = new Map<SessionId, Map<UserId, UserStatus>>();
  /** Snapshots being read, and those read again after an outage. */
  readonly #snapshots: PendingSnapshots;
  /** Connects and last disconnects whose reads found the database out of reach, announced once it answers. */
  readonly #late = new PendingStatusChanges({ announce: (change) => this.#announceLate(change) });
  /**
   * Changes the registry made on its own whose reads found the database out of reach. Apart
   * from #late: such a change may find nothing to announce, so it must not take the place
   * of a connect or disconnect still waiting.
   */
  readonly #lateRegistry = new PendingStatusChanges<RegistryStatusChange>({ announce: (change) => this.#announceLateRegistry(change) });

  constructor(context: ChatContext, presence: PresenceRegistry, onChange: (state: UserState) => void) {
    this.#context = context;
    this.#presence = presence;
    this.#onChange = onChange;
    this.#snapshots = new PendingSnapshots({
      read: (user) => context.cache.contactStates(user),
      send: (session, contacts) => this.#sendSnapshot(session, contacts),
      logger: context.logger,
    });
  }

  sessionOpened(session: Session): void {
    const user = session.principal.userId;
    this.#background(user, async () => {
      // No contacts (cached): the snapshot is known without a read or a promise.
      const snapshot = this.#context.cache.peekContacts(user)?.length === 0 ? null : this.#context.cache.contactStates(user);
      // Awaited below; marked handled now, since a step before that may throw first (the
      // node is closing and the database is gone) and leave it rejected with no one looking.
      snapshot?.catch(() => {});
      if (snapshot) this.#snapshots.due(session);
      const sendContacts = snapshot ? () => this.#sendWhenRead(session, snapshot) : () => session.sink.deliver(NO_CONTACTS);
      const action = await this.#presence.add(ONLINE_KEY, user, session.id);
      if (action === 'join') await this.#change(user, 'online', { followsSessions: true, first: sendContacts, name: session.principal.name });
      else await sendContacts();
    });
  }

  sessionClosed(session: Session): void {
    const user = session.principal.userId;
    this.#background(user, async () => {
      // In the user's chain, after the snapshot of the session's opening was recorded.
      this.#toldOtherwise.delete(session.id);
      this.#snapshots.forget(session.id);
      const action = await this.#presence.remove(ONLINE_KEY, user, session.id);
      if (action === 'leave') await this.#change(user, 'offline', { followsSessions: true });
    });
  }

  /**
   * A user's own choice between online and away (offline follows their sessions), refused
   * while they hold no session anywhere: every read says offline then.
   */
  set(user: UserId, status: Exclude<UserStatus, 'offline'>): Promise<UserState> {
    // It does not follow the sessions, so it never waits to be announced: it is made or refused.
    return this.#enqueue(user, async () => {
      // A session here answers without the registry (a command over it comes after its
      // open in this chain); only one from elsewhere (REST, gRPC unary) asks it.
      if (isEmpty(this.#context.hub.sessionsOf(user)) && (await this.#presence.sessionsOf(ONLINE_KEY, user)) === 0) {
        throw new SwitchboardError('conflict', 'Your status follows your connections, and you have none: connect first.');
      }
      return (await this.#change(user, status)) as UserState;
    });
  }

  /**
   * This node's registry changed behind the hub's back: it reaped a dead node's sessions
   * (`leave`), or wrote this node's sessions back after a partition (`join`). This node
   * alone records the user's status, if it changed, and tells every node.
   */
  registryChanged(user: UserId, action: 'join' | 'leave'): void {
    this.#background(user, () => this.#registryChange({ user, action, at: Date.now() }));
  }

  /** A status notice from another node: deliver it to the audience's sessions here. */
  apply(notice: StatusNotice): void {
    this.#supersede(notice.state.user, notice.at);
    this.#context.cache.statusChanged(notice.state);
    this.#deliver(notice.state, notice.audience, notice.at);
  }

  /** Settles every status change queued so far, and a round of late snapshots or changes under way (tests, shutdown). */
  async idle(): Promise<void> {
    await Promise.all([...this.#queues.values(), this.#snapshots.idle(), this.#late.idle(), this.#lateRegistry.idle()]);
  }

  /** Stops reading late snapshots and changes (the node is stopping; the database closes next). */
  close(): void {
    this.#snapshots.close();
    this.#late.close();
    this.#lateRegistry.close();
  }

  /** A change that waited, tried again in the user's chain: skipped if a later change came first meanwhile. */
  #announceLate(change: SessionStatusChange): Promise<void> {
    return this.#inChain(change.user, async () => {
      if (this.#late.due(change)) await this.#change(change.user, change.status, { followsSessions: true, late: change });
    });
  }

  /** A registry's change that waited, tried again in the user's chain, unless a later change came first meanwhile. */
  #announceLateRegistry(change: RegistryStatusChange): Promise<void> {
    return this.#inChain(change.user, async () => {
      if (this.#lateRegistry.due(change)) await this.#registryChange(change, true);
    });
  }

  /**
   * Acts on a change the registry made on its own: records and announces the user's status
   * if it changed. Its reads failing with the database out of reach, it waits and is tried
   * again (`retry`) until it is done or a later change of the user's comes first.
   */
  async #registryChange(change: RegistryStatusChange, retry = false): Promise<void> {
    const { user, action } = change;
    this.#lateRegistry.begin(change);
    try {
      // The user's entry alone: a reaped node's users are each asked, and listing everyone
      // online for each of them made a node's death cost its users times the cluster's.
      const online = (await this.#presence.sessionsOf(ONLINE_KEY, user)) > 0;
      if (online && action === 'join') {
        // Back from a partition (the other nodes reaped them): online again, or away if they
        // chose it and no reaper wrote them offline meanwhile. Nothing to write: the
        // registry says it, as for a connect.
        const [stored] = await this.#context.tables.userStates([user]);
        await this.#change(user, stored?.status === 'away' ? 'away' : 'online', { write: false });
      }
      // Their last session reaped: offline. A session told so already (a local close said it
      // too) is not told twice (#deliver).
      if (!online && action === 'leave') await this.#change(user, 'offline');
    } catch (error) {
      if (isUnavailable(error)) {
        // Once per change, not once per round.
        if (this.#lateRegistry.wait(change) && !retry) this.#context.logger.warn({ err: error, user, action }, 'user status not announced yet');
        return;
      }
      this.#lateRegistry.forget(change);
      throw error;
    }
    this.#lateRegistry.forget(change);
  }

  /**
   * Stores and announces a change. Other nodes hear of it once it is stored, and so do
   * this node's sessions, except of a change that follows the user's sessions. A connect
   * is stored nowhere but the registry, which every read of a status consults (UserStates),
   * so it is told at once. A last disconnect is soft state, laid over this node's reads
   * until written, so its frames go at once rather than a batched write later, and other
   * nodes hear of it once it is written, or once its write found the database out of reach
   * (it is written again when the database answers). `first` sends what must
   * reach sessions before the frames (a connect's contacts snapshot), once the change is
   * known, so both leave in one socket write: on SQLite a connect whose reads were
   * answered with its own write (HubObserver.connecting) is one write (welcome, contacts,
   * own status); contacts' states, and members of channels not cached, are read after it
   * and add one. `name` names a user whose row is not read yet (a first connect's).
   *
   * A change that follows the sessions and cannot read whom to tell, the database out of
   * reach, tells no one: it waits to be announced once the database answers
   * (PendingStatusChanges), unless a later change of the user's came during its reads, and
   * resolves null. `late` is such a change, tried again, and announced only if still due
   * once read and confirmed (#confirmLate): a disconnect is written first, only where no
   * newer change is in the table (a newer row left in place is not announced); a connect
   * is told if the registry still holds a session of the user's. A `status.set` or a
   * registry's change is written once its reads succeeded, so one that waits for them never
   * finds itself in the table already.
   */
  async #change(
    user: UserId,
    status: UserStatus,
    options: { followsSessions?: boolean; first?: () => Promise<void> | void; name?: string; late?: SessionStatusChange; write?: boolean } = {},
  ): Promise<UserState | null> {
    const { tables, hub, cache } = this.#context;
    const late = options.late;
    const at = late?.at ?? Date.now();
    const name = late?.name ?? options.name;
    const early = options.followsSessions === true;
    // The registry moved since a change of the user's still waiting: that one is out of
    // date, whatever becomes of this one (a late one is the one waiting).
    if (early && !late) this.#supersede(user);
    // A last disconnect's write goes now, to share its round with other connects' and
    // disconnects' writes and reads. A connect writes no status (the registry says it).
    const stored = early && !late && status === 'offline' ? tables.setStatus(user, status, at, true) : null;
    stored?.catch(() => {});
    // The state before the change (name, last seen) and the audience come from the cache:
    // no query on a reconnect (and no await either: a storm's garbage was mostly promises
    // here), and a first connect's were read ahead with its own write
    // (HubObserver.connecting). Read ahead of the write, a first connect's row may be missing
    // still: it is the user the connect names.
    let before = early ? cache.peekState(user) : undefined;
    let audience = before && cache.peekAudience(user);
    if (!audience) {
      // Pending from here, so that a later change heard during the reads supersedes it.
      const pending = early ? (late ?? { user, status, at, name }) : null;
      if (pending) this.#late.begin(pending);
      try {
        [before, audience] = await Promise.all([cache.state(user), cache.audienceOf(user)]);
      } catch (error) {
        if (!pending || !isUnavailable(error)) {
          if (pending) this.#late.forget(pending);
          throw error;
        }
        // Once per change, not once per round.
        if (this.#late.wait(pending) && !late) this.#context.logger.warn({ err: error, user, status }, 'user status not announced yet');
        return null;
      } finally {
        // Sent even when the change cannot be: the snapshot does not depend on it.
        await options.first?.();
      }
      // Tried again, and a later change of the user's came while it was read: that one
      // stands. (A first attempt is announced: its order against another node's change is
      // the registry's, which clocks compared across nodes do not know.)
      if (late && !this.#late.due(late)) return null;
    } else {
      // Cached: no promise unless the snapshot has one.
      const sending = options.first?.();
      if (sending) await sending;
    }
    // A return ends an away left over from before it (read by now, if this node had not).
    if (early && !late && status === 'online' && cache.mayBeStoredAway(user)) this.#returned(user, at);
    // Stored before anyone is told; a refusal (`status.set`) tells no one.
    if (!early && options.write !== false) await tables.setStatus(user, status, at);
    // Late, a disconnect is written first too, and only where the table holds nothing
    // newer. A newer row (another node's change, its notice not here yet) stands, and so
    // does a newer change heard during the write: their notices tell everyone, and every
    // node ends with what the table holds, not with whichever notice reached it last. A late
    // connect is checked against the registry.
    if (late && !(await this.#confirmLate(late))) return null;
    if (late && status === 'online' && cache.mayBeStoredAway(user)) this.#returned(user, at);
    // last seen records when the user was last online, so it moves only when they go offline.
    const lastSeen = status === 'offline' ? at : (before?.lastSeen ?? null);
    const current: UserState = { ...(before ?? unknownUser(user, name)), status, lastSeen };
    // The user's own other devices hear it too (the audience is a new array each time).
    const everyone = audience;
    everyone.push(user);
    // Told now (a `status.set`, a registry's change; this one, if late): one still waiting would take it back.
    this.#supersede(user);
    cache.statusChanged(current);
    this.#deliver(current, everyone, at);
    if (stored) {
      try {
        await stored;
      } catch (error) {
        if (!isUnavailable(error)) throw error;
        // The database out of reach: this node's sessions were told already, so the other
        // nodes are told too, and the change is written again once the database answers.
        tables.writeStatusLater(user, status, at);
        this.#context.logger.warn({ err: error, user, status }, 'user status not stored yet');
      }
    }
    const notice: StatusNotice = { kind: 'status', state: current, audience: everyone, at };
    hub.sendNotice(CHAT_MODULE, notice);
    return current;
  }

  /**
   * The user's first session began at `at`: a stored away from before it goes (written in
   * the connects' batch, and only over an older away), unless this node read their row as
   * not away and was not told away since (ChatCache.mayBeStoredAway). The database out of
   * reach, the store clears it once it answers (ChatStore.userReturned); a connect does not
   * wait for that.
   */
  #returned(user: UserId, at: number): void {
    this.#context.tables.userReturned(user, at).catch(() => {});
  }

  /**
   * Whether a change announced late is to be told now. A connect is told only while the
   * registry holds a session of the user's: gone since, its disconnect is the one to tell
   * (or was told). A disconnect only while it holds none (the user may be back on another
   * node, its notice lost), and it is written first, only where the table holds nothing
   * newer: a newer row stands. Either way a newer change of the user's heard meanwhile stands, and
   * the late one is given up. The database or the registry out of reach again, it waits
   * once more: no one was told yet. Any other failure gives it up, and is the caller's.
   */
  async #confirmLate(late: SessionStatusChange): Promise<boolean> {
    let confirmed: boolean;
    try {
      const sessions = await this.#presence.sessionsOf(ONLINE_KEY, late.user);
      // A disconnect's user back since (on another node, its notice lost): not offline.
      if (late.status === 'online') confirmed = sessions > 0;
      else confirmed = sessions === 0 && (await this.#context.tables.setStatus(late.user, late.status, late.at, false, true));
    } catch (error) {
      if (!isUnavailable(error)) {
        this.#late.forget(late);
        throw error;
      }
      this.#late.wait(late);
      return false;
    }
    if (confirmed && this.#late.due(late)) return true;
    this.#late.forget(late);
    return false;
  }

  /**
   * Sends a session its contacts snapshot once read. A failure never fails the change it
   * goes before (the user is online all the same): the database out of reach, the
   * snapshot is read again until sent (PendingSnapshots); any other failure costs it.
   */
  async #sendWhenRead(session: Session, snapshot: Promise<UserState[]>): Promise<void> {
    try {
      const contacts = await snapshot;
      this.#sendSnapshot(session, this.#snapshots.onTime(session.id, contacts));
    } catch (error) {
      const user = session.principal.userId;
      if (isUnavailable(error)) {
        this.#snapshots.retry(session.id);
        this.#context.logger.warn({ err: error, user }, 'contacts snapshot not sent yet');
      } else {
        this.#snapshots.forget(session.id);
        this.#context.logger.warn({ err: error, user }, 'contacts snapshot not sent');
      }
    }
  }

  /** Sends the snapshot (on time, or late) and records what it told each contact's status to be. */
  #sendSnapshot(session: Session, contacts: UserState[]): void {
    session.sink.deliver(new Delivery({ type: 'contacts', contacts }));
    for (const contact of contacts) this.#tell(session.id, contact.user, contact.status);
  }

  #deliver(state: UserState, audience: readonly UserId[], at: number): void {
    const frame = { type: 'status', user: state.user, status: state.status, lastSeen: state.lastSeen, at } as const;
    const delivery = new Delivery(frame);
    const told = this.#told.get(state.user);
    let reached = false;
    for (const user of audience) {
      for (const session of this.#context.hub.sessionsOf(user)) {
        reached = true;
        if (this.#settle(session.id, state.user, told) !== state.status) session.sink.deliver(delivery);
        // A snapshot still due must not take it back (PendingSnapshots), even where the frame
        // was held back as already told: a session that opened since never had it.
        this.#snapshots.heard(session.id, state);
      }
    }
    // No session here heard it: none holds an older word either, so a session that opens
    // later (a channel mate, the user's own) is told the next change whatever it is.
    if (reached) this.#told.set(state.user, state.status);
    else this.#told.delete(state.user);
    this.#onChange(state);
  }

  /** A session was sent `user`'s status in its contacts snapshot. */
  #tell(session: SessionId, user: UserId, status: UserStatus): void {
    const told = this.#told.get(user);
    if (told === undefined) this.#told.set(user, status);
    else if (told !== status) {
      let own = this.#toldOtherwise.get(session);
      if (!own) this.#toldOtherwise.set(session, (own = new Map()));
      own.set(user, status);
    }
  }

  /** What the session was last told of `user`, forgetting its own snapshot: the frame at hand settles it. */
  #settle(session: SessionId, user: UserId, told: UserStatus | undefined): UserStatus | undefined {
    const own = this.#toldOtherwise.get(session);
    const status = own?.get(user);
    if (status === undefined) return told;
    own!.delete(user);
    if (own!.size === 0) this.#toldOtherwise.delete(session);
    return status;
  }

  /** A later change of the user's came first (`at`: made on another node): none still waiting is due. */
  #supersede(user: UserId, at?: number): void {
    this.#late.supersede(user, at);
    this.#lateRegistry.supersede(user, at);
  }

  /** A waiting change's turn in the user's chain. Any failure but the database's absence is logged by the chain, and the change given up. */
  async #inChain(user: UserId, work: () => Promise<void>): Promise<void> {
    await this.#enqueue(user, work).catch(() => {});
  }

  #background(user: UserId, work: () => Promise<void>): void {
    // Its failure is logged by the chain (#enqueue), which handles the rejection.
    void this.#enqueue(user, work);
  }

  /** Runs `work` after the user's earlier status work; a failure is logged and ends only this step. */
  #enqueue<T>(user: UserId, work: () => Promise<T>): Promise<T> {
    const result = (this.#queues.get(user) ?? SETTLED).then(work);
    const settled: Promise<void> = result.then(
      () => this.#dequeue(user, settled),
      (error: unknown) => {
        this.#context.logger.warn({ err: error, user }, 'user status update failed');
        this.#dequeue(user, settled);
      },
    );
    this.#queues.set(user, settled);
    return result;
  }

  /** The user's chain is done with `step`: forgotten unless more was queued behind it. */
  #dequeue(user: UserId, step: Promise<void>): void {
    if (this.#queues.get(user) === step) this.#queues.delete(user);
  }
}

/** Whether the iterable yields nothing (a user's sessions on this node, say). */
function isEmpty(items: Iterable<unknown>): boolean {
  for (const _ of items) return false;
  return true;
}
