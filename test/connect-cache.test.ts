import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { startNodeCluster } from './helpers/cluster.js';
import { describeWithServices } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';
import { type ServerFrame, useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

/**
 * Connects and status changes read users' states, contacts, channels and members from
 * chat's cache (src/chat/chat-cache.ts), not the database. Every change that touches them
 * must reach the cache at once, on the node that made it and on every other node: a
 * stale entry would show an old name or status in a contacts snapshot, or send a status
 * to someone who left (or not to someone who joined). Each step below first fills the
 * cache, then changes something on one node and looks on the other.
 *
 * Across nodes, a status frame is the sync point: chat's notices travel on one cluster
 * topic in order, so once a frame sent after a change arrives, the change's notice has
 * been applied there too.
 */
const clients = useWsClients();

type Contact = { user: string; name: string; status: string; lastSeen: number | null };

const isStatus = (user: string, status: string) => (frame: ServerFrame) =>
  frame.type === 'status' && frame.user === user && frame.status === status;

const namedInList = (user: string, name: string) => (f: ServerFrame) =>
  f.type === 'list' && f.list === 'users' && (f.item as Contact).user === user && (f.item as Contact).name === name;

/**
 * The next `status` frame of `user` with `status` that `client` gets after this call (call
 * it before the change). Counting a user's frames would not do across nodes: each node
 * leaves out a status it already told, and a node first tells a newcomer to an audience
 * what the other node had told long before.
 */
function nextStatus(client: WsTestClient, user: string, status: string): Promise<unknown> {
  const seen = client.frames.filter(isStatus(user, status)).length;
  return client.waitUntil(() => client.frames.filter(isStatus(user, status)).length > seen);
}

/** A new session's contacts snapshot (read from the cache when the session opens). */
async function snapshotOf(url: string, user: string): Promise<Contact[]> {
  const client = await clients.connect(url, user);
  const frame = await client.waitFor((f) => f.type === 'contacts');
  return frame.contacts as Contact[];
}

/** `one` and `two` are the URLs of the nodes (the same URL on one node). */
async function cacheFollowsEveryChange(one: string, two: string): Promise<void> {
  const alice = await clients.connect(one, 'alice');
  const carol = await clients.connect(one, 'carol');
  const bob = await clients.connect(two, 'bob');
  const dave = await clients.connect(two, 'dave');
  // Connects filled the caches: every audience, channel list and contact list is empty.
  await alice.waitFor((f) => f.type === 'contacts');
  await dave.waitFor((f) => f.type === 'contacts');

  // Contact added on node two: alice's cached contacts on node one must go.
  await bob.ok('contacts.add', { user: 'alice' });
  await dave.ok('contacts.add', { user: 'carol' });
  expect(await snapshotOf(two, 'bob')).toEqual([{ user: 'alice', name: 'alice', avatarUrl: null, statusText: null, status: 'online', lastSeen: null }]);
  let heard = nextStatus(bob, 'alice', 'away');
  await alice.ok('status.set', { status: 'away' });
  await heard;

  // Status change on node one: node two's cached state of alice (read by the snapshot above) follows.
  expect(await snapshotOf(two, 'bob')).toEqual([{ user: 'alice', name: 'alice', avatarUrl: null, statusText: null, status: 'away', lastSeen: null }]);

  // Renames: alice's on node one (its own cache), dave's made on node one while his status
  // changes on node two (carol's status is the sync point). Status changes carry the
  // user's state, name included, to those following the user in a live list.
  await bob.ok('list.subscribe', { list: 'users', users: ['alice'] });
  await carol.ok('list.subscribe', { list: 'users', users: ['dave'] });
  await alice.ok('users.update', { user: 'alice', name: 'Alice Liddell' });
  const daveOnOne = await clients.connect(one, 'dave');
  await daveOnOne.ok('users.update', { user: 'dave', name: 'Dave Bowman' });
  await daveOnOne.close();
  heard = nextStatus(dave, 'carol', 'away');
  await carol.ok('status.set', { status: 'away' });
  await heard;
  await dave.ok('status.set', { status: 'online' });
  await carol.waitFor(namedInList('dave', 'Dave Bowman'));
  await alice.ok('status.set', { status: 'away' });
  await bob.waitFor(namedInList('alice', 'Alice Liddell'));
  expect(await snapshotOf(two, 'bob')).toEqual([{ user: 'alice', name: 'Alice Liddell', avatarUrl: null, statusText: null, status: 'away', lastSeen: null }]);

  // Membership added on node two: alice's cached channels on node one (read by the status
  // change after the channel was made) must go, so dave, who shares nothing else with
  // her, hears her status.
  await dave.ok('channel.create', { channel: 'club', channelType: 'private' });
  heard = nextStatus(bob, 'alice', 'online');
  await alice.ok('status.set', { status: 'online' });
  await heard;
  await dave.ok('members.add', { channel: 'club', user: 'alice' });
  heard = nextStatus(carol, 'dave', 'away');
  await dave.ok('status.set', { status: 'away' });
  await heard;
  heard = nextStatus(dave, 'alice', 'away');
  await alice.ok('status.set', { status: 'away' });
  await heard;

  // Membership removed on node two: alice's status no longer reaches dave.
  await dave.ok('members.remove', { channel: 'club', user: 'alice' });
  heard = nextStatus(carol, 'dave', 'online');
  await dave.ok('status.set', { status: 'online' });
  await heard;
  await alice.ok('status.set', { status: 'online' });
  heard = nextStatus(dave, 'carol', 'online');
  await carol.ok('status.set', { status: 'online' });
  await heard;
  expect(dave.frames.filter(isStatus('alice', 'online'))).toEqual([]);

  // Contact removed on node two: likewise for bob.
  await bob.ok('contacts.remove', { user: 'alice' });
  heard = nextStatus(carol, 'dave', 'away');
  await dave.ok('status.set', { status: 'away' });
  await heard;
  const before = bob.frames.length;
  await alice.ok('status.set', { status: 'away' });
  heard = nextStatus(dave, 'carol', 'away');
  await carol.ok('status.set', { status: 'away' });
  await heard;
  expect(bob.frames.slice(before).filter((f) => f.type === 'status' && f.user === 'alice')).toEqual([]);
  expect(await snapshotOf(two, 'bob')).toEqual([]);

  // Going offline on node one: node two's snapshot says so, with when.
  await bob.ok('contacts.add', { user: 'alice' });
  heard = nextStatus(carol, 'dave', 'online');
  await dave.ok('status.set', { status: 'online' });
  await heard;
  await alice.close();
  const offline = (await bob.waitFor(isStatus('alice', 'offline'))) as ServerFrame & { lastSeen: number };
  expect(await snapshotOf(two, 'bob')).toEqual([{ user: 'alice', name: 'Alice Liddell', avatarUrl: null, statusText: null, status: 'offline', lastSeen: offline.lastSeen }]);
}

describe('connect cache, one node (SQLite)', () => {
  it('sees renames, contact changes, membership changes and status changes at once', async () => {
    const server = await startTestServer();
    await cacheFollowsEveryChange(server.wsUrl, server.wsUrl);
  });
});

describe('connect cache, renamed by a credential', () => {
  it('takes the name a new token carries from the next status change on', async () => {
    const secret = 'connect-cache-test-secret-0123456789';
    const server = await startTestServer({ overrides: { auth: 'jwt', jwt: { secret } } });
    const open = async (sub: string, name: string) => {
      const token = await new SignJWT({ name }).setProtectedHeader({ alg: 'HS256' }).setSubject(sub).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
      const client = clients.open(server.wsUrl, { headers: { authorization: `Bearer ${token}` } });
      await client.waitFor((f) => f.type === 'welcome');
      return client;
    };
    const alice = await open('alice', 'Alice');
    const bob = await open('bob', 'Bob');
    await alice.ok('list.subscribe', { list: 'users', users: ['bob'] });
    await bob.ok('status.set', { status: 'away' });
    await alice.waitFor(namedInList('bob', 'Bob'));
    // A second session under a new name: no status change of its own, the next one carries it.
    const renamed = await open('bob', 'Robert');
    await renamed.ok('status.set', { status: 'online' });
    await alice.waitFor(namedInList('bob', 'Robert'));
  });
});

describe('connect reads ahead', () => {
  /**
   * A connect starts the reads its session's opening makes (state, contacts, channels)
   * with its own write of the user, in the same batch round: when the session opens they
   * are answered, so the 101 response, the welcome, the contacts snapshot and the user's
   * own status leave in one socket write, for a first connect as for a reconnect.
   */
  it('answers a storm of first connects, and of reconnects, in one socket write each, under the names the tokens carry', async () => {
    const secret = 'connect-cache-test-secret-0123456789';
    const apiKey = 'connect-cache-test-api-key-0123456789';
    const server = await startTestServer({ overrides: { auth: 'jwt', jwt: { secret }, apiKeys: [apiKey], limits: { connectionsPerIp: 1000 } } });
    const socketWrites = async () => {
      const metrics = await (await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${apiKey}` } })).text();
      return Number(/^switchboard_ws_socket_writes_total (\d+)/m.exec(metrics)![1]);
    };
    const users = Array.from({ length: 40 }, (_, i) => `storm-${i}`);
    const tokenOf = (user: string) =>
      new SignJWT({ name: `Storm ${user}` }).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
    const tokens = await Promise.all(users.map(tokenOf));
    const open = (token: string) => clients.open(server.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    const connectAll = async () => {
      const connected = tokens.map(open);
      // Each session's own status is the last of its first frames.
      await Promise.all(connected.map((client, i) => client.waitFor(isStatus(users[i]!, 'online'))));
      return connected;
    };

    let before = await socketWrites();
    const first = await connectAll();
    expect((await socketWrites()) - before).toBe(users.length);
    for (const client of first) expect(client.frames.slice(0, 3).map((f) => f.type)).toEqual(['welcome', 'contacts', 'status']);

    // The states their connects cached carry the names their tokens brought: the offline
    // changes push them to a live list.
    const watcher = open(await tokenOf('watcher'));
    await watcher.waitFor((f) => f.type === 'welcome');
    await watcher.ok('list.subscribe', { list: 'users', users });
    await Promise.all(first.map((client) => client.close()));
    await Promise.all(users.map((user) => watcher.waitFor((f) => namedInList(user, `Storm ${user}`)(f) && (f.item as Contact).status === 'offline')));
    await watcher.close();

    before = await socketWrites();
    await connectAll();
    expect((await socketWrites()) - before).toBe(users.length);
  });
});

describe('connect frames in order', () => {
  it('sends the welcome first, then the contacts and own status, when server-side subscriptions hold the welcome back', async () => {
    const secret = 'connect-cache-test-secret-0123456789';
    const server = await startTestServer({ overrides: { auth: 'jwt', jwt: { secret }, limits: { connectionsPerIp: 1000 } } });
    const tokenOf = (user: string, claims: Record<string, unknown> = {}) =>
      new SignJWT(claims).setProtectedHeader({ alg: 'HS256' }).setSubject(user).setExpirationTime('1h').sign(new TextEncoder().encode(secret));
    const open = (token: string) => clients.open(server.wsUrl, { headers: { authorization: `Bearer ${token}` } });
    const owner = open(await tokenOf('owner'));
    await owner.waitFor((f) => f.type === 'welcome');
    await owner.ok('channel.create', { channel: 'news', channelType: 'public' });
    await owner.ok('publish', { channel: 'news', text: 'first' });

    // First connects and reconnects alike: their own notices are ready before the
    // subscriptions the welcome reports are made, and still follow the welcome.
    const users = Array.from({ length: 10 }, (_, i) => `reader-${i}`);
    const tokens = await Promise.all(users.map((user) => tokenOf(user, { channels: ['news'] })));
    for (const pass of ['first', 'again']) {
      const connected = tokens.map(open);
      await Promise.all(connected.map((client, i) => client.waitFor(isStatus(users[i]!, 'online'))));
      for (const [i, client] of connected.entries()) {
        // Presence of the other readers may come between: the channel is theirs too.
        const own = client.frames.filter((f) => f.type === 'welcome' || f.type === 'contacts' || isStatus(users[i]!, 'online')(f));
        expect(own.map((f) => f.type), pass).toEqual(['welcome', 'contacts', 'status']);
        expect(client.frames[0]!.type, pass).toBe('welcome');
        expect(client.frames[0]!.subscriptions, pass).toEqual([expect.objectContaining({ channel: 'news' })]);
      }
      await Promise.all(connected.map((client) => client.close()));
    }
  });
});

describeWithServices(['TEST_DATABASE_URL', 'TEST_REDIS_URL'], 'connect cache across node processes (PostgreSQL + Redis)', () => {
  it('sees a change made on one node at once on the other', async () => {
    const nodes = await startNodeCluster('connectcache', 2, () => clients.closeAll());
    try {
      await cacheFollowsEveryChange(nodes[0]!.wsUrl, nodes[1]!.wsUrl);
    } catch (error) {
      // What each node logged says which side lost the change.
      console.error(nodes.map((node, i) => `node ${i}:\n${node.output}`).join('\n'));
      throw error;
    }
    // Two node processes doing some forty steps in turn: far slower on a loaded machine.
  }, 60_000);
});
