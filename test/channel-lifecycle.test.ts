import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from '../protocol/codes.js';
import type { ChannelDeleted, StaleEpoch } from '../client/src/index.js';
import { pusherServerSdk } from './helpers/pusher-js.js';
import { PusherSocket } from './helpers/pusher-socket.js';
import { restAs } from './helpers/rest-as.js';
import { useSdkClients } from './helpers/sdk-clients.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { refusalWithDetails, STREAM_WIRES, subscribeOn } from './helpers/wire-subscribers.js';
import { useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

/**
 * The channel lifecycle on one node (SQLite): deleting a channel tells every subscriber
 * on every wire and ends the subscription; an id created again is a new epoch, which a
 * resume into the old one cannot be mistaken for (`stale_epoch`); an archived channel is
 * read-only. The issue's scenario (wes kept across `reborn`'s deletion and re-creation)
 * runs on every wire that streams.
 */
const clients = useWsClients();
const sdk = useSdkClients();
const API_KEY = 'channel-lifecycle-test-key-0123456789';
const PUSHER_APP = { id: '1001', key: 'lifecycle-key', secret: 'lifecycle-secret-0123456789' };

/** `reborn` (public, alice's) with three messages. */
async function reborn(server: TestServer): Promise<WsTestClient> {
  const alice = await clients.connect(server.wsUrl, 'alice');
  await alice.ok('channel.create', { channel: 'reborn', channelType: 'public' });
  await alice.ok('channel.create', { channel: 'lobby', channelType: 'public' });
  return alice;
}

async function publishAll(alice: WsTestClient, texts: readonly string[]): Promise<void> {
  for (const text of texts) await alice.ok('publish', { channel: 'reborn', text });
}

/** Deletes `reborn` over REST (204) and creates it again: the new one is epoch 2. */
async function deleteAndCreateAgain(server: TestServer): Promise<void> {
  const alice = restAs(server, 'alice');
  expect((await alice('DELETE', '/api/channels/reborn')).status).toBe(204);
  const created = await alice('POST', '/api/channels', { channel: 'reborn', channelType: 'public' });
  expect(created.status).toBe(201);
  expect(created.body).toMatchObject({ id: 'reborn', epoch: 2, lastSeq: 0 });
}

describe('channel lifecycle: delete and create again', () => {
  for (const wire of STREAM_WIRES) {
    it(`${wire}: wes is told of the deletion, and after subscribing again gets all of the new channel's messages`, async () => {
      const server = await startTestServer();
      const alice = await reborn(server);
      const wes = await subscribeOn(wire, server, { user: 'wes' }, 'reborn', { sentinel: 'lobby' });
      expect(wes.subscribed.epoch).toBe(1);
      await publishAll(alice, ['one', 'two', 'three']);
      await wes.waitForSeq(3);

      await deleteAndCreateAgain(server);
      const deleted = await wes.deleted();
      expect(deleted).toMatchObject({ channel: 'reborn', epoch: 1 });
      await publishAll(alice, ['new 1', 'new 2', 'new 3', 'new 4']);
      // Nothing of the new channel reached the ended subscription.
      expect(wes.seqs()).toEqual([1, 2, 3]);
      // One-channel streams end with the deletion; /ws and /sse carry on with their other channel.
      if (wes.sentinel) {
        const { seq } = await alice.ok<{ seq: number }>('publish', { channel: wes.sentinel, text: 'still here' });
        await wes.waitForSeq(seq, wes.sentinel);
      } else {
        expect((await wes.sessionEnded()).code).toBeNull();
      }

      const again = await subscribeOn(wire, server, { user: 'wes' }, 'reborn', { since: 0, epoch: 2 });
      expect(again.subscribed.epoch).toBe(2);
      await again.waitForSeq(4);
      expect(again.seqs()).toEqual([1, 2, 3, 4]);
      expect(again.event(1)).toMatchObject({ text: 'new 1' });
    });

    it(`${wire}: a resume with the old epoch answers stale_epoch with the current one`, async () => {
      const server = await startTestServer();
      const alice = await reborn(server);
      await publishAll(alice, ['one', 'two', 'three']);
      await deleteAndCreateAgain(server);
      await publishAll(alice, ['new 1']);

      const stale = await refusalWithDetails(wire, server, { user: 'wes' }, 'reborn', { since: 3, epoch: 1 });
      expect(stale).toMatchObject({ code: 'stale_epoch', details: { epoch: 2 } });
      if (wire === 'grpc') expect(stale!.details!.grpcStatus).toBe(ERROR_CODES.stale_epoch.grpc);
      if (wire === 'sse' || wire === 'sse-stream') expect(stale!.details!.httpStatus).toBe(409);
      // The current epoch resumes as ever.
      const current = await subscribeOn(wire, server, { user: 'wes' }, 'reborn', { since: 0, epoch: 2 });
      await current.waitForSeq(1);
      expect(current.seqs()).toEqual([1]);
    });
  }

  it('/ws: the ended subscription is gone from the session, so subscribing again on the same connection is no conflict', async () => {
    const server = await startTestServer();
    const alice = await reborn(server);
    const wes = await clients.connect(server.wsUrl, 'wes');
    expect(await wes.ok('subscribe', { channel: 'reborn' })).toEqual({ channel: 'reborn', seq: 0, epoch: 1 });
    await publishAll(alice, ['one', 'two', 'three']);
    await wes.waitFor((f) => f.type === 'event' && f.seq === 3);

    await deleteAndCreateAgain(server);
    const frame = await wes.waitFor((f) => f.type === 'channelDeleted');
    expect(frame).toEqual({ type: 'channelDeleted', channel: 'reborn', epoch: 1, at: expect.any(Number) });
    await publishAll(alice, ['new 1', 'new 2', 'new 3', 'new 4']);

    // The position 3 belonged to epoch 1: refused, and the session's state is unchanged by it.
    const stale = await wes.request('subscribe', { channel: 'reborn', since: 3, epoch: 1 });
    expect(stale).toMatchObject({ type: 'error', code: 'stale_epoch', details: { epoch: 2 } });
    expect(await wes.ok('subscribe', { channel: 'reborn', since: 0, epoch: 2 })).toEqual({ channel: 'reborn', seq: 4, epoch: 2 });
    const texts = wes.events('reborn').map((e) => e.text);
    expect(texts).toEqual(['one', 'two', 'three', 'new 1', 'new 2', 'new 3', 'new 4']);
  });

  it('an SSE Last-Event-ID carries the epoch: a bare seq still resumes, an old epoch is a 409', async () => {
    const server = await startTestServer();
    const alice = await reborn(server);
    await publishAll(alice, ['one', 'two']);
    const headers = { 'x-switchboard-user': 'wes', accept: 'text/event-stream' };
    const stream = async (lastEventId: string) => {
      const controller = new AbortController();
      const response = await fetch(`${server.url}/stream/reborn`, { headers: { ...headers, 'last-event-id': lastEventId }, signal: controller.signal });
      if (response.status !== 200) return { status: response.status, body: await response.json() };
      const reader = response.body!.getReader();
      let text = '';
      while (!text.includes('event: ready')) text += new TextDecoder().decode((await reader.read()).value);
      controller.abort();
      return { status: 200, body: text };
    };
    const bare = await stream('1');
    expect(bare.body).toContain('id: reborn=1.2\ndata:');
    expect((await stream('1.1')).body).toContain('id: reborn=1.2\ndata:');
    await deleteAndCreateAgain(server);
    expect(await stream('1.2')).toEqual({ status: 409, body: expect.objectContaining({ code: 'stale_epoch', details: { epoch: 2 } }) });
  });

  it('Pusher: switchboard:channel_deleted on the channel, then the socket is no longer subscribed', async () => {
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY], pusher: { apps: [PUSHER_APP] } } });
    const socket = new PusherSocket(server.url, PUSHER_APP.key);
    await socket.established();
    await socket.subscribe('news');
    await socket.subscribe('weather');
    const backend = (method: string, path: string) =>
      fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${API_KEY}` } });

    expect((await backend('DELETE', `/api/channels/${encodeURIComponent('pusher:1001:news')}`)).status).toBe(204);
    const deleted = await socket.waitFor((f) => f.event === 'switchboard:channel_deleted');
    expect(deleted.channel).toBe('news');
    expect(JSON.parse(String(deleted.data))).toEqual({ channel: 'news', epoch: 1, at: expect.any(Number) });

    // news made again by the app's next trigger (the bridge creates it): nothing reaches the socket; weather still does.
    const app = pusherServerSdk(server, PUSHER_APP);
    await app.trigger('news', 'update', { text: 'after the deletion' });
    await app.trigger('weather', 'update', { text: 'sunny' });
    await socket.waitFor((f) => f.channel === 'weather' && f.event === 'update');
    expect(socket.eventsOn('news').map((f) => f.event)).toEqual(['switchboard:channel_deleted']);
  });

  it('the SDK: `deleted` ends the subscription; a position in an old epoch goes on from 0 of the new one with `staleEpoch`', async () => {
    const server = await startTestServer();
    const alice = await reborn(server);
    const wes = sdk.connect(server.wsUrl, 'wes');
    const deletedEvents: ChannelDeleted[] = [];
    wes.on('deleted', (event) => deletedEvents.push(event));
    const onDeleted: ChannelDeleted[] = [];
    const first = await wes.subscribe('reborn', { onDeleted: (event) => onDeleted.push(event) });
    expect(first.epoch).toBe(1);
    await publishAll(alice, ['one', 'two', 'three']);
    await expect.poll(() => first.lastSeq).toBe(3);

    await deleteAndCreateAgain(server);
    await expect.poll(() => onDeleted).toEqual([{ channel: 'reborn', epoch: 1, at: expect.any(Number) }]);
    expect(deletedEvents).toEqual(onDeleted);
    expect(first.closed).toBe(true);
    await publishAll(alice, ['new 1', 'new 2', 'new 3', 'new 4']);

    // The app kept (seq 3, epoch 1): the SDK says the epoch went stale and delivers the new channel from its start.
    const stale: StaleEpoch[] = [];
    wes.on('staleEpoch', (event) => stale.push(event));
    const texts: (string | null)[] = [];
    const second = await wes.subscribe('reborn', { since: 3, epoch: 1, onEvent: (event) => texts.push(event.text) });
    expect(stale).toEqual([{ channel: 'reborn', epoch: 1, since: 3, current: 2 }]);
    await expect.poll(() => texts).toEqual(['new 1', 'new 2', 'new 3', 'new 4']);
    expect(second.epoch).toBe(2);
  });
});

describe('channel lifecycle: archive', () => {
  it('an archived channel refuses publish, edit, delete and reactions with `archived`; history and subscribe still work; unarchived it is writable', async () => {
    const server = await startTestServer();
    const alice = await reborn(server);
    await publishAll(alice, ['kept']);
    const rest = restAs(server, 'alice');

    const archived = await rest('PATCH', '/api/channels/reborn', { archived: true });
    expect(archived.status).toBe(200);
    expect(archived.body).toMatchObject({ id: 'reborn', archivedAt: expect.any(Number) });

    const refusedPublish = await rest('POST', '/api/channels/reborn/messages', { text: 'no' });
    expect(refusedPublish).toMatchObject({ status: 409, body: { code: 'archived' } });
    expect(await alice.request('publish', { channel: 'reborn', text: 'no' })).toMatchObject({ type: 'error', code: 'archived' });
    expect(await alice.request('edit', { channel: 'reborn', seq: 1, text: 'changed' })).toMatchObject({ type: 'error', code: 'archived' });
    expect(await alice.request('delete', { channel: 'reborn', seq: 1 })).toMatchObject({ type: 'error', code: 'archived' });
    expect(await alice.request('reaction.add', { channel: 'reborn', seq: 1, emoji: '👍' })).toMatchObject({ type: 'error', code: 'archived' });

    // Readable as before, and nothing was stored by the refusals.
    const history = await rest('GET', '/api/channels/reborn/messages');
    expect(history.body.events.map((e: { text: string }) => e.text)).toEqual(['kept']);
    const bob = await clients.connect(server.wsUrl, 'bob');
    expect(await bob.ok('subscribe', { channel: 'reborn', since: 0 })).toMatchObject({ seq: 1, epoch: 1 });

    const unarchived = await rest('PATCH', '/api/channels/reborn', { archived: false });
    expect(unarchived.body.archivedAt).toBeUndefined();
    await alice.ok('publish', { channel: 'reborn', text: 'open again' });
    await bob.waitFor((f) => f.type === 'event' && f.seq === 2);
  });
});
