import { afterEach, describe, expect, it } from 'vitest';
import {
  type ChannelEvent,
  type CommandName,
  createClient,
  type LiveList,
  type SocketLike,
  type SwitchboardClient,
} from '../client/src/index.js';
import { COMMAND_NAMES, COMMANDS } from '../protocol/commands.js';

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

/** A client signing in with `token` (sent in an `auth` frame, so the test answers it). */
function tokenClient(token: string | (() => string)) {
  const c = createClient({
    url: 'ws://scripted.test/ws',
    token,
    WebSocket: ScriptedSocket,
    heartbeatMs: 0,
    backoff: { initialDelayMs: 1, maxDelayMs: 4 },
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
    second.reply(again, { channel: 'room', seq: 1, id: 'e1', createdAt: 0, target: null, duplicate: true });
    second.reply(list, { channels: [], next: null });
    expect(await publishing).toMatchObject({ seq: 1, duplicate: true });
    expect(await listing).toEqual({ channels: [], next: null });
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
    socket.reply(first, { channel: 'room', seq: 3, id: 'e3', createdAt: 0, target: null, duplicate: false });
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

  it('ends a subscription the server ended (unsubscribed) with its reason, and does not resubscribe it after a reconnect', async () => {
    const c = client();
    const first = await scripted.socket(0);
    first.accept();
    const failures: string[] = [];
    const errors: string[] = [];
    c.on('error', (error) => errors.push(`${error.code} ${String(error.details?.channel)}`));
    const subscribing = c.subscribe('staff', { onEvent: () => {}, onError: (error) => failures.push(error.code) });
    const subscribe = await first.sentFrame((f) => f.type === 'subscribe');
    first.reply(subscribe, { channel: 'staff', seq: 1 });
    const sub = await subscribing;
    first.push({ type: 'unsubscribed', channel: 'staff', code: 'forbidden', message: 'You may no longer read channel staff.' });
    expect(sub.closed).toBe(true);
    expect(failures).toEqual(['forbidden']);
    expect(errors).toEqual(['forbidden staff']);
    expect(c.subscription('staff')).toBeUndefined();

    first.serverClose(1006);
    const second = await scripted.socket(1);
    second.accept();
    await c.ready();
    const pinging = c.ping();
    second.reply(await second.sentFrame((f) => f.type === 'ping'), { at: 1 });
    await pinging;
    expect(second.sent.filter((f) => f.type === 'subscribe')).toEqual([]);
  });

  it('refreshes the session before it expires with a token from its callback (auth.refresh), and again when given the same expiry', async () => {
    const tokens = ['t1', 't2', 't3'];
    const c = tokenClient(() => tokens.shift()!);
    const socket = await scripted.socket(0);
    socket.open();
    const auth = await socket.sentFrame((f) => f.type === 'auth');
    expect(auth).toMatchObject({ token: 't1' });
    const firstEnd = Date.now() + 2000;
    socket.reply(auth, { session: 's', user: 'u', name: 'u', expiresAt: firstEnd });
    await c.ready();
    // Ahead of the end, a fresh token from the callback goes out on the same connection.
    const refresh = await socket.sentFrame((f) => f.type === 'auth.refresh');
    expect(refresh).toMatchObject({ token: 't2' });
    expect(Date.now()).toBeLessThan(firstEnd);
    // The app handed back a token that ends no later: asked again, halfway to the end.
    socket.reply(refresh, { user: 'u', expiresAt: firstEnd });
    const again = await socket.sentFrame((f) => f.type === 'auth.refresh' && f.id !== refresh.id);
    expect(again).toMatchObject({ token: 't3' });
    socket.reply(again, { user: 'u', expiresAt: Date.now() + 60_000 });
    expect(scripted.sockets).toHaveLength(1);
  });

  it('connects again with a fresh credential when the server ends an expired session (4401), but stops on other 4401s', async () => {
    let issued = 0;
    const c = tokenClient(() => `t${++issued}`);
    const first = await scripted.socket(0);
    first.open();
    first.reply(await first.sentFrame((f) => f.type === 'auth'), { session: 's1', user: 'u', name: 'u' });
    await c.ready();
    first.push({ type: 'error', id: null, code: 'unauthorized', message: 'The token expired.', details: { expiredAt: 1 } });
    first.serverClose(4401, 'token expired');
    expect(c.state).toBe('reconnecting');
    const second = await scripted.socket(1);
    second.open();
    expect(await second.sentFrame((f) => f.type === 'auth')).toMatchObject({ token: 't2' });
    second.reply(second.sent[0]!, { session: 's2', user: 'u', name: 'u' });
    await c.ready();

    const ended = new Promise<string | undefined>((resolve) => c.on('disconnected', (info) => resolve(info.error?.code)));
    second.push({ type: 'error', id: null, code: 'unauthorized', message: 'The token is not valid.' });
    second.serverClose(4401, 'unauthorized');
    expect(await ended).toBe('unauthorized');
    expect(c.state).toBe('disconnected');
  });

  it('comes back later, not never, when its user holds too many sessions (too_many_sessions on auth)', async () => {
    const c = tokenClient('t');
    const first = await scripted.socket(0);
    first.open();
    const auth = await first.sentFrame((f) => f.type === 'auth');
    first.push({ type: 'error', id: auth.id, code: 'too_many_sessions', message: 'close one first' });
    const second = await scripted.socket(1);
    second.open();
    second.reply(await second.sentFrame((f) => f.type === 'auth'), { session: 's', user: 'u', name: 'u' });
    await c.ready();
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

const FILE_LINKS = {
  id: 'fq4J6Xr1cL0aT2b9kQmZ1wA',
  name: 'cat.png',
  size: 1000,
  type: 'image/png',
  width: 64,
  height: 48,
  thumbnail: 'ready',
  channel: 'room',
  url: '/api/files/fq4J6Xr1cL0aT2b9kQmZ1wA/content?expires=1&signature=s',
  thumbnailUrl: '/api/files/fq4J6Xr1cL0aT2b9kQmZ1wA/thumbnail?expires=1&signature=s',
  urlsExpireAt: 1000,
};

// --- every command, as the protocol module defines it ---------------------------------

const CHANNEL = { id: 'room', type: 'public', title: 'Room', topic: null, publish: 'anyone', createdBy: 'u', createdAt: 1, lastSeq: 2, epoch: 1 };
const MEMBER = { channel: 'room', user: 'bob', role: 'member', joinedAt: 1 };
const USER = { id: 'bob', name: 'Bob', avatarUrl: null, statusText: null, createdAt: 1 };
const BOB = { user: 'bob', name: 'Bob', avatarUrl: null, statusText: null, status: 'online', lastSeen: null };
const EVENT = (({ type: _, ...fields }) => fields)(event('room', 1));
const ACK = { channel: 'room', seq: 3, id: 'e3', createdAt: 1, target: null, duplicate: false };
const EDIT_ACK = { ...ACK, target: 1 };
const REACTED = { channel: 'room', target: 1, seq: 4, changed: true };

interface CommandCase {
  readonly name: CommandName;
  /** Calls the SDK's method for the command. */
  readonly call: (c: SwitchboardClient) => Promise<unknown>;
  /** The server's reply (checked against the command's result schema). */
  readonly result: unknown;
  /** What the method resolves with. */
  readonly resolves: unknown;
}

let followed: LiveList<'members'> | null = null;

/** One call per command, in an order that works on one connection (subscribe before unsubscribe). */
const CASES: readonly CommandCase[] = [
  { name: 'ping', call: (c) => c.ping(), result: { at: 5 }, resolves: { at: 5 } },
  {
    name: 'channel.create',
    call: (c) => c.createChannel({ channel: 'room', type: 'private', title: 'Room', publish: 'members', members: ['bob'] }),
    result: CHANNEL,
    resolves: CHANNEL,
  },
  { name: 'channel.get', call: (c) => c.getChannel('room'), result: CHANNEL, resolves: CHANNEL },
  {
    name: 'channel.list',
    call: (c) => c.listChannels({ after: 'a', limit: 1 }),
    result: { channels: [CHANNEL], next: 'room' },
    resolves: { channels: [CHANNEL], next: 'room' },
  },
  {
    name: 'channel.update',
    call: (c) => c.updateChannel('room', { title: null, publish: 'server' }),
    result: CHANNEL,
    resolves: CHANNEL,
  },
  { name: 'channel.delete', call: (c) => c.deleteChannel('room'), result: null, resolves: undefined },
  { name: 'channel.join', call: (c) => c.joinChannel('room'), result: MEMBER, resolves: MEMBER },
  { name: 'channel.leave', call: (c) => c.leaveChannel('room'), result: null, resolves: undefined },
  { name: 'members.list', call: (c) => c.listMembers('room'), result: { members: [MEMBER] }, resolves: [MEMBER] },
  { name: 'members.add', call: (c) => c.addMember('room', 'bob', 'admin'), result: MEMBER, resolves: MEMBER },
  { name: 'members.remove', call: (c) => c.removeMember('room', 'bob'), result: null, resolves: undefined },
  {
    name: 'subscribe',
    call: async (c) => (await c.subscribe('room', { since: 2, presence: false })).lastSeq,
    result: { channel: 'room', seq: 2, epoch: 1 },
    resolves: 2,
  },
  { name: 'unsubscribe', call: (c) => c.subscription('room')!.unsubscribe(), result: null, resolves: undefined },
  {
    name: 'publish',
    call: (c) => c.publish('room', { text: 'hi', data: { n: 1 }, replyTo: 1 }),
    result: ACK,
    resolves: ACK,
  },
  {
    name: 'publish.batch',
    call: (c) => c.publishBatch([{ channel: 'room', text: 'one' }, { channel: 'elsewhere', data: [1], cid: 'mine' }]),
    result: { results: [{ ...ACK, ok: true }, { ok: false, code: 'not_found', message: 'No channel elsewhere.' }] },
    resolves: [{ ...ACK, ok: true }, { ok: false, code: 'not_found', message: 'No channel elsewhere.' }],
  },
  { name: 'push', call: (c) => c.push({ user: 'ann', text: 'shipped' }), result: ACK, resolves: ACK },
  { name: 'edit', call: (c) => c.editMessage('room', 1, { text: 'changed', data: null }), result: EDIT_ACK, resolves: EDIT_ACK },
  { name: 'delete', call: (c) => c.deleteMessage('room', 1), result: EDIT_ACK, resolves: EDIT_ACK },
  {
    name: 'history',
    call: (c) => c.history('room', { before: 10, limit: 5 }),
    result: { events: [EVENT], hasMore: true },
    resolves: { events: [EVENT], hasMore: true },
  },
  {
    name: 'presence',
    call: (c) => c.presence('room'),
    result: { members: [{ user: 'bob', sessions: 2 }], next: null, users: 1, mode: 'members' },
    resolves: [{ user: 'bob', sessions: 2 }],
  },
  { name: 'typing', call: (c) => c.typing('room'), result: null, resolves: undefined },
  { name: 'users.get', call: (c) => c.getUser('bob'), result: USER, resolves: USER },
  {
    name: 'users.list',
    call: (c) => c.listUsers({ after: 'ann', limit: 1 }),
    result: { users: [USER], next: 'bob' },
    resolves: { users: [USER], next: 'bob' },
  },
  { name: 'users.update', call: (c) => c.updateUser('bob', { name: 'Bob' }), result: USER, resolves: USER },
  {
    name: 'users.register',
    call: (c) => c.registerUser({ user: 'bob', name: 'Bob', roles: ['staff'] }),
    result: { user: { id: 'bob', name: 'Bob', roles: ['staff'] }, token: 't', expiresAt: 9, inbox: 'user:bob', created: true },
    resolves: { user: { id: 'bob', name: 'Bob', roles: ['staff'] }, token: 't', expiresAt: 9, inbox: 'user:bob', created: true },
  },
  {
    name: 'ticket.create',
    call: (c) => c.createTicket({ user: 'bob' }),
    result: { ticket: 'tk', expiresAt: 9 },
    resolves: { ticket: 'tk', expiresAt: 9 },
  },
  {
    name: 'users.ban',
    call: (c) => c.banUser('bob', 'spam'),
    result: { user: 'bob', reason: 'spam', bannedAt: 9 },
    resolves: { user: 'bob', reason: 'spam', bannedAt: 9 },
  },
  { name: 'users.unban', call: (c) => c.unbanUser('bob'), result: null, resolves: undefined },
  {
    name: 'users.disconnect',
    call: (c) => c.disconnectUser('bob'),
    result: { user: 'bob', disconnected: 2 },
    resolves: { user: 'bob', disconnected: 2 },
  },
  {
    name: 'auth.refresh',
    call: (c) => c.refreshAuth('a.new.token'),
    result: { user: 'u', expiresAt: 9 },
    resolves: { user: 'u', expiresAt: 9 },
  },
  {
    name: 'dm.list',
    call: (c) => c.chat.listDirects(10),
    result: { directs: [{ channel: CHANNEL, members: ['u', 'bob'], latest: null }] },
    resolves: [{ channel: CHANNEL, members: ['u', 'bob'], latest: null }],
  },
  { name: 'contacts.add', call: (c) => c.chat.addContact('bob'), result: BOB, resolves: BOB },
  { name: 'contacts.remove', call: (c) => c.chat.removeContact('bob'), result: null, resolves: undefined },
  { name: 'contacts.list', call: (c) => c.chat.listContacts(), result: { contacts: [BOB] }, resolves: [BOB] },
  { name: 'status.set', call: (c) => c.chat.setStatus('away'), result: BOB, resolves: BOB },
  {
    name: 'read.mark',
    call: (c) => c.chat.markRead('room', 2),
    result: { channel: 'room', seq: 2 },
    resolves: { channel: 'room', seq: 2 },
  },
  {
    name: 'read.get',
    call: (c) => c.chat.readPositions('room'),
    result: { positions: [{ user: 'bob', seq: 2, at: 1 }] },
    resolves: [{ user: 'bob', seq: 2, at: 1 }],
  },
  {
    name: 'catchup',
    call: (c) => c.chat.catchUp(),
    result: { lastSeen: null, channels: [], directs: [], mentions: [EVENT] },
    resolves: { lastSeen: null, channels: [], directs: [], mentions: [EVENT] },
  },
  { name: 'reaction.add', call: (c) => c.chat.react('room', 1, '👍'), result: REACTED, resolves: REACTED },
  { name: 'reaction.remove', call: (c) => c.chat.unreact('room', 1, '👍'), result: REACTED, resolves: REACTED },
  {
    name: 'reactions.get',
    call: (c) => c.chat.reactions('room', [1, 2]),
    result: { reactions: { 1: [{ emoji: '👍', count: 1, users: ['bob'] }] } },
    resolves: { 1: [{ emoji: '👍', count: 1, users: ['bob'] }] },
  },
  {
    name: 'thread',
    call: (c) => c.chat.thread('room', 1, { after: 1, limit: 10 }),
    result: { root: EVENT, replies: [], hasMore: false },
    resolves: { root: EVENT, replies: [], hasMore: false },
  },
  {
    name: 'search',
    call: (c) => c.chat.search('budget', { channel: 'room', author: 'bob', cursor: 'opaque-cursor', limit: 5 }),
    result: { results: [EVENT], next: 'next-cursor' },
    resolves: { results: [EVENT], next: 'next-cursor' },
  },
  {
    name: 'files.get',
    call: (c) => c.fileLinks(['fq4J6Xr1cL0aT2b9kQmZ1wA']),
    result: { files: [FILE_LINKS], missing: [] },
    resolves: [FILE_LINKS],
  },
  {
    name: 'list.subscribe',
    call: async (c) => {
      const items: unknown[] = [];
      followed = await c.chat.followList({ list: 'members', channel: 'room' }, { onSnapshot: (s) => items.push(...s), onChange: () => {} });
      return items;
    },
    result: { list: 'members', channel: 'room', items: [MEMBER] },
    resolves: [MEMBER],
  },
  { name: 'list.unsubscribe', call: () => followed!.close(), result: null, resolves: undefined },
  { name: 'rpc', call: (c) => c.rpc('cart.total', { cart: 7 }), result: { data: { total: 42 } }, resolves: { total: 42 } },
];

/** A request frame's command fields: without the `type` and `id` the connection adds. */
function fields(frame: Frame): Record<string, unknown> {
  const { type: _, id: __, ...rest } = frame;
  return rest;
}


describe('client SDK: every command of the protocol', () => {
  it('has a method for every command, sends what the protocol validates and resolves with its result', async () => {
    expect(CASES.map((c) => c.name).sort()).toEqual([...COMMAND_NAMES].sort());
    const c = client();
    const socket = await scripted.socket(0);
    socket.accept();
    await c.ready();
    for (const { name, call, result, resolves } of CASES) {
      // The canned reply is one the server may give.
      expect(COMMANDS[name].result.safeParse(result).error, `${name} result`).toBeUndefined();
      const before = socket.sent.length;
      const calling = call(c);
      const frame = await socket.sentFrame((f) => socket.sent.indexOf(f) >= before && f.type === name);
      expect(COMMANDS[name].input.safeParse(fields(frame)).error, `${name} input`).toBeUndefined();
      socket.reply(frame, result);
      expect(await calling, name).toEqual(resolves);
    }
    const batch = socket.sent.find((f) => f.type === 'publish.batch')!;
    const cids = (batch.messages as { cid: string }[]).map((m) => m.cid);
    expect(cids[1]).toBe('mine');
    expect(cids[0]).toMatch(/^[A-Za-z0-9_-]{22}$/);
    expect(typeof socket.sent.find((f) => f.type === 'push')!.cid).toBe('string');
    expect(fields(socket.sent.find((f) => f.type === 'search')!)).toEqual({
      text: 'budget',
      channel: 'room',
      author: 'bob',
      cursor: 'opaque-cursor',
      limit: 5,
    });
  });

  it('after a drop sends again exactly the requests the protocol marks safe to retry, with the same ids', async () => {
    const c = client();
    const first = await scripted.socket(0);
    first.accept();
    await c.ready();
    // Subscriptions and live lists belong to a connection; they have their own tests.
    const cases = CASES.filter((k) => COMMANDS[k.name].session !== 'required');
    const outcomes = cases.map(({ call }) =>
      call(c).then(
        () => 'resolved',
        (error: { code: string }) => error.code,
      ),
    );
    // Every method sends at once (the connection is up), and a reconnect resends at once.
    const sent = [...first.sent];
    expect(sent.map((f) => f.type)).toEqual(cases.map(({ name }) => name));
    first.serverClose(1006);

    const second = await scripted.socket(1);
    second.accept();
    const retried = cases.filter(({ name }) => COMMANDS[name].retry);
    expect(second.sent).toEqual(sent.filter((f) => COMMANDS[f.type as CommandName].retry));
    for (const [i, frame] of second.sent.entries()) second.reply(frame, retried[i]!.result);
    expect(await Promise.all(outcomes)).toEqual(cases.map(({ name }) => (COMMANDS[name].retry ? 'resolved' : 'connection_lost')));
  });
});
