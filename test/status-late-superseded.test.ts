import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MemoryPresence } from '../src/broker/memory-presence.js';
import { ChatCache } from '../src/chat/chat-cache.js';
import type { ChatContext } from '../src/chat/chat-context.js';
import { ChatStore } from '../src/chat/chat-store.js';
import { chatMigrations } from '../src/chat/migrations/index.js';
import type { ChatNotice } from '../src/chat/notices.js';
import { ONLINE_KEY, UserStatusTracker } from '../src/chat/status.js';
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
 * connect whose reads found the database away waits, and is tried again once it answers
 * (PendingStatusChanges): tried again, it must not undo what came after it, a newer change
 * of the user's heard while its reads were under way, or a newer row another node wrote
 * before its notice arrived. A contacts snapshot read from a table that lags must not undo
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
  #holds = new Map<'channels' | 'states', { reached: () => void; released: Promise<void> }>();

  /** The next read of that kind waits for `release`; `reached` resolves once it is under way. */
  holdNextRead(kind: 'channels' | 'states' = 'channels'): { reached: Promise<void>; release: () => void } {
    let reached!: () => void;
    let release!: () => void;
    const whenReached = new Promise<void>((resolve) => (reached = resolve));
    this.#holds.set(kind, { reached, released: new Promise<void>((resolve) => (release = resolve)) });
    return { reached: whenReached, release };
  }

  override async statusChannelsOf(users: readonly UserId[]): Promise<ChannelId[][]> {
    if (this.failing) throw new SwitchboardError('unavailable', 'The database does not answer.');
    await this.#held('channels');
    return super.statusChannelsOf(users);
  }

  override async statesOf(users: readonly UserId[]): Promise<(UserState | null)[]> {
    await this.#held('states');
    return super.statesOf(users);
  }

  async #held(kind: 'channels' | 'states'): Promise<void> {
    const hold = this.#holds.get(kind);
    this.#holds.delete(kind);
    if (!hold) return;
    hold.reached();
    await hold.released;
  }
}

async function trackerOnSqlite() {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-status-late-'));
  const database = await openSqliteDatabase({ path: join(dir, 'chat.db') }, [logMigrations, chatMigrations]);
  const tables = new HeldChannelReads(database);
  const notices: ChatNotice[] = [];
  const sessions = new Map<UserId, Session[]>();
  const hub = { sessionsOf: (user: UserId) => sessions.get(user) ?? [], sendNotice: (_module: string, notice: ChatNotice) => notices.push(notice) } as unknown as Hub;
  const cache = new ChatCache(tables, DEFAULT_PRESENCE_SETTINGS.occupancyAbove);
  const context: ChatContext = { hub, log: {} as ChatContext['log'], tables, cache, logger: silentLogger };
  const presence = new MemoryPresence();
  const tracker = new UserStatusTracker(context, presence, () => {});
  onTestFinished(async () => {
    tracker.close();
    tables.close();
    await database.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const alice = { id: 's-alice', principal: { userId: 'alice', name: 'alice' }, sink: { deliver: () => {} } } as unknown as Session;
  const announced = (status: string) => notices.filter((n) => n.kind === 'status' && n.state.user === 'alice' && n.state.status === status);
  return { database, tables, presence, tracker, alice, announced, sessions, cache };
}

/** What another node wrote: alice offline at `at`. */
async function writtenElsewhere(database: Database, at: number): Promise<void> {
  await sql`insert into user_status (user_id, status, last_seen, updated_at) values ('alice', 'offline', ${at}, ${at})
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
    const { database, tables, tracker, sessions } = await trackerOnSqlite();
    const db = database.tables();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1), ('bob', 'bob', 1)`.execute(db);
    await sql`insert into contacts (user_id, contact_id, created_at) values ('alice', 'bob', 1), ('bob', 'alice', 1)`.execute(db);
    // The table still says online: bob's offline was told before it was written (on another node).
    await sql`insert into user_status (user_id, status, last_seen, updated_at) values ('bob', 'online', null, 1)`.execute(db);
    const carol = sessionOf('carol');
    sessions.set('carol', [carol]);
    tracker.apply(offline('bob', 1000));
    expect(carol.frames.map((f) => f.status)).toEqual(['offline']);

    const alice = sessionOf('alice');
    sessions.set('alice', [alice]);
    const hold = tables.holdNextRead('states');
    tracker.sessionOpened(alice);
    await hold.reached;
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

  it('is neither written nor told over a newer row another node wrote before its notice came', async () => {
    // Told anyway, it would reach each node after or before that node's newer notice, as
    // the broker happens to deliver them: nodes would disagree, and disagree with the table.
    const { database, tables, tracker, alice, announced, sessions } = await trackerOnSqlite();
    const carol = sessionOf('carol');
    sessions.set('carol', [carol]);
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1), ('carol', 'carol', 1)`.execute(database.tables());
    await sql`insert into contacts (user_id, contact_id, created_at) values ('alice', 'carol', 1), ('carol', 'alice', 1)`.execute(database.tables());
    const later = Date.now() + 1000;
    await writtenElsewhere(database, later);
    const retry = await connectTriedAgain(tables, tracker, alice);
    retry.release();
    await tracker.idle();

    expect(announced('online')).toEqual([]);
    expect(carol.frames.filter((f) => f.type === 'status' && f.user === 'alice')).toEqual([]);
    expect(await rowOf(database)).toEqual({ status: 'offline', updated_at: later });
  }, 10_000);

  it("is neither written nor told over another node's row of the same millisecond with another status", async () => {
    const { database, tables, tracker, alice, announced } = await trackerOnSqlite();
    const retry = await connectTriedAgain(tables, tracker, alice);
    // Another node's change, stamped the same millisecond: which came last, nothing says.
    await writtenElsewhere(database, tables.madeAt.get('alice')!);
    retry.release();
    await expect.poll(() => tables.lateWrites.length, { timeout: 5_000 }).toBe(1);
    await tracker.idle();
    expect(announced('online')).toEqual([]);
    expect((await rowOf(database))?.status).toBe('offline');
  }, 10_000);

  it('is written over an older row and told once the database takes the write, and tells no one before', async () => {
    const { database, tables, tracker, alice, announced } = await trackerOnSqlite();
    await writtenElsewhere(database, 1000);
    // Whom to tell can be read on the retry, but its write fails: no one was told, so no one is.
    tables.lateWriteFailure = 'unavailable';
    tables.failing = true;
    tracker.sessionOpened(alice);
    await tracker.idle();
    expect(announced('online')).toEqual([]);

    tables.failing = false;
    await expect.poll(() => tables.lateWrites.length, { timeout: 5_000 }).toBe(1);
    await tracker.idle();
    expect(announced('online')).toEqual([]);
    expect(await rowOf(database)).toEqual({ status: 'offline', updated_at: 1000 });

    tables.lateWriteFailure = null;
    await expect.poll(() => announced('online').length, { timeout: 5_000 }).toBe(1);
    const row = await rowOf(database);
    expect(row?.status).toBe('online');
    expect(row?.updated_at).toBeGreaterThan(1000);
  }, 10_000);

  it('is given up, not tried every second, when its write fails for another reason', async () => {
    const { database, tables, tracker, alice, announced, cache } = await trackerOnSqlite();
    await sql`insert into users (id, name, created_at) values ('alice', 'alice', 1)`.execute(database.tables());
    await cache.state('alice');
    tables.lateWriteFailure = 'refused';
    tables.failing = true;
    tracker.sessionOpened(alice);
    await tracker.idle();
    // Alice's audience is cached by the time her change is tried again (another of her
    // sessions read it), so the retry goes straight to the write.
    tables.failing = false;
    await cache.audienceOf('alice');
    await expect.poll(() => tables.lateWrites.length, { timeout: 5_000 }).toBe(1);
    await tracker.idle();
    tables.lateWriteFailure = null;

    // Bob's connect waits for the next round: once he is told, that round has run.
    tables.failing = true;
    const bob = sessionOf('bob');
    tracker.sessionOpened(bob);
    await tracker.idle();
    tables.failing = false;
    await expect.poll(() => tables.lateWrites.includes('bob'), { timeout: 5_000 }).toBe(true);
    await tracker.idle();

    expect(tables.lateWrites).toEqual(['alice', 'bob']);
    expect(announced('online')).toEqual([]);
  }, 10_000);

  it("a registry's change is written only once whom to tell is read, so its retry still finds it to announce", async () => {
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
    expect((await rowOf(database))?.status).toBe('online');
  }, 10_000);
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
