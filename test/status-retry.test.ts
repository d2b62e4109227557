import pg from 'pg';
import { expect, it, onTestFinished } from 'vitest';
import { authMigrations } from '../src/auth/migrations/index.js';
import { ChatStore } from '../src/chat/chat-store.js';
import { chatMigrations } from '../src/chat/migrations/index.js';
import { SwitchboardError } from '../src/core/errors.js';
import { logMigrations } from '../src/store/migrations/index.js';
import { openPostgresDatabase } from '../src/store/postgres-database.js';
import { databaseBehindOutageProxy } from './helpers/outage-proxy.js';
import { describeWithServices } from './helpers/services.js';

/**
 * Status changes told to users before they were written (a last disconnect: a connect
 * writes nothing) are written again once PostgreSQL is back (ChatStore.writeStatusLater): the newest
 * change of each user is what the table ends with, a refused `status.set` is never
 * written later, and a late write never undoes a newer row another node wrote. The table is read over a connection of its own, not through the store.
 */
/** A ChatStore on PostgreSQL behind an outage proxy, and a connection of its own to read the table. */
async function chatStoreBehindProxy(name: string) {
  const { proxy, schemaUrl, proxiedUrl } = await databaseBehindOutageProxy(name);
  const database = await openPostgresDatabase({ url: proxiedUrl }, [logMigrations, authMigrations, chatMigrations]);
  onTestFinished(() => database.close());
  const chat = new ChatStore(database);
  onTestFinished(() => chat.close());
  const table = new pg.Client({ connectionString: schemaUrl });
  await table.connect();
  onTestFinished(() => table.end());
  return { proxy, chat, table };
}

describeWithServices(['TEST_DATABASE_URL'], 'status changes written again after a database outage', () => {
  it("ends with each user's newest told change in the table, and without the refused one", async () => {
    const { proxy, chat, table } = await chatStoreBehindProxy('statusretry');
    const row = async (user: string) =>
      (await table.query<{ status: string; last_seen: string | null; updated_at: string }>('select status, last_seen, updated_at from user_status where user_id = $1', [user])).rows[0];
    const refusal = (write: Promise<unknown>) => write.then(() => null, (error: unknown) => (error as SwitchboardError).code);

    await chat.setStatus('alice', 'away', 1000);
    await chat.setStatus('bob', 'away', 1000);

    proxy.cut();
    // Alice leaves twice (she came back in between, which writes nothing), both told (as
    // the status tracker does) while the database is out of reach.
    expect(await refusal(chat.setStatus('alice', 'offline', 2000, true))).toBe('unavailable');
    chat.writeStatusLater('alice', 'offline', 2000);
    expect(await refusal(chat.setStatus('alice', 'offline', 3000, true))).toBe('unavailable');
    chat.writeStatusLater('alice', 'offline', 3000);
    // Bob leaves (told), comes back and asks to be away: refused, so never written.
    expect(await refusal(chat.setStatus('bob', 'offline', 2000, true))).toBe('unavailable');
    chat.writeStatusLater('bob', 'offline', 2000);
    expect(await refusal(chat.setStatus('bob', 'away', 3000))).toBe('unavailable');
    // Carol's row was written by another node at 5000, after her change told here at 4000:
    // written again late, hers must not undo it.
    expect(await refusal(chat.setStatus('carol', 'offline', 4000, true))).toBe('unavailable');
    chat.writeStatusLater('carol', 'offline', 4000);
    await table.query("insert into user_status (user_id, status, last_seen, updated_at) values ('carol', 'online', null, 5000)");
    expect(await row('alice')).toMatchObject({ status: 'away', updated_at: '1000' });

    proxy.restore();
    await expect.poll(async () => (await row('alice'))?.updated_at, { timeout: 10_000 }).toBe('3000');
    await expect.poll(async () => (await row('bob'))?.updated_at, { timeout: 10_000 }).toBe('2000');
    expect(await row('alice')).toEqual({ status: 'offline', last_seen: '3000', updated_at: '3000' });
    expect(await row('bob')).toEqual({ status: 'offline', last_seen: '2000', updated_at: '2000' });
    // Written in the same round as alice's and bob's: carol's row is as the other node left it.
    expect(await row('carol')).toEqual({ status: 'online', last_seen: null, updated_at: '5000' });
  }, 30_000);

  it('writes again every told change of a batch that failed whole', async () => {
    const { proxy, chat, table } = await chatStoreBehindProxy('statusbatch');
    const status = async (user: string) => (await table.query<{ status: string }>('select status from user_status where user_id = $1', [user])).rows[0]?.status;
    await chat.setStatus('dave', 'away', 1000);

    proxy.cut();
    // A storm's disconnects: asked in one tick, their changes share one batch, which the
    // database's absence fails whole. Each is told, so the tracker writes it again later.
    const users = ['dave', 'erin', 'frank'];
    const writes = users.map((user) => chat.setStatus(user, 'offline', 2000, true).then(() => null, (error: unknown) => (error as SwitchboardError).code));
    expect(await Promise.all(writes)).toEqual(['unavailable', 'unavailable', 'unavailable']);
    for (const user of users) chat.writeStatusLater(user, 'offline', 2000);

    proxy.restore();
    for (const user of users) await expect.poll(() => status(user), { timeout: 10_000 }).toBe('offline');
  }, 30_000);

  it('clears again a leftover away whose clearing found the database out of reach, and only one older than the return', async () => {
    const { proxy, chat, table } = await chatStoreBehindProxy('returnretry');
    const row = async (user: string) => (await table.query<{ status: string; updated_at: string }>('select status, updated_at from user_status where user_id = $1', [user])).rows[0];
    // Both left while away, their last disconnects' writes lost: the rows still say away.
    await chat.setStatus('gina', 'away', 1000);
    await chat.setStatus('hugo', 'away', 1000);

    proxy.cut();
    const returns = ['gina', 'hugo'].map((user) => chat.userReturned(user, 2000).then(() => null, (error: unknown) => (error as SwitchboardError).code));
    expect(await Promise.all(returns)).toEqual(['unavailable', 'unavailable']);
    // Hugo chose away again after his return, written by another node before the database came back here.
    await table.query("update user_status set status = 'away', updated_at = 3000 where user_id = 'hugo'");

    proxy.restore();
    await expect.poll(async () => (await row('gina'))?.status, { timeout: 10_000 }).toBe('online');
    expect(await row('gina')).toEqual({ status: 'online', updated_at: '2000' });
    expect(await row('hugo')).toEqual({ status: 'away', updated_at: '3000' });
  }, 30_000);
});
