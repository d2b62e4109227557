import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MemoryPresence } from '../src/broker/memory-presence.js';
import { ChatCache } from '../src/chat/chat-cache.js';
import type { ChatContext } from '../src/chat/chat-context.js';
import { ChatStore } from '../src/chat/chat-store.js';
import { ProfilePushes } from '../src/chat/profiles.js';
import { chatMigrations } from '../src/chat/migrations/index.js';
import type { ChatNotice } from '../src/chat/notices.js';
import { UserStatusTracker } from '../src/chat/status.js';
import { ONLINE_KEY, UserStates } from '../src/chat/user-states.js';
import { SwitchboardError } from '../src/core/errors.js';
import type { UserState, UserStatus } from '../protocol/values.js';
import type { Hub } from '../src/core/hub.js';
import { silentLogger } from '../src/core/logger.js';
import { DEFAULT_PRESENCE_SETTINGS } from '../src/core/presence.js';
import type { Session } from '../src/core/session.js';
import type { ChannelId, UserId } from '../src/core/types.js';
import type { Database } from '../src/store/database.js';
import { logMigrations } from '../src/store/migrations/index.js';
import { openSqliteDatabase } from '../src/store/sqlite-database.js';

/**
 * What the status tracker (chat/status.ts) reads may be older than what it was told. A
 * connect or a last disconnect whose reads found the database away waits, and is tried
 * again once it answers (PendingStatusChanges): tried again, it must not undo what came
 * after it, a newer change of the user's heard while its reads were under way, a
 * disconnect another node's newer row written before its notice arrived, a connect the
 * registry's word that the user left since. A contacts snapshot read from a table that lags must not undo
 * a change told meanwhile (PendingSnapshots). Real SQLite; the reads of users' channels
 * (whom a change is told to) and of users' states fail, or are held, on demand.
 */
class HeldChannelReads extends ChatStore {
  /** The database away: reads of users' channels fail, and so does a connect's own write (as a real outage). */
  failing = false;
  /** What a late change's write (only where nothing newer is stored) fails with; null: it goes through. */
  lateWriteFailure: 'unavailable' | 'refused' | null = null;
  /** Whose late changes' writes were tried, in order. */
  readonly lateWrites: UserId[] = [];
  /** When each user's last connect or disconnect was made, as its own first write says. */
  readonly madeAt = new Map<UserId, number>();

  override setStatus(user: UserId, status: UserStatus, at: number, told = false, onlyNewer = false): Promise<boolean> {
    if (told && !onlyNewer) this.madeAt.set(user, at);
    if (!onlyNewer && this.failing) return Promise.reject(new SwitchboardError('unavailable', 'The database does not answer.'));
    if (onlyNewer) {
      this.lateWrites.push(user);
      if (this.lateWriteFailure === 'unavailable') return Promise.reject(new SwitchboardError('unavailable', 'The database does not answer.'));
      if (this.lateWriteFailure === 'refused') return Promise.reject(new Error('the database refused the row'));
    }
    return super.setStatus(user, status, at, told, onlyNewer);
  }
  /** Whose returns asked for a stored away to be cleared, in order. */
  readonly returns: UserId[] = [];

  override userReturned(user: UserId, at: number): Promise<void> {
    if (user !== 'nobody') this.returns.push(user);
    if (this.failing) return Promise.reject(new SwitchboardError('unavailable', 'The database does not answer.'));
    return super.userReturned(user, at);
  }

  #holds = new Map<'channels' | 'states', { reached: () => void; released: Promise<void>; of?: UserId }>();

  /**
   * The next read of that kind (of `of`'s, if given) waits for `release`; `reached` resolves
   * once it is under way.
   */
  holdNextRead(kind: 'channels' | 'states' = 'channels', of?: UserId): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const whenReached = new Promise<void>((resolve) => (reached = resolve));
    this.#holds.set(kind, { reached, released: new Promise<void>((resolve) => (release = resolve)), of });
    return { reached: whenReached, release };
  }

  override async statusChannelsOf(users: readonly UserId[]): Promise<ChannelId[][]> {
    if (this.failing) throw new SwitchboardError('unavailable', 'The database does not answer.');
    await this.#held('channels');
    return super.statusChannelsOf(users);
  }

  override async statesOf(users: readonly UserId[]): Promise<(UserState | null)[]> {
    await this.#held('states', users);
    return super.statesOf(users);
  }

  async #held(kind: 'channels' | 'states', users: readonly UserId[] = []): Promise<void> {
    const hold = this.#holds.get(kind);
    if (!hold || (hold.of !== undefined && !users.includes(hold.of))) return;
    this.#holds.delete(kind);
    hold.reached();
    await hold.released;
  }
}

/** The registry, whose check of a user's sessions (a late connect's) fails on demand. */
class CheckedPresence extends MemoryPresence {
  failure: 'unavailable' | 'refused' | null = null;
  /** Whose sessions were counted, in order. */
  readonly checks: UserId[] = [];

  /** Redis out of reach for batched reads of who is online. */
  unreachable = false;

  override async presentAmong(channel: ChannelId, users: readonly UserId[]): Promise<Set<UserId>> {
    if (this.unreachable) throw new SwitchboardError('unavailable', 'Presence is unavailable: Redis does not answer.');
    return super.presentAmong(channel, users);
  }

  override async sessionsOf(channel: ChannelId, user: UserId): Promise<number> {
    this.checks.push(user);
    if (this.failure === 'unavailable') throw new SwitchboardError('unavailable', 'Presence is unavailable: Redis does not answer.');
    if (this.failure === 'refused') throw new Error('the registry refused the read');
    return super.sessionsOf(channel, user);
  }
}

async function trackerOnSqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-status-late-'));
  const database = await openSqliteDatabase({ path: join(dir, 'chat.db') }, [logMigrations, chatMigrations]);
  const tables = new HeldChannelReads(database);
  const notices: ChatNotice[] = [];
  const sessions = new Map<UserId, Session[]>();
  const hub = { sessionsOf: (user: UserId) => sessions.get(user) ?? [], sendNotice: (_module: string, notice: ChatNotice) => notices.push(notice) } as unknown as Hub;
  const presence = new CheckedPresence();
  const states = new UserStates(tables, presence);
  const cache = new ChatCache(tables, states, DEFAULT_PRESENCE_SETTINGS.occupancyAbove);
  const context: ChatContext = { hub, log: {} as ChatContext['log'], tables, states, cache, logger: silentLogger };
  const tracker = new UserStatusTracker(context, presence, () => {});
  onTestFinished(async () => {
    tracker.close();
    tables.close();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const alice = { id: 's-alice', principal: { userId: 'alice', name: 'alice' }, sink: { deliver: () => {} } } as unknown as Session;
  const announced = (status: string) => notices.filter((n) => n.kind === 'status' && n.state.user === 'alice' && n.state.status === status);
  return { database, tables, presence, tracker, alice, announced, sessions, cache, states, context };
}

/** What another node wrote: alice `status` (offline: last seen) at `at`. */
async function writtenElsewhere(database: Database, at: number, status: UserStatus = 'offline'): Promise<void> {
  const lastSeen = status === 'offline' ? at : null;
  await sql`insert into user_status (user_id, status, last_seen, updated_at) values ('alice', ${status}, ${lastSeen}, ${at})
    on conflict (user_id) do update set status = excluded.status, last_seen = excluded.last_seen, updated_at = excluded.updated_at`.execute(database.tables());
}

async function rowOf(database: Database): Promise<{ status: string; updated_at: number } | undefined> {
  const { rows } = await sql<{ status: string; updated_at: number }>`select status, updated_at from user_status where user_id = 'alice'`.execute(database.tables());
  return rows[0] && { status: rows[0].status, updated_at: Number(rows[0].updated_at) };
}

/**
 * Opens the session while the database is away, so its connect waits, then lets the
 * database answer: resolves once the retry round (a second later) is reading whom to tell,
 * held there until `release`.
 */
async function connectTriedAgain(tables: HeldChannelReads, tracker: UserStatusTracker, session: Session): Promise<{ release: () => void }> {
  // The first attempt's reads fail; the hold waits for the retry's.
  const hold = tables.holdNextRead();
  tables.failing = true;
  tracker.sessionOpened(session);
  await tracker.idle();
  tables.failing = false;
  await hold.reached;
  return hold;
}

/**
 * Opens the session (told), then closes it while the database is away with nothing of the
 * user's cached, so its disconnect waits; then lets the database answer: resolves once the
 * retry round is reading whom to tell, held there until `release`.
 */
async function disconnectTriedAgain(tables: HeldChannelReads, tracker: UserStatusTracker, cache: ChatCache, session: Session): Promise<{ release: () => void }> {
  tracker.sessionOpened(session);
  await tracker.idle();
  cache.clear();
  return closedWhileAway(tables, tracker, session);
}

async function closedWhileAway(tables: HeldChannelReads, tracker: UserStatusTracker, session: Session): Promise<{ release: () => void }> {
  const hold = tables.holdNextRead();
  tables.failing = true;
  tracker.sessionClosed(session);
  await tracker.idle();
  tables.failing = false;
  await hold.reached;
  return hold;
}

/** A session whose frames are kept. */
function sessionOf(user: UserId): Session & { frames: Record<string, unknown>[] } {
  const frames: Record<string, unknown>[] = [];
  const sink = { deliver: (delivery: { message: Record<string, unknown> }) => frames.push(delivery.message) };
  return { id: `s-${user}`, principal: { userId: user, name: user }, sink, frames } as unknown as Session & { frames: Record<string, unknown>[] };
}

const offline = (user: UserId, at: number) => ({
  kind: 'status' as const,
  state: { user, name: user, avatarUrl: null, statusText: null, status: 'offline' as const, lastSeen: at },
  audience: ['alice', 'carol'],
  at,
});

describe('a contacts snapshot read while a status change was held back as told', () => {
  it('says what the change said, though its frame never reached the session', async () => {
    const { database, tables, presence, tracker, sessions } = await trackerOnSqlite();
    const db = database.tables();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1), ('bob', 'bob', 1)`.execute(db);
    await sql`insert into contacts (user_id, contact_id, created_at) values ('alice', 'bob', 1), ('bob', 'alice', 1)`.execute(db);
    // The read below finds bob online: his session leaves the registry once it is under way.
    await presence.add(ONLINE_KEY, 'bob', 's-bob');
    const carol = sessionOf('carol');
    sessions.set('carol', [carol]);
    tracker.apply(offline('bob', 1000));
    expect(carol.frames.map((f) => f.status)).toEqual(['offline']);

    const alice = sessionOf('alice');
    sessions.set('alice', [alice]);
    // The snapshot's read of bob's state: the registry answers at once, the table is held.
    const hold = tables.holdNextRead('states', 'bob');
    tracker.sessionOpened(alice);
    await hold.reached;
    await presence.remove(ONLINE_KEY, 'bob', 's-bob');
    // Said again (a reaper and a close both report it): held back everywhere as told.
    tracker.apply(offline('bob', 1001));
    expect(alice.frames.filter((f) => f.type === 'status' && f.user === 'bob')).toEqual([]);
    hold.release();
    await tracker.idle();

    const snapshot = alice.frames.find((f) => f.type === 'contacts') as { contacts: UserState[] } | undefined;
    expect(snapshot?.contacts.map((c) => [c.user, c.status])).toEqual([['bob', 'offline']]);
  }, 10_000);
});

describe('a status change announced late', () => {
  it('is dropped when a newer change of the user is heard while its reads are under way', async () => {
    const { database, tables, tracker, alice, announced } = await trackerOnSqlite();
    tables.failing = true;
    tracker.sessionOpened(alice);
    await tracker.idle();
    // Its reads failed: no one was told.
    expect(announced('online')).toEqual([]);

    tables.failing = false;
    const hold = tables.holdNextRead();
    // The retry round (a second later) is reading whom to tell.
    await hold.reached;
    const later = Date.now() + 1000;
    await writtenElsewhere(database, later);
    tracker.apply({ kind: 'status', state: { user: 'alice', name: 'alice', avatarUrl: null, statusText: null, status: 'offline', lastSeen: later }, audience: [], at: later });
    hold.release();
    await tracker.idle();

    expect(announced('online')).toEqual([]);
    expect(await rowOf(database)).toEqual({ status: 'offline', updated_at: later });
  }, 10_000);

  it('is a first attempt announced, though another node\'s notice stamped later came during its reads', async () => {
    // Which of two nodes' changes came last is the registry's order: clocks compared across
    // nodes may say otherwise (this one's stamped after its await, skew), so only a change
    // tried again yields to a notice that came while it was read.
    const { tables, tracker, alice, announced } = await trackerOnSqlite();
    const hold = tables.holdNextRead();
    tracker.sessionOpened(alice);
    await hold.reached;
    const later = Date.now() + 1000;
    tracker.apply({ kind: 'status', state: { user: 'alice', name: 'alice', avatarUrl: null, statusText: null, status: 'offline', lastSeen: later }, audience: [], at: later });
    hold.release();
    await tracker.idle();
    expect(announced('online')).toHaveLength(1);
  }, 10_000);

  it('is a connect told while the registry holds the user, and not written: reads say online over a newer offline row', async () => {
    const { database, tables, tracker, alice, announced, states } = await trackerOnSqlite();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1)`.execute(database.tables());
    const later = Date.now() + 1000;
    await writtenElsewhere(database, later);
    const retry = await connectTriedAgain(tables, tracker, alice);
    retry.release();
    await tracker.idle();

    expect(announced('online')).toHaveLength(1);
    expect(tables.lateWrites).toEqual([]);
    expect(await rowOf(database)).toEqual({ status: 'offline', updated_at: later });
    expect(await states.of(['alice'])).toMatchObject([{ status: 'online', lastSeen: later }]);
  }, 10_000);

  it('is a connect neither told nor written once the registry lost the user, its notice not here yet', async () => {
    // Reaped, or closed on the node that held the session: that node tells everyone offline.
    const { database, tables, presence, tracker, alice, announced, sessions } = await trackerOnSqlite();
    const carol = sessionOf('carol');
    sessions.set('carol', [carol]);
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1), ('carol', 'carol', 1)`.execute(database.tables());
    await sql`insert into contacts (user_id, contact_id, created_at) values ('alice', 'carol', 1), ('carol', 'alice', 1)`.execute(database.tables());
    const retry = await connectTriedAgain(tables, tracker, alice);
    await presence.remove(ONLINE_KEY, 'alice', alice.id);
    retry.release();
    await tracker.idle();

    expect(announced('online')).toEqual([]);
    expect(carol.frames.filter((f) => f.type === 'status' && f.user === 'alice')).toEqual([]);
    expect(await rowOf(database)).toBeUndefined();
  }, 10_000);

  it('is a connect that waits while the registry does not answer, and is told once it does', async () => {
    const { tables, presence, tracker, alice, announced } = await trackerOnSqlite();
    presence.failure = 'unavailable';
    const retry = await connectTriedAgain(tables, tracker, alice);
    retry.release();
    await expect.poll(() => presence.checks.length, { timeout: 5_000 }).toBe(1);
    await tracker.idle();
    expect(announced('online')).toEqual([]);

    presence.failure = null;
    await expect.poll(() => announced('online').length, { timeout: 5_000 }).toBe(1);
    expect(presence.checks).toEqual(['alice', 'alice']);
  }, 10_000);

  it('is a connect given up, not tried every second, when the registry fails it for another reason', async () => {
    const { tables, presence, tracker, alice, announced } = await trackerOnSqlite();
    presence.failure = 'refused';
    (await connectTriedAgain(tables, tracker, alice)).release();
    await expect.poll(() => presence.checks.length, { timeout: 5_000 }).toBe(1);
    await tracker.idle();
    presence.failure = null;

    // Bob's connect waits for the next round: once he is checked, that round has run.
    (await connectTriedAgain(tables, tracker, sessionOf('bob'))).release();
    await expect.poll(() => presence.checks.includes('bob'), { timeout: 5_000 }).toBe(true);
    await tracker.idle();

    expect(presence.checks).toEqual(['alice', 'bob']);
    expect(announced('online')).toEqual([]);
  }, 10_000);

  it('is a disconnect neither written nor told over a newer row another node wrote before its notice came', async () => {
    // Told anyway, it would reach each node after or before that node's newer notice, as
    // the broker happens to deliver them: nodes would disagree, and disagree with the table.
    const { database, tables, tracker, alice, announced, sessions, cache } = await trackerOnSqlite();
    const carol = sessionOf('carol');
    sessions.set('carol', [carol]);
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1), ('carol', 'carol', 1)`.execute(database.tables());
    await sql`insert into contacts (user_id, contact_id, created_at) values ('alice', 'carol', 1), ('carol', 'alice', 1)`.execute(database.tables());
    const later = Date.now() + 1000;
    const retry = await disconnectTriedAgain(tables, tracker, cache, alice);
    await writtenElsewhere(database, later, 'online');
    retry.release();
    await tracker.idle();

    expect(tables.lateWrites).toEqual(['alice']);
    expect(announced('offline')).toEqual([]);
    expect(carol.frames.filter((f) => f.type === 'status' && f.user === 'alice').map((f) => f.status)).toEqual(['online']);
    expect(await rowOf(database)).toEqual({ status: 'online', updated_at: later });
  }, 10_000);

  it("is a disconnect neither written nor told over another node's row of the same millisecond with another status", async () => {
    const { database, tables, tracker, alice, announced, cache } = await trackerOnSqlite();
    const retry = await disconnectTriedAgain(tables, tracker, cache, alice);
    // Another node's change, stamped the same millisecond: which came last, nothing says.
    await writtenElsewhere(database, tables.madeAt.get('alice')!, 'online');
    retry.release();
    await expect.poll(() => tables.lateWrites.length, { timeout: 5_000 }).toBe(1);
    await tracker.idle();
    expect(announced('offline')).toEqual([]);
    expect((await rowOf(database))?.status).toBe('online');
  }, 10_000);

  it('is a disconnect written over an older row and told once the database takes the write, and tells no one before', async () => {
    const { database, tables, tracker, alice, announced, cache } = await trackerOnSqlite();
    await writtenElsewhere(database, 1000);
    // Whom to tell can be read on the retry, but its write fails: no one was told, so no one is.
    tables.lateWriteFailure = 'unavailable';
    (await disconnectTriedAgain(tables, tracker, cache, alice)).release();
    await expect.poll(() => tables.lateWrites.length, { timeout: 5_000 }).toBe(1);
    await tracker.idle();
    expect(announced('offline')).toEqual([]);
    expect(await rowOf(database)).toEqual({ status: 'offline', updated_at: 1000 });

    tables.lateWriteFailure = null;
    await expect.poll(() => announced('offline').length, { timeout: 5_000 }).toBe(1);
    const row = await rowOf(database);
    expect(row?.status).toBe('offline');
    expect(row?.updated_at).toBeGreaterThan(1000);
  }, 10_000);

  it('is a disconnect given up, not tried every second, when its write fails for another reason', async () => {
    const { tables, tracker, alice, announced, cache } = await trackerOnSqlite();
    tables.lateWriteFailure = 'refused';
    (await disconnectTriedAgain(tables, tracker, cache, alice)).release();
    await expect.poll(() => tables.lateWrites.length, { timeout: 5_000 }).toBe(1);
    await tracker.idle();
    tables.lateWriteFailure = null;

    // Bob's disconnect waits for the next round: once it is written, that round has run.
    (await disconnectTriedAgain(tables, tracker, cache, sessionOf('bob'))).release();
    await expect.poll(() => tables.lateWrites.includes('bob'), { timeout: 5_000 }).toBe(true);
    await tracker.idle();

    expect(tables.lateWrites).toEqual(['alice', 'bob']);
    expect(announced('offline')).toEqual([]);
  }, 10_000);

  it("a registry's change waits while whom to tell cannot be read, then is announced, and writes nothing", async () => {
    const { database, tables, presence, tracker, announced } = await trackerOnSqlite();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 500)`.execute(database.tables());
    await writtenElsewhere(database, 1000);
    // This node wrote alice's session back after a partition: the registry says online,
    // the table offline. Whom to tell cannot be read yet.
    await presence.add(ONLINE_KEY, 'alice', 's-alice');
    tables.failing = true;
    tracker.registryChanged('alice', 'join');
    await tracker.idle();
    expect(announced('online')).toEqual([]);
    expect((await rowOf(database))?.status).toBe('offline');

    tables.failing = false;
    await expect.poll(() => announced('online').length, { timeout: 5_000 }).toBe(1);
    expect(await rowOf(database)).toEqual({ status: 'offline', updated_at: 1000 });
  }, 10_000);

  it('is a disconnect neither told nor written once the user is back in the registry, its notice not here yet', async () => {
    const { tables, presence, tracker, alice, announced, cache } = await trackerOnSqlite();
    const retry = await disconnectTriedAgain(tables, tracker, cache, alice);
    // Back on another node, whose connect's notice this node missed.
    await presence.add(ONLINE_KEY, 'alice', 's-alice-elsewhere');
    retry.release();
    await expect.poll(() => presence.checks.includes('alice'), { timeout: 5_000 }).toBe(true);
    await tracker.idle();
    expect(announced('offline')).toEqual([]);
    expect(tables.lateWrites).toEqual([]);
  }, 10_000);
});

describe('online status from the registry', () => {
  it('clears an away that outlived the sessions when the user comes back, though her offline was told', async () => {
    // Her last disconnect was told everywhere, but its write was lost (an outage, then the
    // node stopped): the row still says away, and this node's cache says offline.
    const { database, tracker, alice, announced, states, cache } = await trackerOnSqlite();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1)`.execute(database.tables());
    await writtenElsewhere(database, 1000, 'away');
    tracker.apply(offline('alice', 2000));
    expect(cache.peekState('alice')?.status).toBe('offline');
    expect(await states.of(['alice'])).toMatchObject([{ status: 'offline' }]);
    tracker.sessionOpened(alice);
    await tracker.idle();
    expect(announced('online')).toHaveLength(1);
    await expect.poll(async () => (await rowOf(database))?.status, { timeout: 5_000 }).toBe('online');
    expect(await states.of(['alice'])).toMatchObject([{ status: 'online' }]);
  });

  it('asks to clear nothing on the return of a user whose row this node read as not away, until told away', async () => {
    const { database, tables, tracker, alice } = await trackerOnSqlite();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1)`.execute(database.tables());
    for (let visit = 0; visit < 2; visit++) {
      tracker.sessionOpened(alice);
      await tracker.idle();
      tracker.sessionClosed(alice);
      await tracker.idle();
    }
    expect(tables.returns).toEqual([]);
    tracker.sessionOpened(alice);
    await tracker.idle();
    await tracker.set('alice', 'away');
    tracker.sessionClosed(alice);
    await tracker.idle();
    tracker.sessionOpened(alice);
    await tracker.idle();
    expect(tables.returns).toEqual(['alice']);
  });

  it('keeps an away stored after the return began (set on another device meanwhile)', async () => {
    const { database, tables, tracker, alice, states } = await trackerOnSqlite();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1)`.execute(database.tables());
    const later = Date.now() + 60_000;
    await writtenElsewhere(database, later, 'away');
    tracker.sessionOpened(alice);
    await tracker.idle();
    // Her return's batch has run once a return asked after it has.
    await tables.userReturned('nobody', Date.now());
    expect(await rowOf(database)).toEqual({ status: 'away', updated_at: later });
    expect(await states.of(['alice'])).toMatchObject([{ status: 'away' }]);
  });

  it('keeps an away chosen during the sessions: a second session says nothing and clears nothing', async () => {
    const { database, tables, tracker, alice, announced, states } = await trackerOnSqlite();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1)`.execute(database.tables());
    tracker.sessionOpened(alice);
    await tracker.idle();
    expect(await tracker.set('alice', 'away')).toMatchObject({ status: 'away' });
    // Her away older than any return from here on.
    await sql`update user_status set updated_at = 1000 where user_id = 'alice'`.execute(database.tables());
    tracker.sessionOpened({ ...sessionOf('alice'), id: 's-alice-2' } as unknown as Session);
    await tracker.idle();
    // Any return asked so far has been written once one asked after it has.
    await tables.userReturned('nobody', Date.now());
    expect(announced('online')).toHaveLength(1);
    expect(await states.of(['alice'])).toMatchObject([{ status: 'away' }]);
  });

  it('clears a stale away on a connect announced late, its first clearing refused with the database away', async () => {
    const { database, tables, tracker, alice, announced, states } = await trackerOnSqlite();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1)`.execute(database.tables());
    await writtenElsewhere(database, 1000, 'away');
    const retry = await connectTriedAgain(tables, tracker, alice);
    retry.release();
    await tracker.idle();
    expect(announced('online')).toHaveLength(1);
    await tables.userReturned('nobody', Date.now());
    expect((await rowOf(database))?.status).toBe('online');
    expect(await states.of(['alice'])).toMatchObject([{ status: 'online' }]);
  }, 10_000);

  it('pushes a profile while the registry is out of reach, with the status this node last told', async () => {
    const { database, presence, tracker, sessions, context } = await trackerOnSqlite();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1), ('carol', 'carol', 1)`.execute(database.tables());
    await sql`insert into contacts (user_id, contact_id, created_at) values ('alice', 'carol', 1), ('carol', 'alice', 1)`.execute(database.tables());
    const carol = sessionOf('carol');
    sessions.set('carol', [carol]);
    tracker.apply({ ...offline('alice', 1000), state: { ...offline('alice', 1000).state, status: 'away' } });
    presence.unreachable = true;
    // The state goes to live users lists too (their `update` carries the status).
    const listed: UserState[] = [];
    const pushes = new ProfilePushes(context, (state) => listed.push(state));
    pushes.changed('alice');
    await pushes.idle();
    expect(carol.frames.filter((f) => f.type === 'profile')).toMatchObject([{ user: 'alice', name: 'alice' }]);
    expect(listed).toMatchObject([{ user: 'alice', status: 'away' }]);
  });

  it('refuses status.set while the user holds no session, and writes nothing', async () => {
    const { database, tracker, announced } = await trackerOnSqlite();
    await expect(tracker.set('alice', 'away')).rejects.toMatchObject({ code: 'conflict' });
    expect(announced('away')).toEqual([]);
    expect(await rowOf(database)).toBeUndefined();
  });

  it('reads a user without a session offline, whatever a row a lost write left says', async () => {
    const { database, states } = await trackerOnSqlite();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1)`.execute(database.tables());
    await writtenElsewhere(database, 1000, 'online');
    expect(await states.of(['alice'])).toMatchObject([{ status: 'offline' }]);
  });

  it("announces a written-back user away who chose it, and writes nothing", async () => {
    const { database, presence, tracker, announced } = await trackerOnSqlite();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1)`.execute(database.tables());
    await writtenElsewhere(database, 1000, 'away');
    await presence.add(ONLINE_KEY, 'alice', 's-alice');
    tracker.registryChanged('alice', 'join');
    await tracker.idle();
    expect(announced('away')).toHaveLength(1);
    expect(announced('online')).toEqual([]);
    expect(await rowOf(database)).toEqual({ status: 'away', updated_at: 1000 });
  });
});

describe('a status change written only where nothing newer is stored', () => {
  it('is not laid over reads before its write lands, and then finds the newer row', async () => {
    const { database, tables } = await trackerOnSqlite();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1)`.execute(database.tables());
    await writtenElsewhere(database, 2000);
    const writing = tables.setStatus('alice', 'online', 1000, false, true);
    // Read before the write's batch runs: the table's newer row, not the change on its way.
    const [state] = await tables.userStates(['alice']);
    expect(state).toMatchObject({ status: 'offline', lastSeen: 2000 });
    expect(await writing).toBe(false);
    expect(await rowOf(database)).toEqual({ status: 'offline', updated_at: 2000 });
  });
});
