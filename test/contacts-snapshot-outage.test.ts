import { expect, it } from 'vitest';
import { anotherOutageProxy, clusterBehindOutageProxy, databaseBehindOutageProxy } from './helpers/outage-proxy.js';
import { describeWithServices } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';
import { type ServerFrame, useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

/**
 * A session whose contacts snapshot could not be read, PostgreSQL being out of reach,
 * gets it once the database answers again, without asking (chat/pending-snapshots.ts).
 * The contacts' states are always read from the table and the presence registry, never
 * from the node's cache (ChatCache.contactStates), so the snapshot's read does hit the
 * database.
 */
const clients = useWsClients();

type Contact = { user: string; status: string };

const isStatus = (user: string, status: string) => (frame: ServerFrame) =>
  frame.type === 'status' && frame.user === user && frame.status === status;

const snapshotsOf = (client: WsTestClient) => client.frames.filter((frame) => frame.type === 'contacts');

/** `user` connects and is told their own `online`: it goes once their snapshot was tried, and their connect's reads are done. */
async function connectOnline(url: string, user: string): Promise<WsTestClient> {
  const client = await clients.connect(url, user);
  await client.waitFor(isStatus(user, 'online'));
  return client;
}

/** Connects and leaves again, so the node has the user's state, contacts and channels cached: a connect then needs no read. */
async function warm(url: string, user: string): Promise<void> {
  await (await connectOnline(url, user)).close();
}

describeWithServices(['TEST_DATABASE_URL'], 'contacts snapshot after a database outage', () => {
  it('is sent once the database answers again, once per session', async () => {
    const { proxy, proxiedUrl } = await databaseBehindOutageProxy('latesnapshot');
    const server = await startTestServer({ databaseUrl: proxiedUrl });
    const first = await clients.connect(server.wsUrl, 'alice');
    await warm(server.wsUrl, 'bob');
    await first.ok('contacts.add', { user: 'bob' });
    await first.close();
    await warm(server.wsUrl, 'alice');
    await warm(server.wsUrl, 'bob');

    proxy.cut();
    const alice = await connectOnline(server.wsUrl, 'alice');
    expect(snapshotsOf(alice)).toEqual([]);

    proxy.restore();
    const late = await alice.waitFor((frame) => frame.type === 'contacts');
    expect(late.contacts as Contact[]).toMatchObject([{ user: 'bob', status: 'offline' }]);

    // A second outage, for a round that comes after alice's snapshot went: bob's, sent
    // late too. Alice's own snapshot is not sent again by it.
    proxy.cut();
    const bob = await connectOnline(server.wsUrl, 'bob');
    await alice.waitFor(isStatus('bob', 'online'));
    proxy.restore();
    const bobs = await bob.waitFor((frame) => frame.type === 'contacts');
    expect(bobs.contacts as Contact[]).toMatchObject([{ user: 'alice', status: 'online' }]);
    expect(snapshotsOf(alice)).toHaveLength(1);
    expect(snapshotsOf(bob)).toHaveLength(1);
  }, 30_000);

  // Node B tells bob's disconnect before it can write it; A's database is back first: alice's
  // late snapshot must not take back the offline she heard.
  it('keeps what a status frame told the session while it waited, whose change the table never got', async () => {
    const { proxy: proxyA, schemaUrl, proxiedUrl: urlA, redisUrl } = await clusterBehindOutageProxy('latesnapshotframes');
    const { proxy: proxyB, proxiedUrl: urlB } = await anotherOutageProxy(schemaUrl);
    const overrides = { redisUrl, grpcPort: 0 };
    const a = await startTestServer({ databaseUrl: urlA, overrides });
    const b = await startTestServer({ databaseUrl: urlB, overrides });
    const first = await clients.connect(a.wsUrl, 'alice');
    // Bob leaves B only once B has heard of the new contact (alice's disconnect, noticed after
    // it on the same path, reaches him then), so his disconnect caches his contacts as they are
    // now. The notice is ordered before no connect on another node: heard after his next one,
    // that connect would be told to the contacts cached before (none), and the notice would drop
    // them, leaving B nothing to tell his disconnect with during the outage.
    const warmBob = await connectOnline(b.wsUrl, 'bob');
    await first.ok('contacts.add', { user: 'bob' });
    await first.close();
    await warmBob.waitFor(isStatus('alice', 'offline'));
    await warmBob.close();
    // Alice learns of bob's connect from the frame, or from her snapshot when that was read
    // after his session was registered (the frame is then held back: she was told already).
    const warmAlice = await clients.connect(a.wsUrl, 'alice');
    const bob = await connectOnline(b.wsUrl, 'bob');
    await warmAlice.waitFor(
      (frame) =>
        isStatus('bob', 'online')(frame) ||
        (frame.type === 'contacts' && (frame.contacts as Contact[]).some((c) => c.user === 'bob' && c.status === 'online')),
    );
    await warmAlice.close();
    await bob.waitFor(isStatus('alice', 'offline'));

    proxyA.cut();
    proxyB.cut();
    const alice = await connectOnline(a.wsUrl, 'alice');
    await bob.close();
    await alice.waitFor(isStatus('bob', 'offline'));

    proxyA.restore();
    const late = await alice.waitFor((frame) => frame.type === 'contacts');
    expect(late.contacts as Contact[]).toMatchObject([{ user: 'bob', status: 'offline' }]);
    proxyB.restore();
  }, 30_000);
});
