import { expect, it } from 'vitest';
import { clusterBehindOutageProxy } from './helpers/outage-proxy.js';
import { describeWithServices } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';
import { type ServerFrame, useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

/**
 * A connect tells the user's audience "online" and writes nothing: online-ness is the
 * presence registry's (chat/user-states.ts). When node A cannot reach PostgreSQL at that
 * moment, the other nodes must still hear it, and a contacts list read on node B says
 * online at once, from the registry. A `status.set` refused during the outage stays
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
  it('tells the other nodes of a connect on a node cut off from the database, whose reads say online meanwhile', async () => {
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
    // Told on node B, though node A cannot reach the database, and read there from the registry.
    await heard;
    expect(await contactStatus(bob, 'alice')).toBe('online');
    const refused = await alice.request('status.set', { status: 'away' });
    expect(refused.code).toBe('unavailable');

    proxy.restore();
    // A change sent to B from node A after the database is back: a late away would come before it.
    const closed = nextStatus(bob, 'alice', 'offline');
    await alice.close();
    await closed;
    // The refused `away` never took effect: no one was told, and the table never said away.
    expect(bob.frames.filter(isStatus('alice', 'away'))).toEqual([]);
    expect(alice.frames.filter(isStatus('alice', 'away'))).toEqual([]);
    expect(await contactStatus(bob, 'alice')).toBe('offline');
  }, 30_000);
});
