import { afterEach, describe, expect, it } from 'vitest';
import { type RawData, WebSocket } from 'ws';
import { compactEvent, expandEvent } from '../protocol/compact-event.js';
import { timeOfEventId } from '../protocol/event-id.js';
import { decodeMsgpack, encodeMsgpack } from '../protocol/msgpack.js';
import { Delivery, type Outbound } from '../src/core/delivery.js';
import { newEventId } from '../src/core/event-id.js';
import { JSON_ENCODING, MSGPACK_ENCODING } from '../src/transports/ws/ws-encoding.js';
import { SseClient } from './helpers/sse-client.js';
import { startTestServer } from './helpers/test-server.js';
import { Waiters } from './helpers/waiters.js';
import { useWsClients } from './helpers/ws-test-client.js';

/**
 * Pushed events are compact (null fields left out, `kind` left out for a message, the time
 * in a 20-character id instead of `createdAt`) on every wire that
 * carries JSON, and /ws speaks MessagePack when asked (`?encoding=msgpack`). Frames are
 * read off real sockets, byte for byte.
 */

const clients = useWsClients();
const TEXT = 'x'.repeat(100);

/** A raw /ws socket that keeps every message's bytes and whether it came as a binary frame. */
class RawSocket {
  readonly received: { data: Buffer; binary: boolean }[] = [];
  readonly #waiters = new Waiters();
  #nextId = 1;

  private constructor(readonly socket: WebSocket, readonly encoding: 'json' | 'msgpack') {
    socket.on('message', (data: RawData, binary: boolean) => {
      this.received.push({ data: data as Buffer, binary });
      this.#waiters.wake();
    });
  }

  static async open(wsUrl: string, user: string, encoding: 'json' | 'msgpack'): Promise<RawSocket> {
    const query = encoding === 'msgpack' ? '&encoding=msgpack' : '';
    const raw = new RawSocket(new WebSocket(`${wsUrl}?user=${user}${query}`), encoding);
    opened.push(raw.socket);
    await raw.waitFor((frame) => frame.type === 'welcome');
    return raw;
  }

  frames(): Record<string, unknown>[] {
    return this.received.map(({ data }) => this.#decode(data));
  }

  #decode(data: Buffer): Record<string, unknown> {
    return (this.encoding === 'msgpack' ? decodeMsgpack(data) : JSON.parse(data.toString('utf8'))) as Record<string, unknown>;
  }

  /** Waits for a frame and returns its bytes and value. */
  waitFor(match: (frame: Record<string, unknown>) => boolean): Promise<{ data: Buffer; binary: boolean; frame: Record<string, unknown> }> {
    return this.#waiters.until(
      () => {
        for (const message of this.received) {
          const frame = this.#decode(message.data);
          if (match(frame)) return { ...message, frame };
        }
        return undefined;
      },
      10_000,
      () => `no such frame among ${this.received.length}`,
    );
  }

  async request(type: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.#nextId++;
    const frame = { type, id, ...fields };
    this.socket.send(this.encoding === 'msgpack' ? encodeMsgpack(frame) : JSON.stringify(frame));
    return (await this.waitFor((f) => f.id === id)).frame;
  }
}

const opened: WebSocket[] = [];
afterEach(() => {
  for (const socket of opened.splice(0)) socket.terminate();
});

describe('compact event frames', () => {
  it('delivers a 100-byte text message on /ws in 200 bytes of JSON or less: no nulls, no kind, the time in a 20-character id', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'general', channelType: 'public' });
    const bob = await RawSocket.open(server.wsUrl, 'bob', 'json');
    expect(await bob.request('subscribe', { channel: 'general' })).toMatchObject({ type: 'ok' });

    const ack = await alice.ok<{ id: string; createdAt: number }>('publish', { channel: 'general', text: TEXT });
    const { data, binary } = await bob.waitFor((f) => f.type === 'event');

    expect(binary).toBe(false);
    expect(ack.id).toMatch(/^[A-Za-z0-9_-]{20}$/);
    expect(timeOfEventId(ack.id)).toBe(ack.createdAt);
    const expected = `{"type":"event","channel":"general","seq":1,"id":"${ack.id}","author":"alice","text":"${TEXT}"}`;
    expect(data.toString('utf8')).toBe(expected);
    // The figure docs/protocol.md gives (344 bytes with every null field and a 36-character id).
    expect(data.length).toBe(199);
  });

  it('reads back the full event: kind and createdAt from a new id, createdAt kept beside an id without a time', () => {
    const createdAt = Date.UTC(2026, 11, 5, 16, 30, 0, 123);
    const event = {
      channel: 'general',
      seq: 7,
      kind: 'message' as const,
      id: newEventId(createdAt),
      author: 'alice',
      text: 'hi',
      data: null,
      cid: null,
      replyTo: null,
      target: null,
      createdAt,
      editedAt: null,
      deletedAt: null,
    };
    const compact = compactEvent(event, {});
    expect(compact).toEqual({ channel: 'general', seq: 7, id: event.id, author: 'alice', text: 'hi' });
    expect(expandEvent(compact)).toEqual(event);
    // Ids sort by time.
    expect(newEventId(createdAt + 1) > event.id).toBe(true);
    // A UUID (events stored before) carries no time: the frame keeps createdAt; an edit keeps its kind.
    const old = { ...event, kind: 'edit' as const, target: 3, id: '0b7c3f5e-8d2a-4c61-9f0e-2a4b6c8d0e1f' };
    const oldCompact = compactEvent(old, {});
    expect(oldCompact).toMatchObject({ kind: 'edit', createdAt });
    expect(expandEvent(oldCompact)).toEqual(old);
    expect(timeOfEventId('cbUZCkkOJFs6Pd9RDFzsjQ')).toBeNull();
  });

  it('keeps the fields that are set: data, cid, replyTo, target, editedAt, deletedAt', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'general', channelType: 'public' });
    const bob = await RawSocket.open(server.wsUrl, 'bob', 'json');
    await bob.request('subscribe', { channel: 'general' });

    await alice.ok('publish', { channel: 'general', text: 'first', data: { n: 0 }, cid: 'c-1' });
    await alice.ok('publish', { channel: 'general', text: 'reply', replyTo: 1 });
    await alice.ok('edit', { channel: 'general', seq: 1, text: 'first!' });
    await alice.ok('delete', { channel: 'general', seq: 2 });
    await bob.waitFor((f) => f.seq === 4);
    const events = bob.frames().filter((f) => f.type === 'event');
    const keys = events.map((e) => Object.keys(e).filter((k) => !['type', 'channel', 'seq', 'kind', 'id', 'createdAt'].includes(k)));
    // An edit keeps the message's data unless it changes it.
    expect(keys).toEqual([['author', 'text', 'data', 'cid'], ['author', 'text', 'replyTo'], ['author', 'text', 'data', 'target'], ['author', 'target']]);
    expect(events.map((e) => [e.data, e.cid, e.replyTo, e.target])).toEqual([
      [{ n: 0 }, 'c-1', undefined, undefined],
      [undefined, undefined, 1, undefined],
      [{ n: 0 }, undefined, undefined, 1],
      [undefined, undefined, undefined, 2],
    ]);
    // A resume replays a message in its current state: the tombstone carries deletedAt, the edit editedAt.
    const late = await RawSocket.open(server.wsUrl, 'carol', 'json');
    await late.request('subscribe', { channel: 'general', since: 0 });
    const replayed = late.frames().filter((f) => f.type === 'event');
    expect(replayed[0]).toMatchObject({ seq: 1, text: 'first!', editedAt: expect.any(Number) });
    expect(replayed[0]).not.toHaveProperty('deletedAt');
    expect(replayed[1]).toMatchObject({ seq: 2, deletedAt: expect.any(Number) });
    expect(replayed[1]).not.toHaveProperty('text');
    for (const { data } of late.received.filter((m) => m.data.toString('utf8').startsWith('{"type":"event"'))) {
      expect(data.toString('utf8')).not.toContain('null');
    }
  });

  it('sends SSE events compact too', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'general', channelType: 'public' });
    const sse = new SseClient(`${server.url}/sse?user=bob&channels=general`);
    await sse.ready();
    const ack = await alice.ok<{ id: string; createdAt: number }>('publish', { channel: 'general', text: TEXT });
    await sse.waitUntil(() => sse.messages.some((m) => m.event === 'message'), 'the event');
    expect(sse.messages.find((m) => m.event === 'message')!.data).toBe(
      `{"channel":"general","seq":1,"id":"${ack.id}","author":"alice","text":"${TEXT}"}`,
    );
  });
});

describe('the /ws encodings', () => {
  it('find the id of a frame refused before decoding (over the rate), when that is cheap', () => {
    expect(JSON_ENCODING.requestIdOf(Buffer.from('{"type":"ping","id":42}'))).toBe(42);
    expect(MSGPACK_ENCODING.requestIdOf(Buffer.from(encodeMsgpack({ type: 'ping', id: 'p-1' })))).toBe('p-1');
    expect(MSGPACK_ENCODING.requestIdOf(Buffer.from(encodeMsgpack({ type: 'ping', id: 7, text: 'x'.repeat(2000) })))).toBeNull();
    expect(MSGPACK_ENCODING.requestIdOf(Buffer.from([0xc1]))).toBeNull();
    expect(MSGPACK_ENCODING.requestIdOf(Buffer.from(encodeMsgpack({ type: 'ping', id: [1] })))).toBeNull();
  });

  it('read only their own frames, and say which they expect', () => {
    expect(JSON_ENCODING.read(Buffer.from('{"a":1}'), false)).toEqual({ a: 1 });
    expect(() => JSON_ENCODING.read(Buffer.from('{"a":1}'), true)).toThrow(/JSON text on this connection/);
    expect(MSGPACK_ENCODING.read(Buffer.from(encodeMsgpack({ a: 1 })), true)).toEqual({ a: 1 });
    expect(() => MSGPACK_ENCODING.read(Buffer.from(encodeMsgpack({ a: 1 })), false)).toThrow(/MessagePack in binary frames/);
  });
});

describe('MessagePack on /ws (?encoding=msgpack)', () => {
  it('carries the same frames as JSON in binary frames, the 100-byte message in 177 bytes', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'general', channelType: 'public' });
    const json = await RawSocket.open(server.wsUrl, 'bob', 'json');
    const packed = await RawSocket.open(server.wsUrl, 'carol', 'msgpack');
    expect(packed.received.every((m) => m.binary)).toBe(true);
    expect(await packed.request('subscribe', { channel: 'general' })).toEqual({ type: 'ok', id: 1, result: { channel: 'general', seq: 0, epoch: 1 } });
    await json.request('subscribe', { channel: 'general' });

    await alice.ok('publish', { channel: 'general', text: TEXT });
    const viaJson = await json.waitFor((f) => f.type === 'event');
    const viaMsgpack = await packed.waitFor((f) => f.type === 'event');
    expect(viaMsgpack.binary).toBe(true);
    expect(viaMsgpack.frame).toEqual(viaJson.frame);
    expect(viaMsgpack.data.length).toBe(177);

    // Replies and errors come back in MessagePack, with the request's id.
    expect(await packed.request('publish', { channel: 'nowhere', text: 'hi' })).toMatchObject({ type: 'error', id: 2, code: 'not_found' });
    expect(await packed.request('history', { channel: 'general' })).toMatchObject({
      type: 'ok',
      result: { events: [{ seq: 1, text: TEXT, data: null, deletedAt: null }], hasMore: false },
    });
  });

  it('refuses a JSON text frame, broken MessagePack and binary values on a MessagePack connection, and stays open', async () => {
    const server = await startTestServer();
    const packed = await RawSocket.open(server.wsUrl, 'carol', 'msgpack');
    packed.socket.send(JSON.stringify({ type: 'ping', id: 1 }));
    expect((await packed.waitFor((f) => f.type === 'error')).frame).toEqual({
      type: 'error',
      id: null,
      code: 'bad_request',
      message: 'Frames are MessagePack in binary frames on this connection.',
    });
    packed.socket.send(Buffer.from([0x82, 0xa4, 0x74]));
    expect((await packed.waitFor((f) => f.type === 'error' && String(f.message).includes('not valid MessagePack'))).frame).toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/^The frame is not valid MessagePack: Truncated input/),
    });
    packed.socket.send(encodeMsgpack({ type: 'publish', id: 9, channel: 'x', data: new Uint8Array([1]) }));
    expect((await packed.waitFor((f) => String(f.message ?? '').startsWith('The frame is not valid MessagePack: Binary'))).frame).toMatchObject({
      code: 'bad_request',
    });
    packed.socket.send(encodeMsgpack([1, 2]));
    expect((await packed.waitFor((f) => f.message === 'A frame is a MessagePack map.')).frame).toMatchObject({ id: null });
    expect(await packed.request('ping', {})).toMatchObject({ type: 'ok', id: 1 });
  });

  it('refuses an encoding it does not speak before upgrading (400, bad_request)', async () => {
    const server = await startTestServer();
    const response = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const socket = new WebSocket(`${server.wsUrl}?user=bob&encoding=cbor`);
      socket.on('unexpected-response', (_request, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      });
      socket.on('open', () => reject(new Error('upgraded')));
      socket.on('error', () => {});
    });
    expect(response.status).toBe(400);
    expect(JSON.parse(response.body)).toEqual({ code: 'bad_request', message: 'Invalid encoding: "cbor" is not one of json, msgpack.' });
  });

  it('encodes a pushed event once per encoding, whatever the number of receivers', async () => {
    const server = await startTestServer();
    const alice = await clients.connect(server.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'general', channelType: 'public' });
    const receivers = [
      ...(await Promise.all(['b1', 'b2', 'b3'].map((user) => RawSocket.open(server.wsUrl, user, 'json')))),
      ...(await Promise.all(['c1', 'c2', 'c3'].map((user) => RawSocket.open(server.wsUrl, user, 'msgpack')))),
    ];
    for (const receiver of receivers) await receiver.request('subscribe', { channel: 'general' });

    const calls: string[] = [];
    const encodings: string[] = [];
    const original = Delivery.prototype.encode;
    Delivery.prototype.encode = function <T>(this: Delivery, format: string, encoder: (message: Outbound) => T): T {
      if (this.message.type !== 'event') return original.call(this, format, encoder) as T;
      calls.push(format);
      return original.call(this, format, (message: Outbound) => {
        encodings.push(format);
        return encoder(message);
      }) as T;
    };
    try {
      await alice.ok('publish', { channel: 'general', text: TEXT });
      for (const receiver of receivers) await receiver.waitFor((f) => f.type === 'event');
    } finally {
      Delivery.prototype.encode = original;
    }
    expect(calls.filter((f) => f === 'ws-json').length).toBeGreaterThanOrEqual(3);
    expect(calls.filter((f) => f === 'ws-msgpack')).toHaveLength(3);
    expect(encodings.filter((f) => f.startsWith('ws-')).sort()).toEqual(['ws-json', 'ws-msgpack']);
  });
});
