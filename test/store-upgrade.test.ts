import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import pg from 'pg';
import { describe, expect, it, onTestFinished } from 'vitest';
import { AccountStore } from '../src/auth/account-store.js';
import { authMigrations } from '../src/auth/migrations/index.js';
import { ChatStore, reactionWriter } from '../src/chat/chat-store.js';
import { chatMigrations } from '../src/chat/migrations/index.js';
import type { ModuleMigrations } from '../src/store/database.js';
import { KyselyStore } from '../src/store/kysely-store.js';
import { logMigrations } from '../src/store/migrations/index.js';
import { openDatabase } from '../src/store/open-database.js';
import { webhookMigrations } from '../src/webhooks/migrations/index.js';
import { WebhookOutbox } from '../src/webhooks/webhook-outbox.js';
import { createTestSchema } from './helpers/postgres.js';
import { serviceUrl } from './helpers/services.js';

/**
 * A database made by the code before the core split (every migration in one list in
 * src/store) opens with the modules owning their migrations, as server.ts lists them:
 * nothing runs again, and every module reads its rows and writes new ones. The fixtures
 * were written by that code (test/fixtures/pre-split.*).
 */
const MIGRATIONS: readonly ModuleMigrations[] = [logMigrations, authMigrations, chatMigrations, webhookMigrations];
const FIXTURES = join(import.meta.dirname, 'fixtures');
const postgresUrl = serviceUrl('TEST_DATABASE_URL');

const backends = [
  {
    name: 'sqlite',
    available: true,
    /** A copy of the old file; returns its DATABASE_URL. */
    async restore(): Promise<string> {
      const dir = mkdtempSync(join(tmpdir(), 'switchboard-upgrade-'));
      onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
      const path = join(dir, 'old.db');
      writeFileSync(path, gunzipSync(readFileSync(join(FIXTURES, 'pre-split.sqlite.gz'))));
      return `sqlite:${path}`;
    },
  },
  {
    name: 'postgres',
    available: postgresUrl !== undefined,
    async restore(): Promise<string> {
      const schema = await createTestSchema(postgresUrl!, 'upgrade');
      onTestFinished(() => schema.drop());
      const dump = readFileSync(join(FIXTURES, 'pre-split.postgres.sql'), 'utf8').replaceAll('__SCHEMA__', `"${schema.schema}"`);
      const client = new pg.Client({ connectionString: postgresUrl });
      await client.connect();
      try {
        await client.query(dump);
      } finally {
        await client.end();
      }
      return schema.url;
    },
  },
];

for (const backend of backends) {
  describe.skipIf(!backend.available)(`a database from before the core split, on ${backend.name}`, () => {
    it('opens with every module, runs no migration again, and reads and writes every module\'s rows', async () => {
      const url = await backend.restore();
      const database = await openDatabase(url, MIGRATIONS);
      onTestFinished(() => database.close());
      const store = new KyselyStore(database, { annotations: [reactionWriter] });
      const chat = new ChatStore(database);
      const accounts = new AccountStore(database);
      const outbox = new WebhookOutbox(database);

      const migrations = await database.tables<{ kysely_migration: { name: string } }>().selectFrom('kysely_migration').select('name').execute();
      // The old ones recorded once each; migrations added since the split run once on top.
      expect(migrations.map((m) => m.name).sort()).toEqual(['0001-initial', '0002-accounts', '0003-chat', '0004-webhooks', '0005-bans', '0008-retention', '0009-event-attachments', '0010-topics-and-threads', '0011-channel-lifecycle', '0012-user-profiles']);

      // The log.
      expect((await store.readEvents('lobby', { after: 0, limit: 10 })).map((e) => e.kind)).toEqual([
        'message',
        'message',
        'reaction',
        'reaction',
        'edit',
      ]);
      expect((await store.getEvent('lobby', 2))?.text).toBe('thanks alice, cherry pie next');
      expect(await store.getMember('staff', 'bob')).toMatchObject({ role: 'member' });
      // Chat: reactions, search (the old full-text index), contacts, read state.
      expect((await chat.reactionsOf('lobby', [1])).get(1)).toEqual([{ emoji: '👍', count: 2, users: ['bob', 'carol'] }]);
      const found = await chat.search({ text: 'banana', readableBy: 'bob', limit: 10 });
      expect(found.map((e) => e.channel).sort()).toEqual(['lobby', 'staff']);
      expect((await chat.search({ text: 'cherry', readableBy: null, limit: 10 })).map((e) => e.seq)).toEqual([2]);
      expect(await chat.listContacts('alice')).toEqual([{ user: 'bob', name: 'Bob', avatarUrl: null, statusText: null, status: 'offline', lastSeen: 1_700_000_000_000 }]);
      expect(await chat.readPositions('staff')).toEqual([{ user: 'bob', seq: 1, at: 1_700_000_000_000 }]);
      // Auth and webhooks.
      expect(await accounts.getAccount('alice')).toEqual({ userId: 'alice', passwordHash: null, roles: ['admin'] });
      expect(await accounts.signingSecret('access-token-hs256', () => 'a new one')).toBe('fixture-secret');
      expect((await accounts.takeTicket('ticket-digest'))?.principal).toMatchObject({ userId: 'alice' });
      expect(await outbox.pendingCount()).toBe(1);

      // New writes keep the old tables and indexes in step.
      const [reacted, posted] = await store.appendBatch([
        { kind: 'reaction', channel: 'lobby', author: 'alice', target: 1, text: '👍' },
        { kind: 'message', channel: 'lobby', author: 'carol', text: 'durian season', data: null, cid: 'c1', replyTo: null },
      ]);
      expect(reacted).toMatchObject({ ok: true, event: { seq: 6 } });
      // The cid stored by the old code is still known: a retry is a duplicate, not a new message.
      expect(posted).toMatchObject({ ok: true, duplicate: true, event: { seq: 1 } });
      await store.appendBatch([{ kind: 'message', channel: 'lobby', author: 'carol', text: 'durian season', data: null, cid: null, replyTo: null }]);
      expect((await chat.search({ text: 'durian', readableBy: 'carol', limit: 10 })).map((e) => e.seq)).toEqual([7]);
      expect((await chat.reactionsOf('lobby', [1])).get(1)?.[0]?.count).toBe(3);
    });
  });
}
