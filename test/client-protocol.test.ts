import { afterEach, describe, expect, it } from 'vitest';
import { type ChannelEvent, createClient, type SocketLike, type SwitchboardClient } from '../client/src/index.js';

/**
 * The SDK against a scripted server: for paths a correct server never takes (a gap in
 * seqs) and for exact frame-level checks (which frames are resent, with which ids and
 * cids, after which close codes). Everything else runs against the real server.
 */
interface Frame {
  type: string;
  id?: number;
  [key: string]: unknown;
}

class ScriptedSocket implements SocketLike {
  readyState = 0;
  readonly sent: Frame[] = [];
  readonly url: string;
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;
  #onSend: (() => void) | null = null;

  constructor(url: string) {
    this.url = url;
    scripted.created(this);
  }

  open(): void {
    this.readyState = 1;
    this.onopen?.({});
  }

  send(data: string): void {
    this.sent.push(JSON.parse(data) as Frame);
    this.#onSend?.();
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState === 3) return;
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  /** The server side: push a frame, or close with a code. */
  push(frame: object): void {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }

  serverClose(code: number, reason = ''): void {
    this.close(code, reason);
  }

  /** Opens and welcomes, as the server does for `?user=`. */
  accept(user = 'u'): void {
    this.open();
    this.push({ type: 'welcome', session: `s-${user}`, user, name: user });
  }

  /** Resolves with the first sent frame matching `match` (already sent or next). */
  async sentFrame(match: (frame: Frame) => boolean): Promise<Frame> {
    for (;;) {
      const found = this.sent.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => (this.#onSend = resolve));
    }
  }

  reply(frame: Frame, result: unknown): void {
    this.push({ type: 'ok', id: frame.id, result });
  }
}

const scripted = {
  sockets: [] as ScriptedSocket[],
  waiters: [] as ((socket: ScriptedSocket) => void)[],
  created(socket: ScriptedSocket): void {
    this.sockets.push(socket);
    for (const wake of this.waiters.splice(0)) wake(socket);
  },
  /** The socket number `index` (0-based) the client opens. */
  socket(index: number): Promise<ScriptedSocket> {
    const existing = this.sockets[index];
    if (existing) return Promise.resolve(existing);
    return new Promise((resolve) => {
      const wait = () => {
        const socket = this.sockets[index];
        if (socket) resolve(socket);
        else this.waiters.push(wait);
      };
      this.waiters.push(wait);
    });
  },
};

const clients: SwitchboardClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close()));
  scripted.sockets = [];
  scripted.waiters = [];
});

function client(options: { heartbeatMs?: number; requestTimeoutMs?: number; maxDelayMs?: number } = {}) {
  const c = createClient({
    url: 'ws://scripted.test/ws',
    user: 'u',
    WebSocket: ScriptedSocket,
    heartbeatMs: options.heartbeatMs ?? 0,
    requestTimeoutMs: options.requestTimeoutMs ?? 5_000,
    backoff: { initialDelayMs: 1, maxDelayMs: options.maxDelayMs ?? 4 },
  });
  clients.push(c);
  return c;
}

function event(channel: string, seq: number): ChannelEvent & { type: 'event' } {
  return {
    type: 'event',
    channel,
    seq,
    kind: 'message',
    id: `e${seq}`,
    author: 'a',
    text: `m${seq}`,
    data: null,
    cid: null,
    replyTo: null,
    target: null,
    createdAt: 0,
    editedAt: null,
    deletedAt: null,
  };
}

describe('client SDK: frame-level behaviour', () => {
  it('puts the user in the URL and adds /ws to a bare http URL', async () => {
    const c = createClient({ url: 'http://host.test:8080', user: 'al ice', WebSocket: ScriptedSocket, heartbeatMs: 0 });
    clients.push(c);
    expect((await scripted.socket(0)).url).toBe('ws://host.test:8080/ws?user=al+ice');
  });

  it('drops duplicates and heals a gap by resubscribing from the last seq delivered', async () => {
    const c = client();
    const socket = await scripted.socket(0);
    socket.accept();
    const seen: number[] = [];
    const subscribing = c.subscribe('room', (e) => seen.push(e.seq));
    const subscribe = await socket.sentFrame((f) => f.type === 'subscribe');
    expect(subscribe).toEqual({ type: 'subscribe', id: subscribe.id, channel: 'room' });
    socket.reply(subscribe, { channel: 'room', seq: 5 });
    await subscribing;

    for (const seq of [6, 7, 7, 6]) socket.push(event('room', seq));
    socket.push(event('room', 9)); // 8 is missing
    const unsubscribe = await socket.sentFrame((f) => f.type === 'unsubscribe');
    socket.push(event('room', 10)); // still not the next one: held back
    socket.reply(unsubscribe, null);
    const resubscribe = await socket.sentFrame((f) => f.type === 'subscribe' && f.id !== subscribe.id);
    expect(resubscribe).toMatchObject({ channel: 'room', since: 7 });
    for (const seq of [8, 9, 10]) socket.push(event('room', seq));
    socket.reply(resubscribe, { channel: 'room', seq: 10 });
    socket.push(event('room', 11));
    expect(seen).toEqual([6, 7, 8, 9, 10, 11]);
  });

  it('resends a publish in flight with the same cid after a drop, and fails an edit in flight', async () => {
    const c = client();
    const first = await scripted.socket(0);
    first.accept();
    const publishing = c.publish('room', 'hello');
    const editing = c.editMessage('room', 1, 'changed');
    const publish = await first.sentFrame((f) => f.type === 'publish');
    await first.sentFrame((f) => f.type === 'edit');
    expect(typeof publish.cid).toBe('string');

    first.serverClose(1006);
    await expect(editing).rejects.toMatchObject({ code: 'connection_lost', request: 'edit' });
    // Asked while disconnected: waits for the connection instead of failing.
    const listing = c.listChannels();

    const second = await scripted.socket(1);
    second.accept();
    const again = await second.sentFrame((f) => f.type === 'publish');
    expect(again).toEqual(publish);
    const list = await second.sentFrame((f) => f.type === 'channel.list');
    second.reply(again, { channel: 'room', seq: 1, id: 'e1', createdAt: 0, duplicate: true });
    second.reply(list, { channels: [] });
    expect(await publishing).toMatchObject({ seq: 1, duplicate: true });
    expect(await listing).toEqual([]);
    expect(second.sent.filter((f) => f.type === 'edit')).toEqual([]);
  });

  it('sends a publish again after `unavailable` (nothing was stored), with the same cid', async () => {
    const c = client();
    const socket = await scripted.socket(0);
    socket.accept();
    const publishing = c.publish('room', { text: 'x', cid: 'fixed' });
    const first = await socket.sentFrame((f) => f.type === 'publish');
    socket.push({ type: 'error', id: first.id, code: 'unavailable', message: 'store down' });
    await socket.sentFrame((f) => f.type === 'publish' && f !== first);
    expect(socket.sent.filter((f) => f.type === 'publish')).toEqual([first, first]);
    socket.reply(first, { channel: 'room', seq: 3, id: 'e3', createdAt: 0, duplicate: false });
    expect(await publishing).toMatchObject({ seq: 3 });
  });

  it('reconnects after 1001, 1006, 1011, 4408 and 4503; stops after 4400, 4401, 4403 and 1000', async () => {
    const retried: number[] = [];
    for (const code of [1001, 1006, 1011, 4408, 4503]) {
      scripted.sockets = [];
      const c = client();
      (await scripted.socket(0)).accept();
      await c.ready();
      (await scripted.socket(0)).serverClose(code);
      expect(c.state).toBe('reconnecting');
      (await scripted.socket(1)).accept();
      await c.ready();
      retried.push(code);
      await c.close();
    }
    expect(retried).toEqual([1001, 1006, 1011, 4408, 4503]);

    const stopped: [number, string | undefined][] = [];
    for (const code of [4400, 4401, 4403, 1000]) {
      scripted.sockets = [];
      const c = client();
      const socket = await scripted.socket(0);
      socket.accept();
      await c.ready();
      const ended = new Promise<string | undefined>((resolve) =>
        c.on('disconnected', (info) => resolve(info.willReconnect ? 'reconnect' : info.error?.code)),
      );
      socket.serverClose(code, 'because');
      stopped.push([code, await ended]);
      expect(c.state).toBe('disconnected');
    }
    expect(stopped).toEqual([
      [4400, 'bad_request'],
      [4401, 'unauthorized'],
      [4403, 'forbidden'],
      [1000, 'closed'],
    ]);
  });

  it('stops when the server says not to reconnect, and rejects a malformed URL at once', async () => {
    const c = client();
    const socket = await scripted.socket(0);
    socket.accept();
    await c.ready();
    const ended = new Promise<unknown>((resolve) => c.on('disconnected', resolve));
    socket.push({ type: 'close', reason: 'account deleted', reconnect: false });
    socket.serverClose(4503);
    expect(await ended).toMatchObject({ code: 4503, reason: 'account deleted', willReconnect: false, error: { code: 'closed' } });
    expect(() => createClient({ url: 'not a url', user: 'u', WebSocket: ScriptedSocket })).toThrow(TypeError);
    expect(() => createClient({ url: 'ws://x/ws', WebSocket: ScriptedSocket })).toThrow(/exactly one of/);
  });

  it('pauses after a flood close (4429) for at least half the cap', async () => {
    const c = client({ maxDelayMs: 400 });
    const socket = await scripted.socket(0);
    socket.accept();
    await c.ready();
    const next = new Promise<number>((resolve) => c.once('reconnecting', ({ delayMs }) => resolve(delayMs)));
    socket.serverClose(4429, 'message flood');
    expect(await next).toBeGreaterThanOrEqual(200);
  });

  it('drops a connection whose pings go unanswered, and opens a new one', async () => {
    const c = client({ heartbeatMs: 10, requestTimeoutMs: 30 });
    const silent = await scripted.socket(0);
    silent.accept();
    await silent.sentFrame((f) => f.type === 'ping');
    const fresh = await scripted.socket(1);
    expect(silent.readyState).toBe(3);
    fresh.accept();
    await c.ready();
  });
});
