import pg from 'pg';
import { expect, it, onTestFinished } from 'vitest';
import { clusterBehindOutageProxy } from './helpers/outage-proxy.js';
import { restAs } from './helpers/rest-as.js';
import { describeWithServices } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';
import { type ServerFrame, useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

/**
 * A connect on a node whose cache does not hold the user's channels (or contacts) must
 * read them to know whom to tell. With PostgreSQL out of reach there, no one is told; the
 * change is announced (told, sent to the other nodes) once the database answers, unless a
 * later change of the user's came first
 * (chat/pending-status-changes.ts). Node A is behind the outage switch, node B is not;
 * the table is read over a connection of its own.
 */
const clients = useWsClients();

const isStatus = (user: string, status: string) => (frame: ServerFrame) =>
  frame.type === 'status' && frame.user === user && frame.status === status;

/** The statuses `client` was sent for `user` from its `mark`-th frame on, in order. */
const statusesSince = (client: WsTestClient, mark: number, user: string) =>
  client.frames
    .slice(mark)
    .filter((frame) => frame.type === 'status' && frame.user === user)
    .map((frame) => frame.status);

/**
 * Two nodes, and alice known to node A (it let her in before, so her connect writes
 * nothing) without her channel list in its cache. Bob, on node B, and carol, on A, share
 * a channel with her. Then A loses the database and alice connects there: her connect
 * cannot read whom to tell. `mark`: bob's frames from before the outage.
 */
async function aliceConnectsUncached() {
  const { proxy, schemaUrl, proxiedUrl, redisUrl } = await clusterBehindOutageProxy('statusannounce');
  const overrides = { redisUrl, grpcPort: 0 };
  const table = new pg.Client({ connectionString: schemaUrl });
  await table.connect();
  onTestFinished(() => table.end());
  const row = async () =>
    (await table.query<{ status: string; updated_at: string }>("select status, updated_at from user_status where user_id = 'alice'")).rows[0];
  const b = await startTestServer({ databaseUrl: schemaUrl, overrides });
  const a = await startTestServer({ databaseUrl: proxiedUrl, overrides });

  const bob = await clients.connect(b.wsUrl, 'bob');
  await bob.ok('channel.create', { channel: 'room', channelType: 'public' });
  const carol = await clients.connect(a.wsUrl, 'carol');
  await carol.ok('channel.join', { channel: 'room' });
  const warm = await clients.connect(a.wsUrl, 'alice');
  await warm.ok('channel.join', { channel: 'room' });
  await warm.close();
  // Told once read: node A has her state and audience cached from here.
  await bob.waitFor(isStatus('alice', 'offline'));
  // A channel created on A drops every channel list A has cached, alice's among them.
  await carol.ok('channel.create', { channel: 'elsewhere', channelType: 'public' });

  const mark = bob.frames.length;
  proxy.cut();
  const alice = await clients.connect(a.wsUrl, 'alice');
  // Asked in her chain after her connect's change: the refusal says that one was tried.
  const refused = await alice.request('status.set', { status: 'away' });
  expect(refused.code).toBe('unavailable');
  expect(statusesSince(alice, 0, 'alice')).toEqual([]);
  return { a, proxy, row, bob, carol, alice, mark };
}

describeWithServices(['TEST_DATABASE_URL', 'TEST_REDIS_URL'], 'a status change whose reads met a database outage', () => {
  it('is announced once the database answers: told on every node once, and read from the registry, not the table', async () => {
    const { proxy, row, bob, alice, mark } = await aliceConnectsUncached();
    expect(statusesSince(bob, mark, 'alice')).toEqual([]);

    const healed = bob.frames.length;
    proxy.restore();
    await bob.waitUntil(() => statusesSince(bob, healed, 'alice').length > 0, 15_000);
    expect(statusesSince(bob, healed, 'alice')).toEqual(['online']);
    await alice.waitFor(isStatus('alice', 'online'));
    // A connect writes nothing: the table keeps her last disconnect, and node B reads her
    // online from the registry all the same.
    expect((await row())?.status).toBe('offline');
    expect(await bob.ok('contacts.add', { user: 'alice' })).toMatchObject({ user: 'alice', status: 'online' });

    // Her disconnect follows it to bob: by then a second online, or the refused away, would
    // have come before it.
    await alice.close();
    await bob.waitUntil(() => statusesSince(bob, mark, 'alice').length === 2);
    expect(statusesSince(bob, mark, 'alice')).toEqual(['online', 'offline']);
  }, 30_000);

  it('is dropped when the user left before the database answered', async () => {
    const { a, proxy, row, bob, carol, alice, mark } = await aliceConnectsUncached();

    const leftAt = Date.now();
    await alice.close();
    // Her session gone from node A, her disconnect is queued in her chain, ahead of any retry
    // of her connect; a status.set asked now comes after it, so its refusal says the
    // disconnect was tried while the database was still away.
    await expect.poll(() => [...a.hub.sessionsOf('alice')].length, { timeout: 10_000 }).toBe(0);
    expect((await restAs(a, 'alice')('PUT', '/api/me/status', { status: 'away' })).status).toBe(503);
    proxy.restore();

    // Her disconnect is announced in its place: written, and told to no one here, since bob
    // was last told she was offline.
    await expect.poll(async () => Number((await row())?.updated_at), { timeout: 15_000 }).toBeGreaterThanOrEqual(leftAt);
    expect((await row())?.status).toBe('offline');
    // A change sent to B from node A after that: an online announced before the write would
    // have reached bob before it.
    await carol.ok('status.set', { status: 'away' });
    await bob.waitFor(isStatus('carol', 'away'));
    expect(statusesSince(bob, mark, 'alice')).toEqual([]);
  }, 30_000);
});
