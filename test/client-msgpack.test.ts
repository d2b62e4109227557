import { describe, expect, it } from 'vitest';
import { type RawData, WebSocket } from 'ws';
import { type ChannelEvent, ClientError, createClient, type SocketConstructor, type SwitchboardClient } from '../client/src/index.js';
import { decodeMsgpack } from '../protocol/msgpack.js';
import { TEST_BACKOFF, useSdkClients } from './helpers/sdk-clients.js';
import { startTestServer } from './helpers/test-server.js';

/**
 * The SDK with `encoding: 'msgpack'` against a real server: every frame both ways is a
 * binary MessagePack frame, and the app sees exactly what a JSON client sees: publish,
 * subscribe, history, resume after a dropped connection, and errors.
 */

const clients = useSdkClients();

/** Every message a socket sent and received, with whether it was binary. */
interface Traffic {
  readonly sent: { binary: boolean }[];
  readonly received: { binary: boolean; data: Buffer }[];
}

/** `ws` with a tap on both directions, handed to the SDK as its WebSocket. */
function tappedWebSocket(traffic: Traffic): SocketConstructor {
  return class TappedWebSocket extends WebSocket {
    constructor(url: string) {
      super(url);
      // The SDK asks for ArrayBuffers (binaryType) in MessagePack.
      this.on('message', (data: RawData, binary: boolean) => traffic.received.push({ binary, data: Buffer.from(data as ArrayBuffer) }));
    }

    override send(data: unknown, ...rest: unknown[]): void {
      traffic.sent.push({ binary: typeof data !== 'string' });
      (super.send as (...args: unknown[]) => void)(data, ...rest);
    }
  };
}

function msgpackClient(url: string, user: string, traffic?: Traffic): SwitchboardClient {
  const WebSocketImpl = traffic ? tappedWebSocket(traffic) : undefined;
  return clients.track(createClient({ url, user, encoding: 'msgpack', backoff: TEST_BACKOFF, WebSocket: WebSocketImpl }));
}

/** Resolves once `check` passes, re-checked on every event the client emits. */
function until(client: SwitchboardClient, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const done = () => {
      off();
      clearTimeout(timer);
    };
    const test = () => {
      if (!check()) return;
      done();
      resolve();
    };
    const off = client.on('event', test);
    const timer = setTimeout(() => {
      done();
      reject(new Error(`condition not met within ${timeoutMs} ms`));
    }, timeoutMs);
    test();
  });
}

describe('client SDK over MessagePack', () => {
  it('publishes, subscribes and reads history in binary frames, and the app sees what a JSON client sees', async () => {
    const server = await startTestServer();
    const traffic: Traffic = { sent: [], received: [] };
    const alice = msgpackClient(server.url, 'alice', traffic);
    const bob = clients.connect(server.url, 'bob');
    await alice.createChannel({ channel: 'general', type: 'public' });

    const viaMsgpack: ChannelEvent[] = [];
    const viaJson: ChannelEvent[] = [];
    await alice.subscribe('general', (event) => viaMsgpack.push(event));
    await bob.subscribe('general', (event) => viaJson.push(event));

    const data = { order: 7, price: 12.5, big: 2 ** 40, negative: -70000, tags: ['a', 'ü', '👍'], nested: { deep: [null, true] } };
    const first = await alice.publish('general', { text: 'hello 👋', data });
    const reply = await bob.publish('general', { text: 'hi', replyTo: first.seq });
    await alice.editMessage('general', first.seq, 'hello again');
    await bob.deleteMessage('general', reply.seq);
    await until(alice, () => viaMsgpack.length === 4);
    await until(bob, () => viaJson.length === 4);

    // Absent fields come back as null: the same full events as over JSON.
    expect(viaMsgpack).toEqual(viaJson);
    expect(viaMsgpack[0]).toEqual({
      channel: 'general',
      seq: 1,
      kind: 'message',
      id: first.id,
      author: 'alice',
      text: 'hello 👋',
      data,
      cid: expect.any(String),
      replyTo: null,
      target: null,
      createdAt: first.createdAt,
      editedAt: null,
      deletedAt: null,
    });
    expect(viaMsgpack.map((e) => [e.seq, e.kind, e.replyTo, e.target])).toEqual([
      [1, 'message', null, null],
      [2, 'message', 1, null],
      [3, 'edit', null, 1],
      [4, 'delete', null, 2],
    ]);

    const history = await alice.history('general');
    expect(history).toEqual(await bob.history('general'));
    expect(history.events.map((e) => [e.seq, e.text, e.data, e.deletedAt === null])).toEqual([
      [1, 'hello again', data, true],
      [2, null, null, false],
    ]);

    // Every frame of alice's connection, both ways, was binary MessagePack.
    expect(traffic.sent.length).toBeGreaterThanOrEqual(5);
    expect(traffic.sent.every((m) => m.binary)).toBe(true);
    expect(traffic.received.length).toBeGreaterThanOrEqual(10);
    expect(traffic.received.every((m) => m.binary)).toBe(true);
    const types = traffic.received.map((m) => (decodeMsgpack(m.data) as { type: string }).type);
    expect(types).toContain('welcome');
    expect(types.filter((t) => t === 'event')).toHaveLength(4);
  });

  it('resumes after a dropped connection with exactly the events it missed', async () => {
    const server = await startTestServer();
    const proxy = await clients.proxy(server.port);
    const alice = msgpackClient(`ws://127.0.0.1:${proxy.port}/ws`, 'alice');
    const bob = clients.connect(server.url, 'bob');
    await bob.createChannel({ channel: 'feed', type: 'public' });
    const seen: number[] = [];
    await alice.subscribe('feed', (event) => seen.push(event.seq));
    for (let i = 0; i < 5; i++) await bob.publish('feed', `before ${i}`);
    await until(alice, () => seen.length === 5);

    const reconnected = new Promise<void>((resolve) => {
      const off = alice.on('state', ({ state, previous }) => {
        if (state === 'connected' && previous !== 'connected') {
          off();
          resolve();
        }
      });
    });
    expect(proxy.dropAll()).toBe(1);
    for (let i = 0; i < 20; i++) await bob.publish('feed', `while away ${i}`);
    await reconnected;
    for (let i = 0; i < 5; i++) await bob.publish('feed', `after ${i}`);
    await until(alice, () => seen.length >= 30);
    expect(seen).toEqual(Array.from({ length: 30 }, (_, i) => i + 1));
  });

  it('reports errors with their codes and messages, as over JSON', async () => {
    const server = await startTestServer();
    const alice = msgpackClient(server.url, 'alice');
    const bob = clients.connect(server.url, 'bob');

    const missing = await alice.publish('nowhere', 'hi').catch((error: unknown) => error);
    const missingJson = await bob.publish('nowhere', 'hi').catch((error: unknown) => error);
    expect(missing).toBeInstanceOf(ClientError);
    expect(missing).toMatchObject({ code: 'not_found', message: (missingJson as ClientError).message });

    await alice.createChannel({ channel: 'general', type: 'public' });
    const tooLong = await alice.publish('general', 'x'.repeat(5000)).catch((error: unknown) => error);
    expect(tooLong).toMatchObject({ code: 'too_large' });
    const unknownField = await alice.request('publish', { channel: 'general', text: 'x', colour: 'red' } as never).catch((error: unknown) => error);
    expect(unknownField).toMatchObject({ code: 'bad_request', message: 'Invalid request: Unrecognized key: "colour".' });
    const conflict = await alice.createChannel({ channel: 'general', type: 'public' }).catch((error: unknown) => error);
    expect(conflict).toMatchObject({ code: 'conflict' });
    // The connection is still up and serving.
    expect((await alice.ping()).at).toBeGreaterThan(0);
    expect(alice.state).toBe('connected');
  });

  it('refuses an encoding it does not know when the client is created', () => {
    expect(() => createClient({ url: 'ws://127.0.0.1:1/ws', user: 'x', encoding: 'cbor' as never })).toThrow('`encoding` is `json` or `msgpack`.');
  });
});
