import pg from 'pg';
import { expect, it, onTestFinished } from 'vitest';
import { authMigrations } from '../src/auth/migrations/index.js';
import { ChatStore } from '../src/chat/chat-store.js';
import { chatMigrations } from '../src/chat/migrations/index.js';
import { isUnavailable } from '../src/core/errors.js';
import { logMigrations } from '../src/store/migrations/index.js';
import { openPostgresDatabase } from '../src/store/postgres-database.js';
import { databaseBehindOutageProxy } from './helpers/outage-proxy.js';
import { describeWithServices } from './helpers/services.js';

/**
 * A status batch the database refuses (not an outage) is retried change by change; when
 * the database goes away during that retry, the changes after the one that met the outage
 * are rejected unwritten, never having come back to the store one by one. A told one among
 * them is written again (ChatStore.writeStatusLater) once the database is back: before
 * 41602f8 it was still counted as on its way, so it looked like a newer change standing in
 * the way of its own retry, which was never written while the retry round ran for good.
 */

/** A connection of its own, straight to the schema (not through the proxy). */
async function directClient(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  onTestFinished(() => client.end());
  return client;
}

/**
 * Alice's told disconnect in a batch the database refuses (a NUL in another user's id), which
 * is retried change by change: bob's write waits for another node's lock on his row, the
 * database goes away meanwhile, and alice's change is rejected with that outage, unwritten.
 * `tellLater`: as the status tracker does with a told change the database was out of reach
 * for; false: as it does when the disconnect's reads failed too (no one was told).
 */
async function rejectedUnwrittenInOneByOneRetry(tellLater: boolean) {
  const { proxy, schemaUrl, proxiedUrl } = await databaseBehindOutageProxy('statusstale');
  const database = await openPostgresDatabase({ url: proxiedUrl }, [logMigrations, authMigrations, chatMigrations]);
  onTestFinished(() => database.close());
  const chat = new ChatStore(database);
  onTestFinished(() => chat.close());
  const table = await directClient(schemaUrl);
  // Another node's transaction, holding bob's row while the batch is retried.
  const otherNode = await directClient(schemaUrl);
  const otherPid = (await otherNode.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]!.pid;
  const row = async (user: string) =>
    (await table.query<{ status: string; updated_at: string }>('select status, updated_at from user_status where user_id = $1', [user])).rows[0];

  await chat.setStatus('alice', 'away', 1000);
  await chat.setStatus('bob', 'away', 1000);
  await otherNode.query('begin');
  await otherNode.query("select 1 from user_status where user_id = 'bob' for update");

  const write = (user: string, told: boolean) =>
    chat.setStatus(user, 'offline', 2000, told).then(
      () => 'written',
      (error: unknown) => {
        if (told && tellLater && isUnavailable(error)) chat.writeStatusLater(user, 'offline', 2000);
        return (error as { code?: unknown }).code;
      },
    );
  // Asked in one tick: one batch, retried change by change in this order.
  const outcomes = Promise.all([write('mallory\u0000', false), write('bob', true), write('alice', true)]);
  await expect
    .poll(async () => (await table.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where $1 = any(pg_blocking_pids(pid))', [otherPid])).rows[0]!.n, { timeout: 10_000 })
    .toBe(1);
  proxy.cut();
  // Bob's write met the outage; alice's was rejected with it, unwritten.
  expect(await outcomes).toEqual(['22P05', 'unavailable', 'unavailable']);
  await otherNode.query('rollback');
  expect(await row('alice')).toEqual({ status: 'away', updated_at: '1000' });
  return { proxy, chat, table, row };
}

/** What reads on this node show of alice once another node wrote her away at 3000 (she came back there): the row, or a change of this node's laid over it. */
async function aliceAsReadAfterNewerRow(chat: ChatStore, table: pg.Client) {
  await table.query("update user_status set status = 'away', updated_at = 3000 where user_id = 'alice'");
  await chat.addContact('carol', 'alice');
  return (await chat.listContacts('carol'))[0];
}

describeWithServices(['TEST_DATABASE_URL'], 'a told status change rejected unwritten by a batch retried one by one', () => {
  it('is written once the database is back, and then no longer held by the store', async () => {
    const { proxy, chat, table, row } = await rejectedUnwrittenInOneByOneRetry(true);
    proxy.restore();
    await expect.poll(() => row('bob'), { timeout: 10_000 }).toEqual({ status: 'offline', updated_at: '2000' });
    await expect.poll(() => row('alice'), { timeout: 10_000 }).toEqual({ status: 'offline', updated_at: '2000' });

    // Written, alice's change is the store's no more (nothing of hers waits to be written
    // again): a newer row another node writes is what reads show, not her change laid over it.
    expect(await aliceAsReadAfterNewerRow(chat, table)).toMatchObject({ user: 'alice', status: 'away' });
  }, 30_000);

  it('is not laid over reads when no one was told of it', async () => {
    const { proxy, chat, table } = await rejectedUnwrittenInOneByOneRetry(false);
    proxy.restore();
    await expect.poll(() => chat.listContacts('carol').then(() => 'answers', () => 'away'), { timeout: 10_000 }).toBe('answers');
    expect(await aliceAsReadAfterNewerRow(chat, table)).toMatchObject({ user: 'alice', status: 'away' });
  }, 30_000);
});
