import { expect, it } from 'vitest';
import { clusterBehindOutageProxy } from './helpers/outage-proxy.js';
import { describeWithServices } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';
import { type ServerFrame, useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

/**
 * A connect tells the user's audience "online" before the status is written (soft state,
 * chat/status.ts). When node A cannot reach PostgreSQL at that moment, the other nodes
 * must still hear it, and the table must catch up once the database is back: a contacts
 * list read from it on node B says online. A `status.set` refused during the outage stays
 * refused: it never takes effect later.
 */
const clients = useWsClients();

type Contact = { user: string; status: string };

const isStatus = (user: string, status: string) => (frame: ServerFrame) =>
  frame.type === 'status' && frame.user === user && frame.status === status;

/** The next `status` frame of `user` with `status` that `client` gets after this call (call it before the change). */
function nextStatus(client: WsTestClient, user: string, status: string): Promise<unknown> {
  const seen = client.frames.filter(isStatus(user, status)).length;
  return client.waitUntil(() => client.frames.filter(isStatus(user, status)).length > seen);
}

async function contactStatus(client: WsTestClient, user: string): Promise<string | undefined> {
  const { contacts } = await client.ok<{ contacts: Contact[] }>('contacts.list', {});
  return contacts.find((c) => c.user === user)?.status;
}

describeWithServices(['TEST_DATABASE_URL', 'TEST_REDIS_URL'], 'user status through a database outage', () => {
  it('tells the other nodes of a connect the database could not record, and records it once the database is back', async () => {
    const { proxy, schemaUrl, proxiedUrl, redisUrl } = await clusterBehindOutageProxy('statusoutage');
    const overrides = { redisUrl, grpcPort: 0 };
    const b = await startTestServer({ databaseUrl: schemaUrl, overrides });
    const a = await startTestServer({ databaseUrl: proxiedUrl, overrides });

    // Bob (on B) shares a channel with alice, so he hears her status, and has her as a contact.
    const bob = await clients.connect(b.wsUrl, 'bob');
    await bob.ok('channel.create', { channel: 'room', channelType: 'public' });
    const first = await clients.connect(a.wsUrl, 'alice');
    await first.ok('channel.join', { channel: 'room' });
    await bob.ok('contacts.add', { user: 'alice' });
    let offline = nextStatus(bob, 'alice', 'offline');
    await first.close();
    await offline;
    // Node A has her state, contacts and channels cached now: her next connect needs no read.
    const online = nextStatus(bob, 'alice', 'online');
    const warm = await clients.connect(a.wsUrl, 'alice');
    await online;
    offline = nextStatus(bob, 'alice', 'offline');
    await warm.close();
    await offline;
    expect(await contactStatus(bob, 'alice')).toBe('offline');

    proxy.cut();
    const heard = nextStatus(bob, 'alice', 'online');
    const alice = await clients.connect(a.wsUrl, 'alice');
    await alice.waitFor(isStatus('alice', 'online'));
    // Told on node B, though node A could not write it.
    await heard;
    const refused = await alice.request('status.set', { status: 'away' });
    expect(refused.code).toBe('unavailable');

    proxy.restore();
    // Bob's contacts list is read from the table on node B: online once A's write lands.
    await expect.poll(() => contactStatus(bob, 'alice'), { timeout: 10_000 }).toBe('online');
    // The refused `away` never took effect: no one was told, and the table says online, not
    // away (written again, away would have replaced the online change waiting to be).
    expect(bob.frames.filter(isStatus('alice', 'away'))).toEqual([]);
    expect(alice.frames.filter(isStatus('alice', 'away'))).toEqual([]);
  }, 30_000);
});
