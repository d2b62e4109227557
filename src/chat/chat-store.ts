import type { Expression, Kysely, SqlBool } from 'kysely';
import { sql } from 'kysely';
import type {
  DirectConversation,
  ReactionCount,
  ReadPosition,
  UnreadChannel,
  UserState,
  UserStatus,
} from '../../protocol/values.js';
import { isUnavailable } from '../core/errors.js';
import type { AnnotationAppend } from '../core/store.js';
import type { Channel, ChannelEvent, ChannelId, Millis, Seq, User, UserId } from '../core/types.js';
import type { AnnotationWriter } from '../store/annotation-writer.js';
import type { Database } from '../store/database.js';
import { toChannel, toEvent, toUser } from '../store/rows.js';
import type { LogTables } from '../store/schema.js';
import type { RowsStatement, SqlDialect } from '../store/sql-dialect.js';
import { type BatchRounds, stormBatching, TickBatcher } from '../store/tick-batcher.js';
import { RetryRounds } from './retry-rounds.js';

/** The chat module's tables (migration 0003-chat). Times are epoch milliseconds. */
export type ChatTables = {
  contacts: { user_id: string; contact_id: string; created_at: number };
  user_status: { user_id: string; status: string; last_seen: number | null; updated_at: number };
  read_state: { channel: string; user_id: string; seq: number; updated_at: number };
  reactions: { channel: string; seq: number; emoji: string; user_id: string; created_at: number };
};

type Tables = LogTables & ChatTables;

/** A search position: the `createdAt`, channel and seq of the last result seen. */
export interface SearchCursor {
  readonly createdAt: Millis;
  readonly channel: ChannelId;
  readonly seq: Seq;
}

export interface SearchQuery {
  /** Words to find (all of them); matched on whole words, case-insensitively. */
  readonly text: string;
  /** Only channels the user may read: null means every channel (server principals). */
  readonly readableBy: UserId | null;
  readonly channel?: ChannelId;
  readonly author?: UserId;
  /** Results older than this position (newest first): `{createdAt, channel, seq}` of the last result seen. */
  readonly before?: SearchCursor;
  readonly limit: number;
}

interface StatusChange {
  readonly user: UserId;
  readonly status: UserStatus;
  readonly at: Millis;
  /** The user's audience heard of it before it was written (a last disconnect). */
  readonly told: boolean;
  /** Order of the changes made on this node (clocks may step back; this never does). */
  readonly seq: number;
  /** Written only over an older row: announced late, it must not undo what another node wrote meanwhile. */
  readonly onlyNewer?: boolean;
}

const STATUS_COLUMNS = { user_id: 'text', status: 'text', last_seen: 'bigint', updated_at: 'bigint' } as const;

/**
 * Writes status rows; last_seen keeps its value when the row brings none. `where true`:
 * SQLite's grammar needs it between a select and its upsert clause.
 */
const WRITE_STATUSES: RowsStatement = {
  before: 'insert into user_status (user_id, status, last_seen, updated_at) select r.user_id, r.status, r.last_seen, r.updated_at from',
  alias: 'r',
  columns: STATUS_COLUMNS,
  after: `where true on conflict (user_id) do update set status = excluded.status, updated_at = excluded.updated_at,
    last_seen = coalesce(excluded.last_seen, user_status.last_seen)`,
};

/**
 * The same, only over rows that are not newer than the one written: older, or of the same
 * moment and the same status (the change's own first write, written again). Another
 * node's change of the same millisecond with another status stands. It returns the users
 * whose rows it wrote.
 */
const WRITE_STATUSES_OVER_OLDER: RowsStatement = {
  ...WRITE_STATUSES,
  after: `${WRITE_STATUSES.after}
    where user_status.updated_at < excluded.updated_at or (user_status.updated_at = excluded.updated_at and user_status.status = excluded.status)
    returning user_id`,
};

/**
 * Ends an `away` left over from before a user's return (their last disconnect's write was
 * lost: a crash, an outage), unless it was set since. It matches no row but for such a
 * leftover: an update that changes nothing writes nothing to sync.
 */
const CLEAR_STALE_AWAY: RowsStatement = {
  before: "update user_status set status = 'online', updated_at = r.returned_at from",
  alias: 'r',
  columns: { user_id: 'text', returned_at: 'bigint' },
  after: "where user_status.user_id = r.user_id and user_status.status = 'away' and user_status.updated_at < r.returned_at",
};

/**
 * Writes a tick's status changes with one statement. A user changed
 * twice in one tick is written once, with the last status; last_seen records when the
 * user was last online, so it moves only when they go offline (the last such change).
 * `onlyNewer` leaves rows a later change wrote alone (a change written again, late, after
 * an outage, must not undo what another node wrote meanwhile); it resolves with the users
 * whose rows it wrote (the others held a newer change).
 */
async function writeStatuses(db: Kysely<Tables>, dialect: SqlDialect, changes: readonly StatusChange[], onlyNewer = false): Promise<Set<UserId> | null> {
  const latest = new Map<UserId, { user_id: UserId; status: UserStatus; last_seen: Millis | null; updated_at: Millis }>();
  for (const { user, status, at } of changes) {
    const lastSeen = status === 'offline' ? at : (latest.get(user)?.last_seen ?? null);
    latest.set(user, { user_id: user, status, last_seen: lastSeen, updated_at: at });
  }
  // In user order: statements on other nodes lock the same rows in the same order.
  const rows = [...latest.values()].sort((a, b) => (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0));
  const written = await dialect.softRows<{ user_id: UserId }>(db, onlyNewer ? WRITE_STATUSES_OVER_OLDER : WRITE_STATUSES, rows);
  return onlyNewer ? new Set(written.map((row) => row.user_id)) : null;
}

/**
 * The chat features' queries, on the database every module shares: their own tables,
 * joined with the log's (members, channels, events, users). Every method is one or two
 * queries; none runs on the publish path.
 */
export class ChatStore {
  readonly #db: Kysely<Tables>;
  readonly #dialect: SqlDialect;
  // Lingering as a connect storm's other writes do: a disconnect storm's one write per
  // user is its status, and a transaction per tick was most of its cost.
  readonly #statusChanges: TickBatcher<StatusChange, boolean>;
  /** Users back online, whose leftover `away` (if any) goes: one statement per tick. */
  readonly #returns: TickBatcher<{ user_id: UserId; returned_at: Millis }, null>;
  /**
   * Status changes not yet in the table, laid over what this node reads of it: a contact
   * added the moment a user disconnected must not read them as online for the linger.
   */
  readonly #unwritten = new Map<UserId, StatusChange>();
  /** Status changes told but not written, by user, waiting to be written again (writeStatusLater). */
  readonly #retrying = new Map<UserId, StatusChange>();
  /** Returns whose clearing found the database out of reach (userReturned): the latest per user, cleared again. */
  readonly #returnsWaiting = new Map<UserId, Millis>();
  readonly #retries = new RetryRounds(
    () => this.#writeWaiting(),
    () => this.#retrying.size > 0 || this.#returnsWaiting.size > 0,
  );
  #statusSeq = 0;
  #closed = false;

  /** The rounds the connect path's batches share on this database (the connect caches' reads too). */
  readonly stormRounds: BatchRounds;

  constructor(database: Database) {
    this.#db = database.tables<Tables>();
    this.#dialect = database.dialect;
    this.stormRounds = database.stormRounds;
    this.#returns = new TickBatcher(async (returns) => {
      await this.#clearStaleAways(returns);
      return returns.map(() => null);
    }, stormBatching(this.stormRounds));
    this.#statusChanges = new TickBatcher((changes: readonly StatusChange[]) => this.#writeStatuses(changes), {
      ...stormBatching(this.stormRounds),
      // Rejected after an outage without coming back through #writeStatuses: not laid over reads any more.
      unwritten: (change) => this.#notWritten(change),
    });
  }

  // --- contacts and status ------------------------------------------------------

  async addContact(user: UserId, contact: UserId): Promise<boolean> {
    const now = Date.now();
    const result = await this.#db
      .insertInto('contacts')
      .values([
        { user_id: user, contact_id: contact, created_at: now },
        { user_id: contact, contact_id: user, created_at: now },
      ])
      .onConflict((oc) => oc.columns(['user_id', 'contact_id']).doNothing())
      .executeTakeFirst();
    return Number(result.numInsertedOrUpdatedRows ?? 0) > 0;
  }

  async removeContact(user: UserId, contact: UserId): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('contacts')
      .where((eb) =>
        eb.or([
          eb.and([eb('user_id', '=', user), eb('contact_id', '=', contact)]),
          eb.and([eb('user_id', '=', contact), eb('contact_id', '=', user)]),
        ]),
      )
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listContacts(user: UserId): Promise<UserState[]> {
    const rows = await this.#db
      .selectFrom('contacts as c')
      .leftJoin('users as u', 'u.id', 'c.contact_id')
      .leftJoin('user_status as s', 's.user_id', 'c.contact_id')
      .select(['c.contact_id as user', 'u.name', 'u.avatar_url', 'u.status_text', 's.status', 's.last_seen'])
      .where('c.user_id', '=', user)
      .orderBy('c.contact_id')
      .execute();
    return rows.map((row) => this.#stateOf(row.user, row));
  }

  /**
   * Status changes made in one tick are one statement, committed without waiting for the
   * disk (soft state, SqlDialect.softRows): every user coming online after a restart would
   * otherwise cost a commit and an fsync of its own. `told`: the user's audience hears of the change
   * before it is written (a last disconnect). `onlyNewer`: a change announced
   * late, written only where the table holds nothing newer; it resolves false when the
   * table held a newer change (true otherwise).
   */
  setStatus(user: UserId, status: UserStatus, at: Millis, told = false, onlyNewer = false): Promise<boolean> {
    const change = { user, status, at, told, seq: ++this.#statusSeq, onlyNewer };
    // An only-newer change may find a newer row: it is read once written, not before.
    if (!onlyNewer) this.#unwritten.set(user, change);
    return this.#statusChanges.add(change);
  }

  /**
   * A user came back online (their first session): an `away` stored before `at` is over.
   * A connect writes no status, so without this an away whose user left without their
   * last disconnect being written would be read again for their whole next visit.
   */
  async userReturned(user: UserId, at: Millis): Promise<void> {
    try {
      await this.#returns.add({ user_id: user, returned_at: at });
    } catch (error) {
      // Cleared again once the database answers: only an away older than the return goes,
      // so a late clearing never undoes what was set since (an away, an offline).
      if (isUnavailable(error) && !this.#closed) {
        this.#returnsWaiting.set(user, Math.max(at, this.#returnsWaiting.get(user) ?? 0));
        this.#retries.soon();
      }
      throw error;
    }
  }

  async #clearStaleAways(returns: readonly { user_id: UserId; returned_at: Millis }[]): Promise<void> {
    // In user order, as status writes lock their rows: no deadlock between the two.
    const ordered = [...returns].sort((a, b) => (a.user_id < b.user_id ? -1 : a.user_id > b.user_id ? 1 : 0));
    await this.#dialect.softRows(this.#db, CLEAR_STALE_AWAY, ordered);
  }

  /**
   * A told status change whose write found the database out of reach. It stays laid over
   * this node's reads and is written again every second until it lands or a newer change
   * does, so the table catches up with what everyone was told.
   */
  writeStatusLater(user: UserId, status: UserStatus, at: Millis): void {
    const current = this.#unwritten.get(user);
    // A newer change is on its way already: it is the one the table must end with.
    if (this.#closed || (current && current.told && current.at > at)) return;
    const change = { user, status, at, told: true, seq: ++this.#statusSeq };
    // A told one still counted as on its way is this change, whose write failed (a batch
    // retried one by one rejects those after an outage unwritten): this one stands for it.
    if (!current || current.told) this.#unwritten.set(user, change);
    this.#retrying.set(user, change);
    this.#retries.soon();
  }

  /** A user's row, with a status change this node has not written yet laid over it. */
  #stateOf(user: UserId, row: StateRow): UserState {
    const state = toState(user, row);
    const unwritten = this.#unwritten.get(user);
    if (!unwritten) return state;
    return { ...state, status: unwritten.status, lastSeen: unwritten.status === 'offline' ? unwritten.at : state.lastSeen };
  }

  async #writeStatuses(changes: readonly StatusChange[]): Promise<boolean[]> {
    const onlyNewer = changes.filter((change) => change.onlyNewer);
    let written: Set<UserId> | null;
    try {
      // Each statement commits on its own. The only-newer changes go first: reported
      // unwritten though written (the next statement failed), they are written again only
      // over older rows, and that write finds their own. A plain change reported unwritten
      // must not be in the table: a refused `status.set` is never told.
      written = onlyNewer.length > 0 ? await writeStatuses(this.#db, this.#dialect, onlyNewer, true) : null;
      const plain = onlyNewer.length === 0 ? changes : changes.filter((change) => !change.onlyNewer);
      if (plain.length > 0) await writeStatuses(this.#db, this.#dialect, plain);
    } catch (error) {
      // A failed batch of several is retried change by change, each coming back here,
      // except when the database is out of reach: then the whole batch fails as one.
      if (changes.length === 1 || isUnavailable(error)) for (const change of changes) this.#notWritten(change);
      throw error;
    }
    this.#settled(changes);
    if (written === null) return changes.map(() => true);
    // An only-newer change was written if its row was, and it was the user's last in the batch.
    const last = new Map(onlyNewer.map((change) => [change.user, change]));
    const rows = written;
    return changes.map((change) => !change.onlyNewer || (rows.has(change.user) && last.get(change.user) === change));
  }

  /**
   * These changes are in the table now (or never will be): reads no longer lay them over
   * it, and neither they nor older ones wait to be written again.
   */
  #settled(changes: readonly StatusChange[]): void {
    for (const change of changes) {
      if (this.#unwritten.get(change.user) === change) this.#unwritten.delete(change.user);
      const waiting = this.#retrying.get(change.user);
      if (waiting && waiting.seq <= change.seq) this.#retrying.delete(change.user);
    }
  }

  /**
   * A change the database did not take. A told one is newer than any change of the user's
   * waiting to be written again, which must then never land: the caller writes the told
   * one later (writeStatusLater) if the database was out of reach. A refused `status.set`
   * never takes effect later, and reads show again the change it had replaced, if that one
   * is still waiting.
   */
  #notWritten(change: StatusChange): void {
    const waiting = this.#retrying.get(change.user);
    if (change.told && waiting) this.#retrying.delete(change.user);
    if (this.#unwritten.get(change.user) !== change) return;
    if (!change.told && waiting) this.#unwritten.set(change.user, waiting);
    else this.#unwritten.delete(change.user);
  }

  /**
   * One round of writing the waiting changes again: one statement for all of them, off the
   * batcher, so a database that stays away costs new status changes nothing. A change of
   * the user's still on its way goes first; the waiting one waits for its outcome.
   */
  async #writeWaiting(): Promise<void> {
    const due = [...this.#retrying.values()].filter((change) => (this.#unwritten.get(change.user) ?? change) === change);
    try {
      if (due.length > 0) await writeStatuses(this.#db, this.#dialect, due, true);
      this.#settled(due);
    } catch (error) {
      // Not an outage: these will not be written, however often they are tried.
      if (!isUnavailable(error)) this.#settled(due);
    }
    await this.#clearWaitingReturns();
  }

  /** The returns whose clearing failed, cleared in one statement; a return that came meanwhile waits for the next round. */
  async #clearWaitingReturns(): Promise<void> {
    const due = [...this.#returnsWaiting].map(([user, at]) => ({ user_id: user, returned_at: at }));
    if (due.length === 0) return;
    try {
      await this.#clearStaleAways(due);
    } catch (error) {
      if (isUnavailable(error)) return;
    }
    for (const { user_id, returned_at } of due) if (this.#returnsWaiting.get(user_id) === returned_at) this.#returnsWaiting.delete(user_id);
  }

  /** Stops writing status changes again (the node is stopping; the database closes next). */
  close(): void {
    this.#closed = true;
    this.#retries.close();
    this.#retrying.clear();
    this.#returnsWaiting.clear();
  }

  /**
   * The users' states, leaving out users never seen. Written as a template, not with the
   * query builder, as are the batched reads below: a connect storm makes them every
   * round, and building and compiling such a query cost more than SQLite running it.
   */
  async userStates(users: readonly UserId[]): Promise<UserState[]> {
    if (users.length === 0) return [];
    const { rows } = await sql<StateRow & { id: UserId }>`select u.id, u.name, u.avatar_url, u.status_text, s.status, s.last_seen
      from users u left join user_status s on s.user_id = u.id where u.id in (${this.#dialect.textSet(users)})`.execute(this.#db);
    const byId = new Map(rows.map((row) => [row.id, this.#stateOf(row.id, row)]));
    return users.flatMap((user) => byId.get(user) ?? []);
  }

  // --- batched reads behind the connect caches (chat-cache.ts) ----------------------

  /** Each user's state, or null for a user never seen; one query (the keys are one parameter). */
  async statesOf(users: readonly UserId[]): Promise<(UserState | null)[]> {
    const states = new Map((await this.userStates(users)).map((state) => [state.user, state]));
    return users.map((user) => states.get(user) ?? null);
  }

  /** Each user's contacts (ids). */
  async contactIdsOf(users: readonly UserId[]): Promise<UserId[][]> {
    const { rows } = await sql<{ user_id: UserId; contact_id: UserId }>`select user_id, contact_id from contacts
      where user_id in (${this.#dialect.textSet(users)})`.execute(this.#db);
    return groupedBy(users, rows, (row) => [row.user_id, row.contact_id]);
  }

  /** The channels each user is a member of that carry their status (every type but inboxes). */
  async statusChannelsOf(users: readonly UserId[]): Promise<ChannelId[][]> {
    const { rows } = await sql<{ user_id: UserId; channel: ChannelId }>`select m.user_id, m.channel
      from members m join channels c on c.id = m.channel
      where m.user_id in (${this.#dialect.textSet(users)}) and c.type <> 'inbox'`.execute(this.#db);
    return groupedBy(users, rows, (row) => [row.user_id, row.channel]);
  }

  /**
   * Each channel's members (ids), or none for a channel of more than `upTo` members: the
   * status audience leaves those out, and a big channel's list (read again after every
   * join or leave) would be thousands of rows for nothing. Counting them reads the index only.
   */
  async memberIdsOf(channels: readonly ChannelId[], upTo: number): Promise<UserId[][]> {
    const { rows } = await sql<{ channel: ChannelId; user_id: UserId }>`select channel, user_id from members
      where channel in (select channel from members where channel in (${this.#dialect.textSet(channels)})
        group by channel having count(*) <= ${upTo})`.execute(this.#db);
    return groupedBy(channels, rows, (row) => [row.channel, row.user_id]);
  }

  async findUsers(names: readonly string[]): Promise<User[]> {
    if (names.length === 0) return [];
    const rows = await this.#db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb.or([eb('id', 'in', [...names]), eb('name', 'in', [...names])]))
      .execute();
    return rows.map(toUser);
  }

  async membersAmong(channel: ChannelId, users: readonly UserId[]): Promise<UserId[]> {
    if (users.length === 0) return [];
    const rows = await this.#db
      .selectFrom('members')
      .select('user_id')
      .where('channel', '=', channel)
      .where('user_id', 'in', [...users])
      .execute();
    return rows.map((row) => row.user_id);
  }

  // --- read state ---------------------------------------------------------------

  async markRead(channel: ChannelId, user: UserId, seq: Seq, at: Millis): Promise<Seq> {
    const row = await this.#db
      .insertInto('read_state')
      .values({ channel, user_id: user, seq, updated_at: at })
      .onConflict((oc) =>
        oc.columns(['channel', 'user_id']).doUpdateSet((eb) => ({
          // A late, older mark from another device never moves the position back.
          seq: eb
            .case()
            .when('read_state.seq', '<', eb.ref('excluded.seq'))
            .then(eb.ref('excluded.seq'))
            .else(eb.ref('read_state.seq'))
            .end(),
          updated_at: at,
        })),
      )
      .returning('seq')
      .executeTakeFirstOrThrow();
    return Number(row.seq);
  }

  /**
   * Starts a user's read position at the channel's newest seq, unless the user has one: a
   * new member has not missed the channel's past. One statement, so a publish in between
   * cannot slip under it.
   */
  async startReading(channel: ChannelId, user: UserId, at: Millis): Promise<void> {
    await this.#db
      .insertInto('read_state')
      .columns(['channel', 'user_id', 'seq', 'updated_at'])
      .expression((eb) =>
        eb
          .selectFrom('channels')
          // Typed, so PostgreSQL knows what the parameters are in a select list.
          .select(['id', sql<string>`cast(${user} as text)`.as('user_id'), 'last_seq', sql<number>`cast(${at} as bigint)`.as('updated_at')])
          .where('id', '=', channel),
      )
      .onConflict((oc) => oc.columns(['channel', 'user_id']).doNothing())
      .execute();
  }

  async readPositions(channel: ChannelId): Promise<ReadPosition[]> {
    const rows = await this.#db
      .selectFrom('read_state')
      .select(['user_id', 'seq', 'updated_at'])
      .where('channel', '=', channel)
      .orderBy('user_id')
      .execute();
    return rows.map((row) => ({ user: row.user_id, seq: Number(row.seq), at: Number(row.updated_at) }));
  }

  async unreadChannels(user: UserId): Promise<UnreadChannel[]> {
    const rows = await this.#db
      .selectFrom('members as m')
      .innerJoin('channels as c', 'c.id', 'm.channel')
      .leftJoin('read_state as r', (join) => join.onRef('r.channel', '=', 'm.channel').onRef('r.user_id', '=', 'm.user_id'))
      .innerJoin('events as e', (join) =>
        join
          .onRef('e.channel', '=', 'm.channel')
          .on((eb) => eb('e.seq', '>', eb.fn.coalesce('r.seq', sql.lit(0))))
          .on('e.kind', '=', 'message')
          .on('e.deleted_at', 'is', null)
          .on((eb) => eb.or([eb('e.author', 'is', null), eb('e.author', '<>', user)])),
      )
      .select((eb) => [
        'm.channel',
        'c.type',
        'c.last_seq',
        eb.fn.coalesce('r.seq', sql.lit(0)).as('read_seq'),
        eb.fn.count('e.seq').as('unread'),
      ])
      .where('m.user_id', '=', user)
      .groupBy(['m.channel', 'c.type', 'c.last_seq', 'r.seq'])
      .orderBy('m.channel')
      .execute();
    return rows.map((row) => ({
      channel: row.channel,
      type: row.type as Channel['type'],
      lastSeq: Number(row.last_seq),
      readSeq: Number(row.read_seq),
      unread: Number(row.unread),
    }));
  }

  async directConversations(user: UserId, limit: number): Promise<DirectConversation[]> {
    const channels = await this.#db
      .selectFrom('channels as c')
      .innerJoin('members as m', 'm.channel', 'c.id')
      .selectAll('c')
      .where('m.user_id', '=', user)
      .where('c.type', '=', 'direct')
      .execute();
    if (channels.length === 0) return [];
    const ids = channels.map((c) => c.id);
    const [members, latest] = await Promise.all([
      this.#db.selectFrom('members').select(['channel', 'user_id']).where('channel', 'in', ids).orderBy('user_id').execute(),
      this.#db
        .selectFrom('events as e')
        .innerJoin(
          (eb) =>
            eb
              .selectFrom('events')
              .select((inner) => ['channel', inner.fn.max('seq').as('max_seq')])
              .where('channel', 'in', ids)
              .where('kind', '=', 'message')
              .groupBy('channel')
              .as('newest'),
          (join) => join.onRef('newest.channel', '=', 'e.channel').onRef('newest.max_seq', '=', 'e.seq'),
        )
        .selectAll('e')
        .execute(),
    ]);
    const latestBy = new Map(latest.map((row) => [row.channel, toEvent(row)]));
    const conversations = channels.map((row) => ({
      channel: toChannel(row),
      members: members.filter((m) => m.channel === row.id).map((m) => m.user_id),
      latest: latestBy.get(row.id) ?? null,
    }));
    const activity = (c: DirectConversation) => c.latest?.createdAt ?? c.channel.createdAt;
    return conversations.sort((a, b) => activity(b) - activity(a)).slice(0, limit);
  }

  // --- reactions, threads, search -----------------------------------------------

  async reactionsOf(channel: ChannelId, seqs: readonly Seq[]): Promise<Map<Seq, ReactionCount[]>> {
    const result = new Map<Seq, ReactionCount[]>();
    if (seqs.length === 0) return result;
    const rows = await this.#db
      .selectFrom('reactions')
      .select(['seq', 'emoji', 'user_id'])
      .where('channel', '=', channel)
      .where('seq', 'in', [...seqs])
      .orderBy('seq')
      .orderBy('created_at')
      .orderBy('user_id')
      .execute();
    for (const row of rows) {
      const seq = Number(row.seq);
      let counts = result.get(seq);
      if (!counts) result.set(seq, (counts = []));
      const index = counts.findIndex((c) => c.emoji === row.emoji);
      const current = counts[index];
      if (current) counts[index] = { emoji: row.emoji, count: current.count + 1, users: [...current.users, row.user_id] };
      else counts.push({ emoji: row.emoji, count: 1, users: [row.user_id] });
    }
    return result;
  }

  async hasReaction(channel: ChannelId, seq: Seq, emoji: string, user: UserId): Promise<boolean> {
    const row = await this.#db
      .selectFrom('reactions')
      .select('seq')
      .where('channel', '=', channel)
      .where('seq', '=', seq)
      .where('emoji', '=', emoji)
      .where('user_id', '=', user)
      .executeTakeFirst();
    return row !== undefined;
  }

  async thread(channel: ChannelId, root: Seq, options: { after?: Seq; limit: number }): Promise<ChannelEvent[]> {
    let query = this.#db
      .selectFrom('events')
      .selectAll()
      .where('channel', '=', channel)
      .where('reply_to', '=', root)
      .where('kind', '=', 'message');
    if (options.after !== undefined) query = query.where('seq', '>', options.after);
    const rows = await query.orderBy('seq').limit(options.limit).execute();
    return rows.map(toEvent);
  }

  async search(query: SearchQuery): Promise<ChannelEvent[]> {
    const match = this.#matches(query.text);
    if (!match) return [];
    let select = this.#db
      .selectFrom('events as e')
      .selectAll('e')
      .where('e.kind', '=', 'message')
      .where('e.deleted_at', 'is', null)
      .where(match);
    const reader = query.readableBy;
    if (reader !== null) {
      select = select.where((eb) =>
        eb.or([
          eb('e.channel', 'in', eb.selectFrom('channels').select('id').where('type', '=', 'public')),
          eb('e.channel', 'in', eb.selectFrom('members').select('channel').where('user_id', '=', reader)),
        ]),
      );
    }
    if (query.channel !== undefined) select = select.where('e.channel', '=', query.channel);
    if (query.author !== undefined) select = select.where('e.author', '=', query.author);
    const before = query.before;
    if (before) {
      select = select.where((eb) =>
        eb.or([
          eb('e.created_at', '<', before.createdAt),
          eb.and([eb('e.created_at', '=', before.createdAt), eb('e.channel', '<', before.channel)]),
          eb.and([
            eb('e.created_at', '=', before.createdAt),
            eb('e.channel', '=', before.channel),
            eb('e.seq', '<', before.seq),
          ]),
        ]),
      );
    }
    const rows = await select
      .orderBy('e.created_at', 'desc')
      .orderBy('e.channel', 'desc')
      .orderBy('e.seq', 'desc')
      .limit(query.limit)
      .execute();
    return rows.map(toEvent);
  }

  /** The full-text condition on `e`, or null when the text has no words to look for. */
  #matches(text: string): Expression<SqlBool> | null {
    const words = text.match(/[\p{L}\p{N}_]+/gu);
    return words ? this.#dialect.fullText.matches('e', words) : null;
  }
}

/**
 * Chat's event kinds in the log: `reaction` and `unreaction` (the emoji in `text`), kept
 * in step with the per-emoji aggregate in `reactions` inside the append's transaction. A
 * reaction already there, or an unreaction of one that is not, changes nothing.
 */
export const reactionWriter: AnnotationWriter = {
  kinds: ['reaction', 'unreaction'],
  async write(trx, annotations, now) {
    const db = trx.withTables<ChatTables>();
    const present = await presentReactions(db, annotations);
    const changed: boolean[] = [];
    for (const annotation of annotations) {
      const key = reactionKey(annotation.channel, annotation.target, annotation.text, annotation.author);
      const adding = annotation.kind === 'reaction';
      if (present.has(key) === adding) {
        changed.push(false);
        continue;
      }
      changed.push(true);
      if (adding) {
        present.add(key);
        await db
          .insertInto('reactions')
          .values({ channel: annotation.channel, seq: annotation.target, emoji: annotation.text, user_id: annotation.author, created_at: now })
          .onConflict((oc) => oc.columns(['channel', 'seq', 'emoji', 'user_id']).doNothing())
          .execute();
      } else {
        present.delete(key);
        await db
          .deleteFrom('reactions')
          .where('channel', '=', annotation.channel)
          .where('seq', '=', annotation.target)
          .where('emoji', '=', annotation.text)
          .where('user_id', '=', annotation.author)
          .execute();
      }
    }
    return changed;
  },
};

/** Per key, in the keys' order, the values of the rows that carry it ([] for none): a batched read's answer to each asker. */
function groupedBy<K, V, R>(keys: readonly K[], rows: readonly R[], pair: (row: R) => readonly [K, V]): V[][] {
  const found = new Map<K, V[]>();
  for (const row of rows) {
    const [key, value] = pair(row);
    const list = found.get(key);
    if (list) list.push(value);
    else found.set(key, [value]);
  }
  return keys.map((key) => found.get(key) ?? []);
}

/** Keys of the reactions stored on the messages these annotations target. */
async function presentReactions(db: Kysely<Tables>, annotations: readonly AnnotationAppend[]): Promise<Set<string>> {
  const byChannel = new Map<ChannelId, Seq[]>();
  for (const { channel, target } of annotations) {
    let seqs = byChannel.get(channel);
    if (!seqs) byChannel.set(channel, (seqs = []));
    seqs.push(target);
  }
  const found = new Set<string>();
  for (const [channel, seqs] of byChannel) {
    const rows = await db
      .selectFrom('reactions')
      .select(['seq', 'emoji', 'user_id'])
      .where('channel', '=', channel)
      .where('seq', 'in', seqs)
      .execute();
    for (const row of rows) found.add(reactionKey(channel, Number(row.seq), row.emoji, row.user_id));
  }
  return found;
}

function reactionKey(channel: ChannelId, seq: Seq, emoji: string, user: UserId): string {
  return `${channel}\u0000${seq}\u0000${emoji}\u0000${user}`;
}

interface StateRow {
  readonly name: string | null;
  readonly avatar_url: string | null;
  readonly status_text: string | null;
  readonly status: string | null;
  readonly last_seen: number | null;
}

function toState(user: UserId, row: StateRow): UserState {
  return {
    user,
    name: row.name ?? user,
    avatarUrl: row.avatar_url,
    statusText: row.status_text,
    status: (row.status ?? 'offline') as UserStatus,
    lastSeen: row.last_seen === null ? null : Number(row.last_seen),
  };
}
