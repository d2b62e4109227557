import { type Kysely, type RawBuilder, sql, type Transaction } from 'kysely';
import { SwitchboardError } from '../core/errors.js';
import type {
  AnnotationAppend,
  AppendRequest,
  AppendResult,
  ChannelChanges,
  EventRange,
  NewChannel,
  ProfileChanges,
  SeenUser,
  Store,
} from '../core/store.js';
import type { Channel, ChannelEvent, ChannelId, ListedChannel, Member, MemberRole, Seq, User, UserId } from '../core/types.js';
import type { AnnotationWriter } from './annotation-writer.js';
import type { Database } from './database.js';
import { newEventId } from '../core/event-id.js';
import { encodeData, toChannel, toEvent, toMember, toUser } from './rows.js';
import type { LogTables } from './schema.js';
import type { RowsStatement, SqlDialect } from './sql-dialect.js';
import { stormBatching, TickBatcher } from './tick-batcher.js';

const INSERT_CHUNK = 200;
const SEEN_USER_COLUMNS = { id: 'text', name: 'text', created_at: 'bigint' } as const;

/**
 * Users seen on connect: inserted, or renamed when their name changed. Only rows inserted
 * or renamed come back. `where true`: SQLite's grammar needs it between a select and its
 * upsert clause.
 */
const RENAME_CHANGED = 'where true on conflict (id) do update set name = excluded.name where users.name <> excluded.name';
const SEEN_USERS_SET: RowsStatement = {
  before: 'insert into users (id, name, created_at) select u.id, u.name, u.created_at from',
  alias: 'u',
  columns: SEEN_USER_COLUMNS,
  after: `${RENAME_CHANGED} returning id, created_at`,
};

/** The same for names that only fill in: they replace nothing but the placeholder (the user's id). */
const SEEN_USERS_FILL_IN: RowsStatement = {
  ...SEEN_USERS_SET,
  after: `${RENAME_CHANGED} and users.name = users.id returning id, created_at`,
};

export interface KyselyStoreOptions {
  /** Modules' event kinds and the tables they keep in step (chat's reactions). */
  readonly annotations?: readonly AnnotationWriter[];
}

/** The log's Store, for every database Kysely speaks; the dialect supplies the few differences. */
export class KyselyStore implements Store {
  readonly #database: Database;
  readonly #db: Kysely<LogTables>;
  readonly #dialect: SqlDialect;
  readonly #annotations = new Map<string, AnnotationWriter>();
  readonly #seenUsers: TickBatcher<SeenUser, boolean>;
  /**
   * Users renamed by a statement of a batch whose next statement failed: the batch failed,
   * so the rename was not reported, and the row holds it now, so their next write would
   * find nothing to change. That write reports it instead.
   */
  readonly #renamesUnreported = new Set<UserId>();

  constructor(database: Database, options: KyselyStoreOptions = {}) {
    this.#database = database;
    this.#db = database.tables<LogTables>();
    this.#dialect = database.dialect;
    this.#seenUsers = new TickBatcher((users: readonly SeenUser[]) => this.#writeSeenUsers(users), stormBatching(database.stormRounds));
    for (const writer of options.annotations ?? []) for (const kind of writer.kinds) this.#annotations.set(kind, writer);
  }

  async ping(): Promise<void> {
    await this.#db.selectFrom('channels').select('id').limit(1).execute();
  }

  /** Closes the database under it: close the store after every other module on the same database. */
  close(): Promise<void> {
    return this.#database.close();
  }

  // --- users ----------------------------------------------------------------------

  async upsertUser(user: SeenUser): Promise<User> {
    const row = await this.#db
      .insertInto('users')
      .values({ id: user.id, name: user.name, created_at: Date.now(), avatar_url: null, status_text: null })
      .onConflict((oc) => {
        const update = oc.column('id').doUpdateSet((eb) => ({ name: eb.ref('excluded.name') }));
        // A name that only fills in replaces nothing but the placeholder (the user's id).
        return user.fillsIn ? update.where((eb) => eb('users.name', '=', eb.ref('users.id'))) : update;
      })
      .returningAll()
      .executeTakeFirst();
    // A fill-in that changed nothing returns no row: the user is as stored.
    return toUser(row ?? (await this.#db.selectFrom('users').selectAll().where('id', '=', user.id).executeTakeFirstOrThrow()));
  }

  rememberUser(user: SeenUser): Promise<boolean> {
    return this.#seenUsers.add(user);
  }

  async #writeSeenUsers(users: readonly SeenUser[]): Promise<boolean[]> {
    const now = Date.now();
    // In id order, each once: statements on other nodes lock the same rows in the same order.
    const byId = new Map(users.map((user) => [user.id, user]));
    const ordered = [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const changed = new Set<UserId>();
    // One statement for the names that fill in, one for those that set; each commits on its own.
    try {
      for (const group of [ordered.filter((user) => user.fillsIn), ordered.filter((user) => !user.fillsIn)]) {
        if (group.length === 0) continue;
        const rows = await this.#dialect.softRows<{ id: UserId; created_at: number | string }>(
          this.#db,
          group[0]!.fillsIn ? SEEN_USERS_FILL_IN : SEEN_USERS_SET,
          group.map((user) => ({ id: user.id, name: user.name, created_at: now })),
        );
        // Only rows inserted or renamed come back; a renamed one keeps its creation time.
        for (const row of rows) if (Number(row.created_at) !== now) changed.add(row.id);
      }
    } catch (error) {
      for (const id of changed) this.#renamesUnreported.add(id);
      throw error;
    }
    if (this.#renamesUnreported.size > 0) for (const user of ordered) if (this.#renamesUnreported.delete(user.id)) changed.add(user.id);
    return users.map((user) => changed.has(user.id));
  }

  async getUser(id: UserId): Promise<User | undefined> {
    const row = await this.#db.selectFrom('users').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toUser(row);
  }

  async listUsers(options: { limit: number; after?: UserId }): Promise<User[]> {
    let query = this.#db.selectFrom('users').selectAll();
    if (options.after !== undefined) query = query.where('id', '>', options.after);
    const rows = await query.orderBy('id').limit(options.limit).execute();
    return rows.map(toUser);
  }

  async updateUser(id: UserId, changes: ProfileChanges): Promise<User | undefined> {
    const set: { name?: string; avatar_url?: string | null; status_text?: string | null } = {};
    if (changes.name !== undefined) set.name = changes.name;
    if (changes.avatarUrl !== undefined) set.avatar_url = changes.avatarUrl;
    if (changes.statusText !== undefined) set.status_text = changes.statusText;
    if (Object.keys(set).length === 0) return this.getUser(id);
    const row = await this.#db.updateTable('users').set(set).where('id', '=', id).returningAll().executeTakeFirst();
    return row && toUser(row);
  }

  // --- channels and members -------------------------------------------------------

  async createChannel(channel: NewChannel): Promise<Channel | undefined> {
    return this.#db.transaction().execute(async (trx) => {
      const now = Date.now();
      const row = await trx
        .insertInto('channels')
        .values({
          id: channel.id,
          type: channel.type,
          title: channel.title,
          topic: channel.topic || null,
          publish: channel.publish,
          created_by: channel.createdBy,
          created_at: now,
          retention: channel.retention ? JSON.stringify(channel.retention) : null,
        })
        .onConflict((oc) => oc.column('id').doNothing())
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      // The id's next generation: channel_epochs outlives the channel, so a re-created id counts on.
      const { epoch } = await trx
        .insertInto('channel_epochs')
        .values({ channel: channel.id, epoch: 1 })
        .onConflict((oc) => oc.column('channel').doUpdateSet({ epoch: sql<number>`channel_epochs.epoch + 1` }))
        .returning('epoch')
        .executeTakeFirstOrThrow();
      if (Number(epoch) !== Number(row.epoch)) {
        await trx.updateTable('channels').set({ epoch }).where('id', '=', channel.id).execute();
        row.epoch = epoch;
      }
      if (channel.members.length > 0) {
        await trx
          .insertInto('members')
          .values(channel.members.map((m) => ({ channel: channel.id, user_id: m.user, role: m.role, joined_at: now })))
          .execute();
      }
      return toChannel(row);
    });
  }

  async getChannel(id: ChannelId): Promise<Channel | undefined> {
    const row = await this.#db.selectFrom('channels').selectAll().where('id', '=', id).executeTakeFirst();
    return row && toChannel(row);
  }

  async raiseLastSeq(id: ChannelId, seq: Seq): Promise<void> {
    await this.#db.updateTable('channels').set({ last_seq: seq }).where('id', '=', id).where('last_seq', '<', seq).execute();
  }

  async updateChannel(id: ChannelId, changes: ChannelChanges): Promise<Channel | undefined> {
    const set: { title?: string | null; topic?: string | null; publish?: string; archived_at?: RawBuilder<number> | null } = {};
    if (changes.title !== undefined) set.title = changes.title;
    // An empty topic is no topic.
    if (changes.topic !== undefined) set.topic = changes.topic || null;
    if (changes.publish !== undefined) set.publish = changes.publish;
    // Archiving an archived channel keeps when it was first archived.
    if (changes.archived !== undefined) set.archived_at = changes.archived ? sql<number>`coalesce(archived_at, ${Date.now()})` : null;
    if (Object.keys(set).length === 0) return this.getChannel(id);
    const row = await this.#db.updateTable('channels').set(set).where('id', '=', id).returningAll().executeTakeFirst();
    return row && toChannel(row);
  }

  /** Members, events and the modules' rows about the channel go with it (ON DELETE CASCADE). */
  async deleteChannel(id: ChannelId): Promise<boolean> {
    const result = await this.#db.deleteFrom('channels').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async listChannels(options: { visibleTo: UserId | null; limit: number; after?: ChannelId }): Promise<ListedChannel[]> {
    const { visibleTo, after } = options;
    let query = this.#db
      .selectFrom('channels')
      .leftJoin('members', (join) => join.onRef('members.channel', '=', 'channels.id').on('members.user_id', '=', visibleTo ?? ''))
      .selectAll('channels')
      .select('members.role');
    if (visibleTo !== null) {
      query = query.where((eb) => eb.or([eb('channels.type', '=', 'public'), eb('members.user_id', 'is not', null)]));
    }
    if (after !== undefined) query = query.where('channels.id', '>', after);
    const rows = await query.orderBy('channels.id').limit(options.limit).execute();
    return rows.map(({ role, ...row }) => ({ ...toChannel(row), role: (role as MemberRole | null) ?? null }));
  }

  async addMember(channel: ChannelId, user: UserId, role: MemberRole): Promise<Member> {
    const row = await this.#db
      .insertInto('members')
      .values({ channel, user_id: user, role, joined_at: Date.now() })
      .onConflict((oc) => oc.columns(['channel', 'user_id']).doUpdateSet({ role }))
      .returningAll()
      .executeTakeFirstOrThrow();
    return toMember(row);
  }

  async removeMember(channel: ChannelId, user: UserId): Promise<boolean> {
    const result = await this.#db
      .deleteFrom('members')
      .where('channel', '=', channel)
      .where('user_id', '=', user)
      .executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  async getMember(channel: ChannelId, user: UserId): Promise<Member | undefined> {
    const row = await this.#db
      .selectFrom('members')
      .selectAll()
      .where('channel', '=', channel)
      .where('user_id', '=', user)
      .executeTakeFirst();
    return row && toMember(row);
  }

  async listMembers(channel: ChannelId): Promise<Member[]> {
    const rows = await this.#db
      .selectFrom('members')
      .selectAll()
      .where('channel', '=', channel)
      .orderBy('user_id')
      .execute();
    return rows.map(toMember);
  }

  // --- events ---------------------------------------------------------------------

  async appendBatch(requests: readonly AppendRequest[]): Promise<AppendResult[]> {
    const append = (trx: Transaction<LogTables>) => appendInTransaction(trx, requests, this.#dialect, this.#annotations);
    try {
      return await this.#db.transaction().execute(append);
    } catch (error) {
      if (this.#dialect.isDataError(error)) {
        throw new SwitchboardError('bad_request', 'The database refused the data of this batch.');
      }
      // Another node stored the same cid between our check and our insert: the retry
      // finds it and answers with the stored copy.
      if (!this.#dialect.isUniqueViolation(error)) throw error;
      return this.#db.transaction().execute(append);
    }
  }

  async readEvents(channel: ChannelId, range: EventRange): Promise<ChannelEvent[]> {
    let query = this.#db.selectFrom('events').selectAll().where('channel', '=', channel);
    if (range.after !== undefined) query = query.where('seq', '>', range.after);
    if (range.before !== undefined) query = query.where('seq', '<', range.before);
    if (range.messagesOnly) query = query.where('kind', '=', 'message');
    const newestFirst = range.after === undefined;
    const rows = await query
      .orderBy('seq', newestFirst ? 'desc' : 'asc')
      .limit(range.limit)
      .execute();
    if (newestFirst) rows.reverse();
    return rows.map(toEvent);
  }

  async pruneEvents(channel: ChannelId, bounds: { throughSeq?: Seq; createdBefore?: number }, limit: number): Promise<number> {
    const { throughSeq, createdBefore } = bounds;
    if (throughSeq === undefined && createdBefore === undefined) return 0;
    // The oldest events beyond a bound are a prefix of the log: find where the batch ends,
    // then delete through it by the primary key.
    const rows = await this.#db
      .selectFrom('events')
      .select('seq')
      .where('channel', '=', channel)
      .where((eb) => {
        const beyond = [];
        if (throughSeq !== undefined) beyond.push(eb('seq', '<=', throughSeq));
        if (createdBefore !== undefined) beyond.push(eb('created_at', '<', createdBefore));
        return eb.or(beyond);
      })
      .orderBy('seq')
      .limit(limit)
      .execute();
    if (rows.length === 0) return 0;
    const last = Number(rows.at(-1)!.seq);
    const result = await this.#db.deleteFrom('events').where('channel', '=', channel).where('seq', '<=', last).executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async boundedChannels(prefixes: readonly string[]): Promise<Channel[]> {
    const rows = await this.#db
      .selectFrom('channels')
      .selectAll()
      .where((eb) => eb.or([eb('retention', 'is not', null), ...prefixes.map((prefix) => eb(sql<string>`substr(id, 1, ${sql.lit(prefix.length)})`, '=', prefix))]))
      .execute();
    return rows.map(toChannel);
  }

  async getEvent(channel: ChannelId, seq: Seq): Promise<ChannelEvent | undefined> {
    const row = await this.#db
      .selectFrom('events')
      .selectAll()
      .where('channel', '=', channel)
      .where('seq', '=', seq)
      .executeTakeFirst();
    return row && toEvent(row);
  }
}

type Planned = { index: number; request: AppendRequest };

/**
 * Writes a batch in five steps so that only accepted requests take a seq (seqs never
 * have holes): find earlier copies by cid, check edit/delete/annotation targets, let the
 * modules decide their annotations (and write their tables), reserve seqs per channel
 * with one UPDATE ... RETURNING (a row lock across nodes on PostgreSQL), insert.
 */
async function appendInTransaction(
  trx: Transaction<LogTables>,
  requests: readonly AppendRequest[],
  dialect: SqlDialect,
  annotations: ReadonlyMap<string, AnnotationWriter>,
): Promise<AppendResult[]> {
  const channels = [...new Set(requests.map((request) => request.channel))].sort();
  await dialect.lockChannels(trx, channels);
  const results: AppendResult[] = new Array(requests.length);
  let accepted: Planned[] = [];
  const firstByCid = new Map<string, number>();
  /** [index, index of the first request with the same cid in this batch] */
  const copies: [number, number][] = [];
  const stored = await findStoredCids(trx, requests);
  const targets = await findTargets(trx, requests);
  const deletedInBatch = new Set<string>();

  for (let index = 0; index < requests.length; index++) {
    const request = requests[index]!;
    if (request.kind === 'message') {
      if (request.cid !== null) {
        const key = `${request.channel}\u0000${request.cid}`;
        const earlier = stored.get(key);
        if (earlier) {
          results[index] = { ok: true, event: earlier, duplicate: true };
          continue;
        }
        const first = firstByCid.get(key);
        if (first !== undefined) {
          copies.push([index, first]);
          continue;
        }
        firstByCid.set(key, index);
      }
    } else {
      if (request.kind !== 'edit' && request.kind !== 'delete' && !annotations.has(request.kind)) {
        results[index] = { ok: false, code: 'bad_request', message: `No module stores ${request.kind} events here.` };
        continue;
      }
      const key = `${request.channel}\u0000${request.target}`;
      const target = targets.get(key);
      if (!target || target.kind !== 'message') {
        results[index] = { ok: false, code: 'not_found', message: `No message with seq ${request.target}.` };
        continue;
      }
      if (target.deletedAt !== null || deletedInBatch.has(key)) {
        results[index] = { ok: false, code: 'conflict', message: `Message ${request.target} is deleted.` };
        continue;
      }
      if (request.kind === 'delete') deletedInBatch.add(key);
    }
    accepted.push({ index, request });
  }

  const now = Date.now();
  accepted = await writeAnnotations(trx, accepted, annotations, results, now);

  const counts = new Map<ChannelId, number>();
  for (const planned of accepted) counts.set(planned.request.channel, (counts.get(planned.request.channel) ?? 0) + 1);
  const nextSeq = new Map<ChannelId, number>();
  const epochs = new Map<ChannelId, number>();
  // Rows are locked in id order so two nodes' batches over the same channels cannot deadlock.
  for (const [channel, count] of [...counts].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    const row = await trx
      .updateTable('channels')
      .set((eb) => ({ last_seq: eb('last_seq', '+', count) }))
      .where('id', '=', channel)
      .returning(['last_seq', 'epoch'])
      .executeTakeFirst();
    if (row) {
      nextSeq.set(channel, Number(row.last_seq) - count + 1);
      epochs.set(channel, Number(row.epoch));
    }
  }

  const rows: LogTables['events'][] = [];
  for (const planned of accepted) {
    const { request, index } = planned;
    const seq = nextSeq.get(request.channel);
    if (seq === undefined) {
      results[index] = { ok: false, code: 'not_found', message: `Channel ${request.channel} does not exist.` };
      continue;
    }
    nextSeq.set(request.channel, seq + 1);
    const row = toRow(request, seq, now);
    rows.push(row);
    results[index] = { ok: true, event: toEvent(row), duplicate: false, epoch: epochs.get(request.channel)! };
  }
  for (let i = 0; i < rows.length; i += INSERT_CHUNK) {
    await trx.insertInto('events').values(rows.slice(i, i + INSERT_CHUNK)).execute();
  }
  await applyChanges(trx, accepted, now);
  await countReplies(trx, rows);

  for (const [index, firstIndex] of copies) {
    const first = results[firstIndex]!;
    results[index] = first.ok ? { ok: true, event: first.event, duplicate: true } : first;
  }
  return results;
}

/**
 * Hands each module its annotations (in batch order) and keeps those that change
 * something; the rest are answered `unchanged`. Batches without annotations cost nothing.
 */
async function writeAnnotations(
  trx: Transaction<LogTables>,
  accepted: Planned[],
  annotations: ReadonlyMap<string, AnnotationWriter>,
  results: AppendResult[],
  now: number,
): Promise<Planned[]> {
  const byWriter = new Map<AnnotationWriter, Planned[]>();
  for (const planned of accepted) {
    const writer = annotations.get(planned.request.kind);
    if (!writer) continue;
    let list = byWriter.get(writer);
    if (!list) byWriter.set(writer, (list = []));
    list.push(planned);
  }
  if (byWriter.size === 0) return accepted;
  const unchanged = new Set<Planned>();
  for (const [writer, planned] of byWriter) {
    const changed = await writer.write(trx, planned.map((p) => p.request as AnnotationAppend), now);
    planned.forEach((p, i) => {
      if (changed[i]) return;
      unchanged.add(p);
      results[p.index] = { ok: false, code: 'conflict', message: 'Nothing to change.', unchanged: true };
    });
  }
  return unchanged.size === 0 ? accepted : accepted.filter((p) => !unchanged.has(p));
}

async function findStoredCids(
  trx: Transaction<LogTables>,
  requests: readonly AppendRequest[],
): Promise<Map<string, ChannelEvent>> {
  const byChannel = groupByChannel(requests, (r) => (r.kind === 'message' ? r.cid : null));
  const found = new Map<string, ChannelEvent>();
  for (const [channel, cids] of byChannel) {
    const rows = await trx
      .selectFrom('events')
      .selectAll()
      .where('channel', '=', channel)
      .where('cid', 'in', cids)
      .execute();
    for (const row of rows) found.set(`${channel}\u0000${row.cid}`, toEvent(row));
  }
  return found;
}

async function findTargets(
  trx: Transaction<LogTables>,
  requests: readonly AppendRequest[],
): Promise<Map<string, ChannelEvent>> {
  const byChannel = groupByChannel(requests, (r) => (r.kind === 'message' ? null : r.target));
  const found = new Map<string, ChannelEvent>();
  for (const [channel, seqs] of byChannel) {
    const rows = await trx
      .selectFrom('events')
      .selectAll()
      .where('channel', '=', channel)
      .where('seq', 'in', seqs)
      .execute();
    for (const row of rows) found.set(`${channel}\u0000${row.seq}`, toEvent(row));
  }
  return found;
}

function groupByChannel<K>(
  requests: readonly AppendRequest[],
  keyOf: (request: AppendRequest) => K | null,
): Map<ChannelId, K[]> {
  const groups = new Map<ChannelId, K[]>();
  for (const request of requests) {
    const key = keyOf(request);
    if (key === null) continue;
    let list = groups.get(request.channel);
    if (!list) groups.set(request.channel, (list = []));
    list.push(key);
  }
  return groups;
}

/** Brings each edited or deleted message row to its current state. */
async function applyChanges(trx: Transaction<LogTables>, accepted: readonly Planned[], now: number): Promise<void> {
  for (const { request } of accepted) {
    if (request.kind === 'edit') {
      await trx
        .updateTable('events')
        .set({ text: request.text, data: encodeData(request.data), edited_at: now })
        .where('channel', '=', request.channel)
        .where('seq', '=', request.target)
        .where('deleted_at', 'is', null)
        .execute();
    } else if (request.kind === 'delete') {
      await trx
        .updateTable('events')
        .set({ text: null, data: null, attachments: null, deleted_at: now })
        .where('channel', '=', request.channel)
        .where('seq', '=', request.target)
        .where('deleted_at', 'is', null)
        .execute();
    }
  }
}

/** Brings each thread root to its current summary: one more reply per reply inserted, the newest one's seq and time. */
async function countReplies(trx: Transaction<LogTables>, rows: readonly LogTables['events'][]): Promise<void> {
  const roots = new Map<string, { channel: ChannelId; root: Seq; count: number; last: LogTables['events'] }>();
  for (const row of rows) {
    if (row.reply_to === null) continue;
    const key = `${row.channel}\u0000${row.reply_to}`;
    const root = roots.get(key);
    // Rows are in seq order per channel: the later one is the newest.
    if (root) {
      root.count++;
      root.last = row;
    } else roots.set(key, { channel: row.channel, root: row.reply_to, count: 1, last: row });
  }
  for (const { channel, root, count, last } of roots.values()) {
    await trx
      .updateTable('events')
      .set((eb) => ({ reply_count: eb('reply_count', '+', count), last_reply_seq: last.seq, last_reply_at: last.created_at }))
      .where('channel', '=', channel)
      .where('seq', '=', root)
      .where('kind', '=', 'message')
      .execute();
  }
}

function toRow(request: AppendRequest, seq: Seq, now: number): LogTables['events'] {
  const base = {
    channel: request.channel,
    seq,
    kind: request.kind,
    id: newEventId(now),
    author: request.author,
    created_at: now,
    edited_at: null,
    deleted_at: null,
    attachments: null,
    reply_count: 0,
    last_reply_seq: null,
    last_reply_at: null,
  };
  switch (request.kind) {
    case 'message':
      return {
        ...base,
        text: request.text,
        data: encodeData(request.data),
        cid: request.cid,
        reply_to: request.replyTo,
        target: null,
        attachments: request.attachments ? JSON.stringify(request.attachments) : null,
      };
    case 'edit':
      return { ...base, text: request.text, data: encodeData(request.data), cid: null, reply_to: null, target: request.target };
    case 'delete':
      return { ...base, text: null, data: null, cid: null, reply_to: null, target: request.target };
    default:
      return { ...base, text: request.text, data: null, cid: null, reply_to: null, target: request.target };
  }
}

