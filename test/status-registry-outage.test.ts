import pg from 'pg';
import { expect, it, onTestFinished } from 'vitest';
import { BlackholeProxy } from './helpers/blackhole-proxy.js';
import { clusterBehindOutageProxy } from './helpers/outage-proxy.js';
import { describeWithServices } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';
import { type ServerFrame, useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

/**
 * A change the presence registry made on its own (a dead node's sessions reaped, a cut-off
 * node's sessions written back) is acted on by the one node that made it, which reads the
 * user's row (whom to tell, and whether they chose away). With PostgreSQL out of reach there, the
 * change waits and is tried again once the database answers (chat/status.ts,
 * registryChanged). Node A reaches Redis through a proxy that can cut it off and
 * PostgreSQL through an outage switch; node B reaches both directly. The table is read
 * over a connection of its own.
 */
const clients = useWsClients();

/** Short enough that B reaps A's sessions within two seconds of A going silent. */
const cluster = { heartbeatMs: 300, nodeTimeoutMs: 1500, stallTimeoutMs: 1000 };

const isStatus = (user: string, status: string) => (frame: ServerFrame) =>
  frame.type === 'status' && frame.user === user && frame.status === status;

/** A presence frame with this change, alone or in a batch. */
const isPresence = (user: string, action: string) => (frame: ServerFrame) =>
  (frame.type === 'presence' ? [frame] : frame.type === 'presenceBatch' ? (frame.changes as ServerFrame[]) : []).some(
    (change) => change.user === user && change.action === action,
  );

/** The statuses `client` was sent for `user` from its `mark`-th frame on, in order. */
const statusesSince = (client: WsTestClient, mark: number, user: string) =>
  client.frames
    .slice(mark)
    .filter((frame) => frame.type === 'status' && frame.user === user)
    .map((frame) => frame.status);

/** Resolves once `client` was sent a frame that matches, from its `mark`-th frame on. */
const frameSince = (client: WsTestClient, mark: number, predicate: (frame: ServerFrame) => boolean, timeoutMs: number) =>
  client.waitUntil(() => client.frames.slice(mark).find(predicate), timeoutMs);

describeWithServices(['TEST_DATABASE_URL', 'TEST_REDIS_URL'], 'a registry change whose reads met a database outage', () => {
  it("brings a written-back user's status to the other nodes once the database answers", async () => {
    const { proxy: database, schemaUrl, proxiedUrl, redisUrl } = await clusterBehindOutageProxy('statusregistry');
    const redis = await BlackholeProxy.start(Number(new URL(redisUrl).port || 6379));
    onTestFinished(() => redis.close());
    const proxiedRedis = new URL(redisUrl);
    proxiedRedis.hostname = '127.0.0.1';
    proxiedRedis.port = String(redis.port);
    const table = new pg.Client({ connectionString: schemaUrl });
    await table.connect();
    onTestFinished(() => table.end());
    const row = async () => (await table.query<{ status: string }>("select status from user_status where user_id = 'alice'")).rows[0];
    const b = await startTestServer({ databaseUrl: schemaUrl, overrides: { redisUrl, cluster, grpcPort: 0 } });
    const a = await startTestServer({ databaseUrl: proxiedUrl, overrides: { redisUrl: proxiedRedis.toString(), cluster, grpcPort: 0 } });

    const alice = await clients.connect(a.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'room', channelType: 'public' });
    await alice.ok('subscribe', { channel: 'room' });
    const bob = await clients.connect(b.wsUrl, 'bob');
    await bob.ok('channel.join', { channel: 'room' });
    await bob.ok('subscribe', { channel: 'room' });
    const mark = bob.frames.length;

    // A is cut off from Redis: B reaps her session and tells bob she left, writing it down.
    redis.cut();
    await frameSince(bob, mark, isStatus('alice', 'offline'), 15_000);
    await expect.poll(async () => (await row())?.status, { timeout: 5000 }).toBe('offline');

    // A loses the database, then gets Redis back: it writes her session back (B's subscribers
    // hear her join, sent by A right after its own registry heard it) and reads her row to
    // learn whether her status changed: it cannot.
    database.cut();
    redis.heal();
    await frameSince(bob, mark, isPresence('alice', 'join'), 15_000);
    // Asked in her chain after the registry's change: the refusal says that one was tried.
    expect((await alice.request('status.set', { status: 'away' })).code).toBe('unavailable');
    expect(statusesSince(bob, mark, 'alice')).toEqual(['offline']);

    const healed = bob.frames.length;
    database.restore();
    await frameSince(bob, healed, isStatus('alice', 'online'), 15_000);
    expect(statusesSince(bob, mark, 'alice')).toEqual(['offline', 'online']);
    // Nothing written: the table keeps the reaper's offline, and bob's node reads her online
    // from the registry.
    expect((await row())?.status).toBe('offline');
    expect(await bob.ok('contacts.add', { user: 'alice' })).toMatchObject({ status: 'online' });
    expect(statusesSince(bob, healed, 'alice')).toEqual(['online']);

    // Her disconnect follows it to bob: a second online would have come before it.
    await alice.close();
    await frameSince(bob, healed, isStatus('alice', 'offline'), 10_000);
    expect(statusesSince(bob, healed, 'alice')).toEqual(['online', 'offline']);
  }, 60_000);
});
