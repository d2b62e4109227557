import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { MemoryBroker } from '../src/broker/memory-broker.js';
import { MemoryBus } from '../src/broker/memory-bus.js';
import { ERROR_CODES } from '../protocol/codes.js';
import { ERROR_CODE_KEY } from '../src/transports/grpc/grpc-errors.js';
import { as, call, failure, grpcClient, withApiKey } from './helpers/grpc-test-client.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { refusalOn, STREAM_WIRES, type StreamWire, subscribeOn, type WireSubscriber } from './helpers/wire-subscribers.js';
import { useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

/**
 * Access is checked for the life of a subscription, not once: any change that takes read
 * access away ends the affected subscriptions on every wire and every node within a
 * second, with the reason (/ws and SSE: `unsubscribed`; gRPC: the call's status and the
 * `x-switchboard-error` trailer), and nothing of the channel reaches them afterwards:
 * no event, receipt, typing or presence. Each scenario runs on every wire that streams.
 */
const clients = useWsClients();
const API_KEY = 'live-access-test-key-0123456789';
/** The rule's bound: a change reaches every affected subscriber within a second. */
const WITHIN_MS = 1000;

/** Two nodes in one process on one SQLite file, joined by an in-memory bus. */
async function twoNodes(): Promise<[TestServer, TestServer]> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-live-access-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const databaseUrl = `sqlite:${join(dir, 'shared.db')}`;
  const bus = new MemoryBus();
  const overrides = { apiKeys: [API_KEY] };
  const one = await startTestServer({ databaseUrl, broker: new MemoryBroker(bus), overrides });
  const two = await startTestServer({ databaseUrl, broker: new MemoryBroker(bus), overrides });
  return [one, two];
}

/** A private `staff` (alice owns it; bob and carol are members) and a public `lobby`. */
async function staffRoom(server: TestServer): Promise<{ alice: WsTestClient; carol: WsTestClient }> {
  const alice = await clients.connect(server.wsUrl, 'alice');
  await alice.ok('channel.create', { channel: 'staff', channelType: 'private', members: ['bob', 'carol'] });
  await alice.ok('channel.create', { channel: 'lobby', channelType: 'public' });
  const carol = await clients.connect(server.wsUrl, 'carol');
  return { alice, carol };
}

/**
 * Makes the change (`change`, a request of alice's) and expects bob's subscription to
 * end with `code` within a second of it.
 */
async function expectEndedBy(
  wire: StreamWire,
  bob: WireSubscriber,
  code: keyof typeof ERROR_CODES,
  change: () => Promise<unknown>,
): Promise<void> {
  const changedAt = Date.now();
  await change();
  const ended = await bob.unsubscribed();
  expect(ended.code).toBe(code);
  if (wire === 'grpc') expect(ended.grpcStatus).toBe(ERROR_CODES[code].grpc);
  expect(ended.at - changedAt).toBeLessThan(WITHIN_MS);
}

/**
 * Proves nothing more of `staff` can come: on a wire that streams a second channel, an
 * event published there after everything else arrives; on the others the call or stream
 * has ended.
 */
async function nothingMoreAfter(bob: WireSubscriber, alice: WsTestClient): Promise<void> {
  if (bob.sentinel) {
    const { seq } = await alice.ok<{ seq: number }>('publish', { channel: bob.sentinel, text: 'sentinel' });
    await bob.waitForSeq(seq, bob.sentinel);
  } else {
    await bob.sessionEnded();
  }
}

describe('live access: a subscription ends when read access is taken away', () => {
  for (const wire of STREAM_WIRES) {
    it(`${wire}: a member removed from a private channel is unsubscribed within a second (forbidden) and sees nothing more of it`, async () => {
      const server = await startTestServer();
      const { alice, carol } = await staffRoom(server);
      const bob = await subscribeOn(wire, server, { user: 'bob' }, 'staff', { sentinel: 'lobby' });
      await alice.ok('publish', { channel: 'staff', text: 'before' });
      await bob.waitForSeq(1);
      // A receipt reaches a reader, so its absence below means something.
      await carol.ok('read.mark', { channel: 'staff', seq: 1 });
      await expect.poll(() => bob.signals('receipt').length).toBe(1);
      // Another role is a change too: rechecked, and access stays.
      await alice.ok('members.add', { channel: 'staff', user: 'bob', role: 'admin' });
      await alice.ok('publish', { channel: 'staff', text: 'still a member' });
      await bob.waitForSeq(2);

      await expectEndedBy(wire, bob, 'forbidden', () => alice.ok('members.remove', { channel: 'staff', user: 'bob' }));

      // A message, a presence change, typing and a receipt in staff after the removal.
      await alice.ok('publish', { channel: 'staff', text: 'after' });
      await carol.ok('subscribe', { channel: 'staff' });
      await carol.ok('typing', { channel: 'staff' });
      await carol.ok('read.mark', { channel: 'staff', seq: 3 });
      await nothingMoreAfter(bob, alice);
      expect(bob.seqs()).toEqual([1, 2]);
      expect(bob.signals('receipt')).toHaveLength(1);
      expect(bob.signals('typing')).toEqual([]);
      expect(bob.signals('presence').filter((p) => p.user === 'carol')).toEqual([]);
      // Gone from presence at once, and refused if they try again.
      const { members } = await alice.ok<{ members: { user: string }[] }>('presence', { channel: 'staff' });
      expect(members.map((m) => m.user)).not.toContain('bob');
      expect(await refusalOn(wire, server, { user: 'bob' }, 'staff')).toBe('forbidden');
    });

    it(`${wire}: deleting a channel ends its subscriptions (channelDeleted)`, async () => {
      const server = await startTestServer();
      const { alice } = await staffRoom(server);
      await alice.ok('channel.create', { channel: 'doomed', channelType: 'public' });
      const bob = await subscribeOn(wire, server, { user: 'bob' }, 'doomed', { sentinel: 'lobby' });
      const changedAt = Date.now();
      await alice.ok('channel.delete', { channel: 'doomed' });
      const deleted = await bob.deleted();
      expect(deleted).toMatchObject({ channel: 'doomed', epoch: 1 });
      expect(deleted.arrivedAt - changedAt).toBeLessThan(WITHIN_MS);
      expect(await refusalOn(wire, server, { user: 'bob' }, 'doomed')).toBe('not_found');
    });

    it(`${wire}: a member removed on another node is unsubscribed within a second`, async () => {
      const [one, two] = await twoNodes();
      const { alice } = await staffRoom(two);
      const bob = await subscribeOn(wire, one, { user: 'bob' }, 'staff', { sentinel: 'lobby' });
      await alice.ok('publish', { channel: 'staff', text: 'before' });
      await bob.waitForSeq(1);

      await expectEndedBy(wire, bob, 'forbidden', () => alice.ok('members.remove', { channel: 'staff', user: 'bob' }));
      await alice.ok('publish', { channel: 'staff', text: 'after' });
      await nothingMoreAfter(bob, alice);
      expect(bob.seqs()).toEqual([1]);
    });
  }

  it('refuses typing of a removed member on /ws, REST and gRPC, and their typing never reaches readers', async () => {
    const server = await startTestServer();
    const { alice } = await staffRoom(server);
    await alice.ok('subscribe', { channel: 'staff' });
    await alice.ok('subscribe', { channel: 'lobby' });
    const bob = await clients.connect(server.wsUrl, 'bob');
    await bob.ok('subscribe', { channel: 'staff' });
    await bob.ok('typing', { channel: 'staff' });
    await alice.waitFor((f) => f.type === 'typing' && f.user === 'bob');

    await alice.ok('members.remove', { channel: 'staff', user: 'bob' });
    expect(await bob.request('typing', { channel: 'staff' })).toMatchObject({ type: 'error', code: 'forbidden' });
    const rest = await fetch(`${server.url}/api/channels/staff/typing`, { method: 'POST', headers: { 'x-switchboard-user': 'bob' } });
    expect(rest.status).toBe(403);
    const rpc = await failure(call(grpcClient(server), 'Typing', { channel: 'staff' }, as('bob')));
    expect(rpc.code).toBe(ERROR_CODES.forbidden.grpc);
    expect(rpc.metadata.get(ERROR_CODE_KEY)).toEqual(['forbidden']);
    // After the refusals, a lobby message reaches alice: no typing of bob's came before it.
    await bob.ok('publish', { channel: 'lobby', text: 'sentinel' });
    await alice.waitFor((f) => f.type === 'event' && f.channel === 'lobby');
    expect(alice.frames.filter((f) => f.type === 'typing' && f.user === 'bob')).toHaveLength(1);
  });

  it('a subscribe that raced a removal is not left running', async () => {
    const server = await startTestServer();
    const { alice } = await staffRoom(server);
    const bob = await clients.connect(server.wsUrl, 'bob');
    // Sent together: whichever the server finishes first, bob must not end up subscribed.
    const subscribing = bob.request('subscribe', { channel: 'staff' });
    await alice.ok('members.remove', { channel: 'staff', user: 'bob' });
    const reply = await subscribing;
    if (reply.type === 'ok') await bob.waitFor((f) => f.type === 'unsubscribed' && f.channel === 'staff');
    else expect(reply.code).toBe('forbidden');
    await alice.ok('publish', { channel: 'staff', text: 'after' });
    await alice.ok('channel.create', { channel: 'after', channelType: 'public' });
    await bob.ok('subscribe', { channel: 'after' });
    await alice.ok('publish', { channel: 'after', text: 'sentinel' });
    await bob.waitFor((f) => f.type === 'event' && f.channel === 'after');
    expect(bob.events('staff')).toEqual([]);
  });
});

describe('live access: a banned user', () => {
  it('loses every session on every wire and node within a second, cannot authenticate anywhere, and may again once unbanned', async () => {
    const [one, two] = await twoNodes();
    const { alice } = await staffRoom(one);
    const sessions = [
      ...(await Promise.all(STREAM_WIRES.map((wire) => subscribeOn(wire, one, { user: 'bob' }, 'lobby')))),
      await subscribeOn('ws', two, { user: 'bob' }, 'lobby'),
    ];
    await alice.ok('publish', { channel: 'lobby', text: 'before' });
    await Promise.all(sessions.map((session) => session.waitForSeq(1)));

    const bannedAt = Date.now();
    const ban = await fetch(`${two.url}/api/users/bob/ban`, {
      method: 'PUT',
      headers: { 'x-switchboard-key': API_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ reason: 'spam' }),
    });
    expect(ban.status).toBe(200);
    expect(await ban.json()).toMatchObject({ user: 'bob', reason: 'spam' });
    for (const session of sessions) {
      const end = await session.sessionEnded();
      expect(end.at - bannedAt, session.wire).toBeLessThan(WITHIN_MS);
      if (session.wire === 'grpc') {
        expect(end.status).toBe(ERROR_CODES.forbidden.grpc);
        expect(end.code).toBe('forbidden');
      } else {
        // /ws and SSE: told not to come back, then closed (/ws: 4403).
        expect(end.close).toEqual({ reason: 'banned', reconnect: false });
        if (session.wire === 'ws') expect(end.status).toBe(4403);
      }
    }

    // New authentication is refused on every wire and node.
    for (const server of [one, two]) {
      for (const wire of STREAM_WIRES) expect(await refusalOn(wire, server, { user: 'bob' }, 'lobby'), wire).toBe('forbidden');
      expect((await fetch(`${server.url}/api/ping`, { headers: { 'x-switchboard-user': 'bob' } })).status).toBe(403);
      const rpc = await failure(call(grpcClient(server), 'Ping', {}, as('bob')));
      expect(rpc.code).toBe(ERROR_CODES.forbidden.grpc);
    }
    // Only the app's backend bans.
    expect((await fetch(`${one.url}/api/users/carol/ban`, { method: 'PUT', headers: { 'x-switchboard-user': 'alice' } })).status).toBe(403);

    await call(grpcClient(one), 'UnbanUser', { user: 'bob' }, withApiKey(API_KEY));
    for (const server of [one, two]) {
      for (const wire of STREAM_WIRES) expect(await refusalOn(wire, server, { user: 'bob' }, 'lobby'), wire).toBeNull();
    }
  });

  it('stays banned across a restart (the ban is stored), over /ws with an API key too', async () => {
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY] } });
    const backend = clients.open(server.wsUrl, { headers: { authorization: `Bearer ${API_KEY}` } });
    await backend.waitFor((f) => f.type === 'welcome');
    expect(await backend.ok('users.ban', { user: 'bob' })).toMatchObject({ user: 'bob', reason: null });
    // Banning again keeps the first ban.
    const first = await backend.ok<{ bannedAt: number }>('users.ban', { user: 'bob', reason: 'again' });
    expect(first).toMatchObject({ reason: null });
    await backend.close();
    await server.restart();
    expect(await refusalOn('ws', server, { user: 'bob' }, 'user:bob')).toBe('forbidden');
    const unban = await fetch(`${server.url}/api/users/bob/ban`, { method: 'DELETE', headers: { 'x-switchboard-key': API_KEY } });
    expect(unban.status).toBe(204);
    expect(await refusalOn('ws', server, { user: 'bob' }, 'user:bob')).toBeNull();
  });
});
