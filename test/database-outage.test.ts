import { expect, it, onTestFinished } from 'vitest';
import { AccountStore } from '../src/auth/account-store.js';
import { authMigrations } from '../src/auth/migrations/index.js';
import { Tickets } from '../src/auth/tickets.js';
import { ChatStore, reactionWriter } from '../src/chat/chat-store.js';
import { chatMigrations } from '../src/chat/migrations/index.js';
import { SwitchboardError } from '../src/core/errors.js';
import { KyselyStore } from '../src/store/kysely-store.js';
import { logMigrations } from '../src/store/migrations/index.js';
import { openPostgresDatabase } from '../src/store/postgres-database.js';
import { webhookMigrations } from '../src/webhooks/migrations/index.js';
import { WebhookOutbox } from '../src/webhooks/webhook-outbox.js';
import { databaseBehindOutageProxy } from './helpers/outage-proxy.js';
import { describeWithServices } from './helpers/services.js';

/**
 * One database handle for every module: while PostgreSQL cannot be reached, a query from
 * any of them (the log, chat, auth, webhooks) answers `unavailable`, never `internal`,
 * and each works again once the database is back.
 */
describeWithServices(['TEST_DATABASE_URL'], 'a database outage', () => {
  it('answers unavailable for every module\'s queries, and recovers', async () => {
    const { proxy, proxiedUrl } = await databaseBehindOutageProxy('outage');
    const database = await openPostgresDatabase({ url: proxiedUrl }, [
      logMigrations,
      authMigrations,
      chatMigrations,
      webhookMigrations,
    ]);
    onTestFinished(() => database.close());
    const store = new KyselyStore(database, { annotations: [reactionWriter] });
    const chat = new ChatStore(database);
    const tickets = new Tickets(new AccountStore(database), 60_000);
    const outbox = new WebhookOutbox(database);
    await store.createChannel({ id: 'c', type: 'public', title: null, publish: 'anyone', createdBy: null, members: [] });
    const ticket = await tickets.issue({ kind: 'user', userId: 'alice', name: 'alice', roles: [] });

    const queries: Record<string, () => Promise<unknown>> = {
      'log: read a channel': () => store.getChannel('c'),
      'log: append (a transaction)': () =>
        store.appendBatch([{ kind: 'message', channel: 'c', author: 'a', text: 'x', data: null, cid: null, replyTo: null }]),
      'chat: contacts': () => chat.listContacts('alice'),
      'chat: search': () => chat.search({ text: 'x', readableBy: null, limit: 5 }),
      'chat: status (a soft transaction)': () => chat.setStatus('alice', 'online', Date.now()),
      'auth: redeem a ticket': () => tickets.redeem(ticket.ticket),
      'webhooks: outbox': () => outbox.pendingCount(),
    };

    proxy.cut();
    for (const [name, query] of Object.entries(queries)) {
      const failure = await query().then(
        () => null,
        (error: unknown) => error,
      );
      expect(failure, name).toBeInstanceOf(SwitchboardError);
      expect((failure as SwitchboardError).code, name).toBe('unavailable');
    }

    proxy.restore();
    expect((await tickets.redeem(ticket.ticket)).userId).toBe('alice');
    expect(await outbox.pendingCount()).toBe(0);
    expect(await chat.listContacts('alice')).toEqual([]);
    expect((await store.getChannel('c'))?.lastSeq).toBe(0);
  }, 30_000);
});
