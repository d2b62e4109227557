import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import BetterSqlite3 from 'better-sqlite3';
import { exportJWK, exportSPKI, generateKeyPair, type JWTPayload, SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { ConfigError, loadConfig } from '../src/config.js';
import { createTestSchema } from './helpers/postgres.js';
import { describeWithServices } from './helpers/services.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { type ServerFrame, WsTestClient, useWsClients } from './helpers/ws-test-client.js';

/**
 * The security suite of issue 5: every attempt gets its exact error code, nothing it tried
 * is stored or delivered, and a bystander keeps chatting on the same server throughout.
 */

const SECRET = randomBytes(32).toString('base64url');
const API_KEY = `sk_live_${randomBytes(16).toString('hex')}`;
const OLD_API_KEY = `sk_old_${randomBytes(16).toString('hex')}`;
const AUDIENCE = 'chat-app';
const ISSUER = 'https://app.example';

const clients = useWsClients();

/** Connects with a bearer token on the upgrade request and waits for the welcome (or a refusal). */
async function connectWithToken(server: TestServer, token: string): Promise<WsTestClient> {
  const client = clients.open(server.wsUrl, { headers: { authorization: `Bearer ${token}` } });
  await client.opened;
  await client.waitFor((f) => f.type === 'welcome' || f.type === 'error');
  return client;
}

async function connectOpen(server: TestServer, user: string, localAddress?: string): Promise<WsTestClient> {
  const client = clients.open(`${server.wsUrl}?user=${user}`, localAddress ? { localAddress } : undefined);
  await client.opened;
  await client.waitFor((f) => f.type === 'welcome' || f.type === 'error');
  return client;
}

function welcomeOf(client: WsTestClient): ServerFrame | undefined {
  return client.frames.find((f) => f.type === 'welcome');
}

function hs256(claims: JWTPayload, options: { secret?: string; exp?: number; nbf?: number } = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ name: claims.sub, ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime(options.exp ?? now + 600)
    .setNotBefore(options.nbf ?? now - 10)
    .sign(new TextEncoder().encode(options.secret ?? SECRET));
}

function jwtClaims(sub: string, extra: JWTPayload = {}): JWTPayload {
  return { sub, aud: AUDIENCE, iss: ISSUER, ...extra };
}

/** A JWT with `alg: none` and no signature, as an attacker would forge it. */
function unsigned(claims: JWTPayload): string {
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
  const now = Math.floor(Date.now() / 1000);
  return `${part({ alg: 'none', typ: 'JWT' })}.${part({ exp: now + 600, ...claims })}.`;
}

async function http(
  server: TestServer,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
  method = body === undefined ? 'GET' : 'POST',
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

/** Tries a WebSocket upgrade and returns the HTTP status it was refused with (or 101). */
function upgradeStatus(url: string, options: ConstructorParameters<typeof WebSocket>[2] = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, options);
    socket.on('unexpected-response', (_request, response: IncomingMessage) => {
      let body = '';
      response.on('data', (chunk: Buffer) => (body += chunk.toString()));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    socket.on('open', () => {
      socket.close();
      resolve({ status: 101, body: '' });
    });
    socket.on('error', (error) => {
      if (!/Unexpected server response/.test(error.message)) reject(error);
    });
  });
}

/** The bystander still gets answers and live events: the server kept serving. */
async function assertStillServing(bystander: WsTestClient, channel: string): Promise<void> {
  expect(bystander.closeCode).toBeNull();
  const text = `still here ${randomBytes(4).toString('hex')}`;
  const sent = await bystander.ok<{ seq: number }>('publish', { channel, text });
  await bystander.waitUntil(() => bystander.events(channel).some((e) => e.seq === sent.seq && e.text === text));
}

async function lastSeq(server: TestServer, channel: string): Promise<number> {
  return (await server.store.getChannel(channel))?.lastSeq ?? 0;
}

describe('config: contradictions fail with one sentence', () => {
  it('refuses jwt without a key, two kinds of key, a short secret and a short API key', () => {
    expect(() => loadConfig({ overrides: { auth: 'jwt' } })).toThrow(
      new ConfigError(
        'Auth mode "jwt" needs a key: set SWITCHBOARD_JWT_SECRET (HS256), SWITCHBOARD_JWT_PUBLIC_KEY (RS256/ES256) or SWITCHBOARD_JWKS_URL.',
      ),
    );
    expect(() =>
      loadConfig({ env: { SWITCHBOARD_AUTH: 'jwt', SWITCHBOARD_JWT_SECRET: SECRET, SWITCHBOARD_JWKS_URL: 'https://idp.example/jwks' } }),
    ).toThrow(/takes exactly one of jwt.secret, jwt.publicKey and jwt.jwksUrl/);
    expect(() => loadConfig({ env: { SWITCHBOARD_AUTH: 'jwt', SWITCHBOARD_JWT_SECRET: 'short' } })).toThrow(
      'jwt.secret (SWITCHBOARD_JWT_SECRET) must be at least 32 characters; a short HS256 secret can be guessed.',
    );
    expect(() => loadConfig({ env: { SWITCHBOARD_API_KEY: `${API_KEY},tiny` } })).toThrow(
      'Every API key (SWITCHBOARD_API_KEY) must be at least 16 characters.',
    );
    const config = loadConfig({
      env: {
        SWITCHBOARD_AUTH: 'jwt',
        SWITCHBOARD_JWT_SECRET: SECRET,
        SWITCHBOARD_API_KEY: `${API_KEY}, ${OLD_API_KEY}`,
        SWITCHBOARD_ALLOWED_ORIGINS: 'https://chat.example,https://admin.example',
        SWITCHBOARD_MAX_CONNECTIONS_PER_IP: '7',
      },
    });
    expect(config.apiKeys).toEqual([API_KEY, OLD_API_KEY]);
    expect(config.allowedOrigins).toEqual(['https://chat.example', 'https://admin.example']);
    expect(config.limits.connectionsPerIp).toBe(7);
  });

  it('refuses to start with a public key that is not a PEM key', async () => {
    const publicKey = '-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----';
    await expect(startTestServer({ overrides: { auth: 'jwt', jwt: { publicKey } } })).rejects.toThrow(
      'Cannot set up auth "jwt": jwt.publicKey (SWITCHBOARD_JWT_PUBLIC_KEY) is not a PEM public key.',
    );
  });
});

describe('auth "jwt" with an HS256 secret', () => {
  const jwtServer = () =>
    startTestServer({
      overrides: { auth: 'jwt', jwt: { secret: SECRET, audience: AUDIENCE, issuer: ISSUER }, apiKeys: [API_KEY, OLD_API_KEY] },
    });

  it('refuses a missing, forged, unsigned, expired, not-yet-valid or wrong-audience token; stores and delivers nothing', async () => {
    const server = await jwtServer();
    const alice = await connectWithToken(server, await hs256(jwtClaims('alice')));
    expect(welcomeOf(alice)).toMatchObject({ user: 'alice' });
    await alice.ok('channel.create', { channel: 'general', channelType: 'public' });
    await alice.ok('subscribe', { channel: 'general' });
    const now = Math.floor(Date.now() / 1000);

    // No token at all: every request but auth/ping is refused, and so is an empty auth.
    const anonymous = clients.open(server.wsUrl);
    await anonymous.opened;
    expect(await anonymous.request('publish', { channel: 'general', text: 'anon' })).toMatchObject({
      type: 'error',
      code: 'unauthorized',
    });
    expect(await anonymous.request('auth', {})).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(await anonymous.request('auth', { user: 'mallory' })).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(await http(server, '/api/tickets', {})).toMatchObject({ status: 401, body: { code: 'unauthorized' } });

    const bad: [string, string, RegExp][] = [
      ['another key', await hs256(jwtClaims('mallory'), { secret: randomBytes(32).toString('hex') }), /signature/],
      ['alg none', unsigned(jwtClaims('mallory')), /algorithm/],
      ['expired', await hs256(jwtClaims('mallory'), { exp: now - 120, nbf: now - 600 }), /expired/],
      ['not yet valid', await hs256(jwtClaims('mallory'), { nbf: now + 3600 }), /not valid yet/],
      ['wrong audience', await hs256(jwtClaims('mallory', { aud: 'other-app' })), /audience/],
      ['wrong issuer', await hs256(jwtClaims('mallory', { iss: 'https://evil.example' })), /issuer/],
      ['no exp', await new SignJWT(jwtClaims('mallory')).setProtectedHeader({ alg: 'HS256' }).sign(new TextEncoder().encode(SECRET)), /"exp"/],
      ['garbage', 'not-a-jwt', /malformed/],
    ];
    for (const [what, token, message] of bad) {
      // On the upgrade request: refused with an error frame, then closed with 4401.
      const viaHeader = await connectWithToken(server, token);
      const refusal = viaHeader.frames[0];
      expect(refusal, what).toMatchObject({ type: 'error', code: 'unauthorized' });
      expect(String(refusal!.message), what).toMatch(message);
      expect(JSON.stringify(refusal), what).not.toContain(token.slice(0, 20));
      expect(await viaHeader.closed, what).toBe(4401);
      // In an auth frame: refused, and the connection still cannot publish.
      expect(await anonymous.request('auth', { token }), what).toMatchObject({ type: 'error', code: 'unauthorized' });
      expect(await anonymous.request('publish', { channel: 'general', text: what }), what).toMatchObject({
        code: 'unauthorized',
      });
      // Over HTTP too.
      const ticket = await http(server, '/api/tickets', {}, { authorization: `Bearer ${token}` });
      expect(ticket, what).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    }

    expect(await lastSeq(server, 'general')).toBe(0);
    expect(await server.store.getUser('mallory')).toBeUndefined();
    expect(alice.events('general')).toHaveLength(0);
    await assertStillServing(alice, 'general');
  });

  it('redeems a ticket once, refuses it reused or expired, and never needs the token in a URL', async () => {
    const server = await jwtServer();
    const token = await hs256(jwtClaims('alice', { name: 'Alice' }));
    const bystander = await connectWithToken(server, await hs256(jwtClaims('bob')));
    await bystander.ok('channel.create', { channel: 'lobby', channelType: 'public' });
    await bystander.ok('subscribe', { channel: 'lobby' });

    const issued = await http(server, '/api/tickets', {}, { authorization: `Bearer ${token}` });
    expect(issued.status).toBe(201);
    const ticket = String(issued.body.ticket);
    expect(Number(issued.body.expiresAt)).toBeGreaterThan(Date.now());
    expect(Number(issued.body.expiresAt)).toBeLessThanOrEqual(Date.now() + 30_000);

    const first = clients.open(`${server.wsUrl}?ticket=${ticket}`);
    await first.waitFor((f) => f.type === 'welcome');
    expect(welcomeOf(first)).toMatchObject({ user: 'alice', name: 'Alice' });

    const reused = clients.open(`${server.wsUrl}?ticket=${ticket}`);
    expect(await reused.waitFor((f) => f.type === 'error')).toMatchObject({ code: 'unauthorized', message: 'The ticket is unknown or was already used.' });
    expect(await reused.closed).toBe(4401);
    const reusedInFrame = clients.open(server.wsUrl);
    await reusedInFrame.opened;
    expect(await reusedInFrame.request('auth', { ticket })).toMatchObject({ code: 'unauthorized' });
    const reusedOnSse = await fetch(`${server.url}/sse?channels=lobby&ticket=${ticket}`);
    expect(reusedOnSse.status).toBe(401);
    expect(await reusedOnSse.json()).toMatchObject({ code: 'unauthorized', message: 'The ticket is unknown or was already used.' });
    // A fresh ticket opens an SSE stream once.
    const forSse = await http(server, '/api/tickets', {}, { authorization: `Bearer ${token}` });
    const stream = new AbortController();
    const opened = await fetch(`${server.url}/sse?channels=lobby&ticket=${String(forSse.body.ticket)}`, { signal: stream.signal });
    expect(opened.status).toBe(200);
    expect(opened.headers.get('content-type')).toMatch(/^text\/event-stream/);
    stream.abort();
    expect((await fetch(`${server.url}/sse?channels=lobby&ticket=${String(forSse.body.ticket)}`)).status).toBe(401);

    // Users get tickets only for themselves; the backend (API key) names the user.
    expect(await http(server, '/api/tickets', { user: 'bob' }, { authorization: `Bearer ${token}` })).toMatchObject({
      status: 403,
      body: { code: 'forbidden' },
    });
    const forCarol = await http(server, '/api/tickets', { user: 'carol' }, { 'x-switchboard-key': API_KEY });
    expect(forCarol.status).toBe(201);
    const carol = clients.open(`${server.wsUrl}?ticket=${String(forCarol.body.ticket)}`);
    expect(await carol.waitFor((f) => f.type === 'welcome')).toMatchObject({ user: 'carol' });

    // A ticket that outlived its 1 ms on a second node sharing the database.
    const shortLived = await startTestServer({
      databaseUrl: server.databaseUrl,
      overrides: { auth: 'jwt', jwt: { secret: SECRET, audience: AUDIENCE, issuer: ISSUER }, ticketTtlMs: 1 },
    });
    const stale = await http(shortLived, '/api/tickets', {}, { authorization: `Bearer ${token}` });
    const staleAt = Number(stale.body.expiresAt);
    // The event waited on is the clock passing the expiry (a frame-driven wait could hang:
    // nothing arrives on the bystander's socket meanwhile).
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, staleAt - Date.now() + 2)));
    expect(Date.now()).toBeGreaterThan(staleAt);
    const late = clients.open(`${server.wsUrl}?ticket=${String(stale.body.ticket)}`);
    expect(await late.waitFor((f) => f.type === 'error')).toMatchObject({ code: 'unauthorized', message: 'The ticket expired.' });
    expect(await late.closed).toBe(4401);

    // A ticket made on one node works on the other (they share the database).
    const crossNode = await http(shortLived, '/api/tickets', {}, { 'x-switchboard-key': 'wrong' });
    expect(crossNode).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    const onFirstNode = await http(server, '/api/tickets', {}, { authorization: `Bearer ${token}` });
    const elsewhere = clients.open(`${shortLived.wsUrl}?ticket=${String(onFirstNode.body.ticket)}`);
    // ttl is per issuing node: this one was made with 30 s, so the other node accepts it.
    expect(await elsewhere.waitFor((f) => f.type === 'welcome')).toMatchObject({ user: 'alice' });

    expect(bystander.events('lobby')).toHaveLength(0);
    await assertStillServing(bystander, 'lobby');
  });

  it('takes API keys in constant time from either header, refuses a wrong one, and registers users for the app', async () => {
    const server = await jwtServer();
    const bystander = await connectWithToken(server, await hs256(jwtClaims('bob')));
    await bystander.ok('channel.create', { channel: 'lobby', channelType: 'public' });
    await bystander.ok('subscribe', { channel: 'lobby' });

    const attempts: Record<string, string>[] = [
      { 'x-switchboard-key': 'sk_live_wrong_wrong_wrong' },
      { authorization: 'Bearer sk_live_wrong_wrong_wrong' },
      { 'x-switchboard-key': API_KEY.slice(0, -1) },
      { authorization: `Basic ${Buffer.from(`x:${API_KEY}`).toString('base64')}` },
      {},
    ];
    for (const headers of attempts) {
      const refused = await http(server, '/api/users', { user: 'dave' }, headers);
      expect(refused, JSON.stringify(headers)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    }
    expect(await server.store.getUser('dave')).toBeUndefined();
    // A user's token is not an API key.
    const asUser = await http(server, '/api/users', { user: 'dave' }, { authorization: `Bearer ${await hs256(jwtClaims('bob'))}` });
    expect(asUser).toMatchObject({ status: 403, body: { code: 'forbidden' } });
    expect(await server.store.getUser('dave')).toBeUndefined();

    // Both configured keys work (rotation), from either header.
    const created = await http(server, '/api/users', { user: 'dave', name: 'Dave' }, { 'x-switchboard-key': API_KEY });
    expect(created).toMatchObject({ status: 201, body: { user: { id: 'dave', name: 'Dave' }, inbox: 'user:dave', created: true } });
    const again = await http(server, '/api/users', { user: 'dave' }, { authorization: `Bearer ${OLD_API_KEY}` });
    expect(again).toMatchObject({ status: 200, body: { user: { id: 'dave', name: 'Dave' }, created: false } });

    // The token the app hands to Dave opens his connection; the backend pushes to his inbox.
    const dave = await connectWithToken(server, String(created.body.token));
    expect(welcomeOf(dave)).toMatchObject({ user: 'dave', name: 'Dave' });
    await dave.ok('subscribe', { channel: 'user:dave' });
    const backend = await connectWithToken(server, API_KEY);
    expect(welcomeOf(backend)).toMatchObject({ user: 'server' });
    await backend.ok('publish', { channel: 'user:dave', text: 'your order shipped' });
    await dave.waitUntil(() => dave.events('user:dave').some((e) => e.text === 'your order shipped'));
    // Dave himself may not publish into his inbox: only the server does.
    expect(await dave.request('publish', { channel: 'user:dave', text: 'spoof' })).toMatchObject({ code: 'forbidden' });
    expect(await lastSeq(server, 'user:dave')).toBe(1);

    await assertStillServing(bystander, 'lobby');
  });

  it('keeps private, direct and inbox channels from non-members, and messages from other authors', async () => {
    const server = await jwtServer();
    const alice = await connectWithToken(server, await hs256(jwtClaims('alice')));
    const bob = await connectWithToken(server, await hs256(jwtClaims('bob')));
    const mallory = await connectWithToken(server, await hs256(jwtClaims('mallory')));
    await alice.ok('channel.create', { channel: 'staff', channelType: 'private', members: ['bob'] });
    const dm = await alice.ok<{ id: string }>('channel.create', { channelType: 'direct', members: ['bob'] });
    await alice.ok('channel.create', { channel: 'general', channelType: 'public' });
    await alice.ok('publish', { channel: 'staff', text: 'payroll' });
    await alice.ok('publish', { channel: dm.id, text: 'psst' });
    const backend = await connectWithToken(server, API_KEY);
    await backend.ok('publish', { channel: 'user:alice', text: 'welcome' });
    const protectedChannels = ['staff', dm.id, 'user:alice'];
    for (const channel of protectedChannels) await alice.ok('subscribe', { channel });
    const before = await Promise.all(protectedChannels.map((c) => lastSeq(server, c)));

    for (const channel of protectedChannels) {
      for (const [type, fields] of [
        ['subscribe', { channel }],
        ['subscribe', { channel, since: 0 }],
        ['history', { channel }],
        ['publish', { channel, text: 'let me in' }],
        ['presence', { channel }],
        ['members.list', { channel }],
        ['channel.get', { channel }],
        ['channel.join', { channel }],
        ['members.add', { channel, user: 'mallory' }],
        ['edit', { channel, seq: 1, text: 'defaced' }],
        ['delete', { channel, seq: 1 }],
      ] as const) {
        const reply = await mallory.request(type, fields);
        expect(reply, `${type} ${channel}`).toMatchObject({ type: 'error', code: 'forbidden' });
      }
    }
    // The same rules hold over REST and SSE: one permission layer for every transport.
    const asMallory = { authorization: `Bearer ${await hs256(jwtClaims('mallory'))}` };
    for (const channel of protectedChannels) {
      const path = `/api/channels/${encodeURIComponent(channel)}`;
      for (const [method, route, body] of [
        ['GET', '/messages', undefined],
        ['POST', '/messages', { text: 'let me in' }],
        ['GET', '', undefined],
        ['GET', '/members', undefined],
        ['GET', '/presence', undefined],
        ['POST', '/join', undefined],
        ['POST', '/members', { user: 'mallory' }],
        ['POST', '/typing', undefined],
        ['PATCH', '/messages/1', { text: 'defaced' }],
        ['DELETE', '/messages/1', undefined],
      ] as const) {
        const reply = await http(server, `${path}${route}`, body, asMallory, method);
        expect(reply, `REST ${method} ${route} ${channel}`).toMatchObject({ status: 403, body: { code: 'forbidden' } });
      }
      expect(await http(server, `${path}/messages`, undefined), channel).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
      // /stream/:channel, since a direct channel's id (dm:a,b) holds the comma that separates ?channels=.
      const sse = await fetch(`${server.url}/stream/${encodeURIComponent(channel)}`, { headers: asMallory });
      expect(sse.status, `SSE ${channel}`).toBe(403);
      expect(await sse.json()).toMatchObject({ code: 'forbidden' });
    }
    expect(mallory.events()).toHaveLength(0);
    expect(await Promise.all(protectedChannels.map((c) => lastSeq(server, c)))).toEqual(before);
    expect(await server.store.getMember('staff', 'mallory')).toBeUndefined();
    const visible = await mallory.ok<{ channels: { id: string }[] }>('channel.list');
    expect(visible.channels.map((c) => c.id)).toEqual(['general']);

    // Bob, a plain member, may not edit or delete Alice's message nor manage members.
    expect(await bob.request('edit', { channel: 'staff', seq: 1, text: 'mine now' })).toMatchObject({ code: 'forbidden' });
    expect(await bob.request('delete', { channel: 'staff', seq: 1 })).toMatchObject({ code: 'forbidden' });
    expect(await bob.request('members.add', { channel: 'staff', user: 'mallory' })).toMatchObject({ code: 'forbidden' });
    expect(await bob.request('members.remove', { channel: 'staff', user: 'alice' })).toMatchObject({ code: 'forbidden' });
    expect(await server.store.getEvent('staff', 1)).toMatchObject({ text: 'payroll', editedAt: null, deletedAt: null });
    expect(await lastSeq(server, 'staff')).toBe(before[0]);

    // A channel admin manages members but cannot make owners or remove the owner.
    await alice.ok('members.add', { channel: 'staff', user: 'bob', role: 'admin' });
    expect(await bob.request('members.add', { channel: 'staff', user: 'bob', role: 'owner' })).toMatchObject({ code: 'forbidden' });
    expect(await bob.request('members.remove', { channel: 'staff', user: 'alice' })).toMatchObject({ code: 'forbidden' });
    expect(await server.store.getMember('staff', 'alice')).toMatchObject({ role: 'owner' });
    expect(await server.store.getMember('staff', 'bob')).toMatchObject({ role: 'admin' });
    // ...and may delete (moderate) but not edit Alice's words.
    await alice.ok('publish', { channel: 'staff', text: 'oops' });
    const oopsSeq = (await alice.ok<{ events: { seq: number; text: string }[] }>('history', { channel: 'staff' })).events.at(-1)!.seq;
    expect(await bob.request('edit', { channel: 'staff', seq: oopsSeq, text: 'x' })).toMatchObject({ code: 'forbidden' });
    await bob.ok('delete', { channel: 'staff', seq: oopsSeq });

    // The owner of a public channel manages its members too.
    await alice.ok('members.add', { channel: 'general', user: 'bob', role: 'admin' });
    expect(await mallory.request('members.add', { channel: 'general', user: 'mallory', role: 'owner' })).toMatchObject({
      code: 'forbidden',
    });

    // A global admin (role in the token) edits any message it can read; a plain user does not.
    const posted = await bob.ok<{ seq: number }>('publish', { channel: 'general', text: 'buy cheap pills' });
    expect(await mallory.request('edit', { channel: 'general', seq: posted.seq, text: 'x' })).toMatchObject({ code: 'forbidden' });
    expect(await mallory.request('delete', { channel: 'general', seq: posted.seq })).toMatchObject({ code: 'forbidden' });
    const admin = await connectWithToken(server, await hs256(jwtClaims('root', { roles: ['admin'] })));
    await admin.ok('edit', { channel: 'general', seq: posted.seq, text: '(removed by a moderator)' });
    expect(await server.store.getEvent('general', posted.seq)).toMatchObject({ text: '(removed by a moderator)' });

    await alice.ok('subscribe', { channel: 'general' });
    await assertStillServing(alice, 'general');
  });
});

describe('auth "jwt" with public keys', () => {
  it('accepts RS256 from the PEM key and refuses HS256 signed with that key (key confusion)', async () => {
    const { publicKey, privateKey } = await generateKeyPair('RS256');
    const pem = await exportSPKI(publicKey);
    const server = await startTestServer({ overrides: { auth: 'jwt', jwt: { publicKey: pem } } });
    const now = Math.floor(Date.now() / 1000);
    const rs256 = (key = privateKey) =>
      new SignJWT({ name: 'Alice' }).setProtectedHeader({ alg: 'RS256' }).setSubject('alice').setExpirationTime(now + 600).sign(key);

    const alice = await connectWithToken(server, await rs256());
    expect(welcomeOf(alice)).toMatchObject({ user: 'alice', name: 'Alice' });
    await alice.ok('channel.create', { channel: 'general', channelType: 'public' });
    await alice.ok('subscribe', { channel: 'general' });

    const confused = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256' })
      .setSubject('mallory')
      .setExpirationTime(now + 600)
      .sign(new TextEncoder().encode(pem));
    const other = (await generateKeyPair('RS256')).privateKey;
    for (const [what, token] of [
      ['HS256 with the public key as secret', confused],
      ['RS256 from another key', await rs256(other)],
      ['alg none', unsigned({ sub: 'mallory' })],
    ] as const) {
      const client = await connectWithToken(server, token);
      expect(client.frames[0], what).toMatchObject({ type: 'error', code: 'unauthorized' });
      expect(await client.closed, what).toBe(4401);
    }
    expect(await server.store.getUser('mallory')).toBeUndefined();
    expect(await lastSeq(server, 'general')).toBe(0);
    await assertStillServing(alice, 'general');
  });

  it('accepts ES256 through a JWKS URL and refuses a token from a key not in the set', async () => {
    const { publicKey, privateKey } = await generateKeyPair('ES256');
    const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    let fetches = 0;
    const jwks: Server = createServer((request, response) => {
      fetches++;
      if (request.url !== '/.well-known/jwks.json') return void response.writeHead(404).end();
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((resolve) => jwks.listen(0, '127.0.0.1', resolve));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/.well-known/jwks.json`;
    try {
      const server = await startTestServer({ overrides: { auth: 'jwt', jwt: { jwksUrl, audience: AUDIENCE } } });
      const now = Math.floor(Date.now() / 1000);
      const es256 = (key: CryptoKey, kid = 'k1', aud = AUDIENCE) =>
        new SignJWT({}).setProtectedHeader({ alg: 'ES256', kid }).setSubject('alice').setAudience(aud).setExpirationTime(now + 600).sign(key);

      const alice = await connectWithToken(server, await es256(privateKey));
      expect(welcomeOf(alice)).toMatchObject({ user: 'alice' });
      expect(fetches).toBe(1);
      await alice.ok('channel.create', { channel: 'general', channelType: 'public' });
      await alice.ok('subscribe', { channel: 'general' });

      const stranger = (await generateKeyPair('ES256')).privateKey;
      for (const [what, token, message] of [
        ['another key, same kid', await es256(stranger), /signature/],
        ['unknown kid', await es256(stranger, 'k2'), /JWKS/],
        ['wrong audience', await es256(privateKey, 'k1', 'other-app'), /audience/],
        ['HS256', await hs256({ sub: 'mallory', aud: AUDIENCE }), /algorithm/],
      ] as const) {
        const client = await connectWithToken(server, token);
        expect(client.frames[0], what).toMatchObject({ type: 'error', code: 'unauthorized' });
        expect(String(client.frames[0]!.message), what).toMatch(message);
        expect(await client.closed, what).toBe(4401);
      }
      expect(await lastSeq(server, 'general')).toBe(0);
      await assertStillServing(alice, 'general');
    } finally {
      await new Promise((resolve) => jwks.close(resolve));
    }
  });
});

describe('hardening of /ws', () => {
  it('refuses an upgrade from a foreign Origin with 403 before upgrading', async () => {
    const server = await startTestServer({ overrides: { allowedOrigins: ['https://chat.example'] } });
    const bystander = await connectOpen(server, 'bob');
    await bystander.ok('channel.create', { channel: 'lobby', channelType: 'public' });
    await bystander.ok('subscribe', { channel: 'lobby' });

    const foreign = await upgradeStatus(`${server.wsUrl}?user=mallory`, { headers: { origin: 'https://evil.example' } });
    expect(foreign.status).toBe(403);
    expect(JSON.parse(foreign.body)).toMatchObject({ code: 'forbidden' });
    expect(await server.store.getUser('mallory')).toBeUndefined();
    expect((await upgradeStatus(`${server.wsUrl}?user=x`, { headers: { origin: 'null' } })).status).toBe(403);
    const foreignSse = await fetch(`${server.url}/sse?channels=lobby&user=mallory`, { headers: { origin: 'https://evil.example' } });
    expect(foreignSse.status).toBe(403);
    expect(await foreignSse.json()).toMatchObject({ code: 'forbidden' });

    for (const origin of ['https://chat.example', server.url]) {
      const allowed = clients.open(`${server.wsUrl}?user=carol`, { headers: { origin } });
      expect(await allowed.waitFor((f) => f.type === 'welcome'), origin).toMatchObject({ user: 'carol' });
    }
    expect(bystander.events('lobby')).toHaveLength(0);
    await assertStillServing(bystander, 'lobby');
  });

  it('refuses connections past the per-IP limit with 429 and keeps serving other addresses', async () => {
    const server = await startTestServer({ overrides: { limits: { connectionsPerIp: 5 } } });
    // The bystander comes from another loopback address, so it has its own allowance.
    const bystander = await connectOpen(server, 'bob', '127.0.0.2');
    await bystander.ok('channel.create', { channel: 'lobby', channelType: 'public' });
    await bystander.ok('subscribe', { channel: 'lobby' });

    const flood = [];
    for (let i = 0; i < 5; i++) flood.push(await connectOpen(server, `f${i}`, '127.0.0.1'));
    expect(flood.every((c) => welcomeOf(c) !== undefined)).toBe(true);
    const refused = await Promise.all(
      Array.from({ length: 20 }, () => upgradeStatus(`${server.wsUrl}?user=extra`, { localAddress: '127.0.0.1' })),
    );
    expect(refused.map((r) => r.status)).toEqual(Array(20).fill(429));
    expect(JSON.parse(refused[0]!.body)).toMatchObject({ code: 'rate_limited' });
    expect(await server.store.getUser('extra')).toBeUndefined();
    await assertStillServing(bystander, 'lobby');

    // A closed connection gives its slot back.
    await flood[0]!.close();
    const next = await connectOpen(server, 'next', '127.0.0.1');
    expect(welcomeOf(next)).toMatchObject({ user: 'next' });
  });

  it('counts clients behind a trusted proxy by X-Forwarded-For, and ignores the header from anyone else', async () => {
    const limited = { limits: { connectionsPerIp: 2 } };
    const proxied = await startTestServer({ overrides: { ...limited, trustProxy: ['127.0.0.1'] } });
    const via = (client: string) => ({ headers: { 'x-forwarded-for': `${client}, 127.0.0.1` }, localAddress: '127.0.0.1' });
    const held = [clients.open(`${proxied.wsUrl}?user=a`, via('203.0.113.5')), clients.open(`${proxied.wsUrl}?user=b`, via('203.0.113.5'))];
    await Promise.all(held.map((c) => c.waitFor((f) => f.type === 'welcome')));
    expect((await upgradeStatus(`${proxied.wsUrl}?user=c`, via('203.0.113.5'))).status).toBe(429);
    expect((await upgradeStatus(`${proxied.wsUrl}?user=d`, via('198.51.100.7'))).status).toBe(101);

    // Without a trusted proxy a forged header changes nothing: the socket's address counts.
    const direct = await startTestServer({ overrides: limited });
    const forged = [clients.open(`${direct.wsUrl}?user=a`, via('203.0.113.1')), clients.open(`${direct.wsUrl}?user=b`, via('203.0.113.2'))];
    await Promise.all(forged.map((c) => c.waitFor((f) => f.type === 'welcome')));
    expect((await upgradeStatus(`${direct.wsUrl}?user=c`, via('203.0.113.3'))).status).toBe(429);
  });

  it('counts an IPv6 client by its /64: addresses in one /64 share the connection limit', async () => {
    const proxied = await startTestServer({ overrides: { limits: { connectionsPerIp: 2 }, trustProxy: ['127.0.0.1'] } });
    const via = (client: string) => ({ headers: { 'x-forwarded-for': client }, localAddress: '127.0.0.1' });
    const held = [clients.open(`${proxied.wsUrl}?user=a`, via('2001:db8:1:2::a')), clients.open(`${proxied.wsUrl}?user=b`, via('2001:db8:1:2:ffff::b'))];
    await Promise.all(held.map((c) => c.waitFor((f) => f.type === 'welcome')));
    // A third address of the same /64 is the same client; the next /64 is another.
    expect((await upgradeStatus(`${proxied.wsUrl}?user=c`, via('2001:0db8:0001:0002:0:0:0:c'))).status).toBe(429);
    expect((await upgradeStatus(`${proxied.wsUrl}?user=d`, via('2001:db8:1:3::d'))).status).toBe(101);
  });

  it('answers a message flood with rate_limited, closes it with 4429, and stores only what was accepted', async () => {
    const server = await startTestServer({ overrides: { limits: { messagesPerSecond: 10, messageBurst: 10, floodCloseAfter: 20 } } });
    const bystander = await connectOpen(server, 'bob', '127.0.0.2');
    await bystander.ok('channel.create', { channel: 'lobby', channelType: 'public' });
    await bystander.ok('subscribe', { channel: 'lobby' });
    const flooder = await connectOpen(server, 'mallory');

    for (let i = 0; i < 300; i++) flooder.sendRaw(JSON.stringify({ type: 'publish', id: i, channel: 'lobby', text: `spam ${i}` }));
    expect(await flooder.closed).toBe(4429);
    // Acks of accepted publishes may not reach a connection that was closed meanwhile; the
    // store is the truth: the burst (10) plus what the rate refilled, nothing of the rest.
    const limited = flooder.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited').length;
    expect(limited).toBeGreaterThanOrEqual(20);
    // The flood's accepted publishes were queued before the close, so the bystander's comes after them.
    await assertStillServing(bystander, 'lobby');
    const accepted = (await lastSeq(server, 'lobby')) - 1;
    expect(accepted).toBeGreaterThanOrEqual(10);
    expect(accepted).toBeLessThan(20);
    expect(flooder.frames.filter((f) => f.type === 'ok').length).toBeLessThanOrEqual(accepted);
    expect(bystander.events('lobby').map((e) => e.seq)).toEqual(Array.from({ length: accepted + 1 }, (_, i) => i + 1));
  });
});

describe('auth "accounts"', () => {
  const PASSWORD = 'correct horse battery staple';

  it('registers, refuses a wrong password, stores only a salted hash, and rotates and revokes refresh tokens', async () => {
    const server = await startTestServer({ overrides: { auth: 'accounts' } });
    const registered = await http(server, '/api/auth/register', { username: 'alice', password: PASSWORD, name: 'Alice' });
    expect(registered).toMatchObject({ status: 201, body: { user: { id: 'alice', name: 'Alice' }, inbox: 'user:alice' } });
    const bobRegistered = await http(server, '/api/auth/register', { username: 'bob', password: PASSWORD });
    expect(bobRegistered.status).toBe(201);
    expect(await http(server, '/api/auth/register', { username: 'alice', password: 'another password' })).toMatchObject({
      status: 409,
      body: { code: 'conflict' },
    });
    expect(await http(server, '/api/auth/register', { username: 'carol', password: 'short' })).toMatchObject({
      status: 400,
      body: { code: 'bad_request' },
    });
    expect(await http(server, '/api/auth/register', { username: 'carol', password: PASSWORD, admin: true })).toMatchObject({
      status: 400,
      body: { code: 'bad_request' },
    });
    const huge = await http(server, '/api/auth/register', { username: 'carol', password: PASSWORD, name: 'x'.repeat(2 * 1024 * 1024) });
    expect(huge).toEqual({ status: 413, body: { code: 'too_large', message: 'Too large.' } });
    expect(await server.store.getUser('carol')).toBeUndefined();

    // The bystander chats with its access token all along.
    const bob = await connectWithToken(server, String(bobRegistered.body.accessToken));
    expect(welcomeOf(bob)).toMatchObject({ user: 'bob' });
    await bob.ok('channel.create', { channel: 'lobby', channelType: 'public' });
    await bob.ok('subscribe', { channel: 'lobby' });

    const wrong = await http(server, '/api/auth/login', { username: 'alice', password: 'Correct horse battery staple' });
    expect(wrong).toEqual({ status: 401, body: { code: 'unauthorized', message: 'Wrong user name or password.' } });
    const nobody = await http(server, '/api/auth/login', { username: 'nobody', password: PASSWORD });
    expect(nobody).toEqual(wrong);

    const login = await http(server, '/api/auth/login', { username: 'alice', password: PASSWORD });
    expect(login).toMatchObject({ status: 200, body: { user: { id: 'alice', name: 'Alice' } } });
    const alice = await connectWithToken(server, String(login.body.accessToken));
    expect(welcomeOf(alice)).toMatchObject({ user: 'alice', name: 'Alice' });

    // Refresh rotates: the new pair works, the old refresh token is dead, and replaying it
    // (a thief's copy) revokes the whole chain, including the newest token.
    const rotated = await http(server, '/api/auth/refresh', { refreshToken: login.body.refreshToken });
    expect(rotated.status).toBe(200);
    expect(rotated.body.refreshToken).not.toBe(login.body.refreshToken);
    const replay = await http(server, '/api/auth/refresh', { refreshToken: login.body.refreshToken });
    expect(replay).toMatchObject({ status: 401, body: { code: 'unauthorized', message: 'The refresh token was revoked; log in again.' } });
    expect(await http(server, '/api/auth/refresh', { refreshToken: rotated.body.refreshToken })).toMatchObject({
      status: 401,
      body: { code: 'unauthorized' },
    });

    // Log out revokes.
    const session = await http(server, '/api/auth/login', { username: 'alice', password: PASSWORD });
    expect((await http(server, '/api/auth/logout', { refreshToken: session.body.refreshToken })).status).toBe(204);
    expect(await http(server, '/api/auth/refresh', { refreshToken: session.body.refreshToken })).toMatchObject({
      status: 401,
      body: { code: 'unauthorized', message: 'The refresh token was revoked; log in again.' },
    });
    expect(await http(server, '/api/auth/refresh', { refreshToken: 'rt_made_up' })).toMatchObject({
      status: 401,
      body: { code: 'unauthorized' },
    });

    // The database holds salted scrypt hashes, never a password or a refresh token.
    const path = server.databaseUrl.slice('sqlite:'.length);
    const db = new BetterSqlite3(path, { readonly: true });
    try {
      const rows = db.prepare('SELECT user_id, password_hash FROM accounts ORDER BY user_id').all() as {
        user_id: string;
        password_hash: string;
      }[];
      expect(rows.map((r) => r.user_id)).toEqual(['alice', 'bob']);
      for (const row of rows) {
        expect(row.password_hash).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
        expect(row.password_hash).not.toContain(PASSWORD);
      }
      // Same password, different salt, different hash.
      expect(rows[0]!.password_hash).not.toBe(rows[1]!.password_hash);
      const tokenRows = db.prepare('SELECT token_hash FROM refresh_tokens').all() as { token_hash: string }[];
      expect(tokenRows.length).toBeGreaterThanOrEqual(4);
      for (const row of tokenRows) expect(row.token_hash).toMatch(/^[0-9a-f]{64}$/);
    } finally {
      db.close();
    }
    const files = [path, `${path}-wal`].filter(existsSync).map((file) => readFileSync(file));
    for (const bytes of files) {
      expect(bytes.includes(PASSWORD)).toBe(false);
      expect(bytes.includes(String(session.body.refreshToken))).toBe(false);
    }

    expect(bob.events('lobby')).toHaveLength(0);
    await assertStillServing(bob, 'lobby');
  });

  it('throttles log-in attempts per address, closes registration when asked, and provisions users for the app', async () => {
    const server = await startTestServer({
      overrides: { auth: 'accounts', apiKeys: [API_KEY], accounts: { openRegistration: false }, limits: { authAttemptsPerMinute: 5 } },
    });
    expect(await http(server, '/api/auth/register', { username: 'alice', password: PASSWORD })).toMatchObject({
      status: 403,
      body: { code: 'forbidden' },
    });
    const viaBackend = await http(server, '/api/auth/register', { username: 'alice', password: PASSWORD }, { 'x-switchboard-key': API_KEY });
    expect(viaBackend.status).toBe(201);

    const provisioned = await http(server, '/api/users', { user: 'dave', roles: ['admin'] }, { 'x-switchboard-key': API_KEY });
    expect(provisioned).toMatchObject({ status: 201, body: { user: { id: 'dave', roles: ['admin'] }, inbox: 'user:dave' } });
    const dave = await connectWithToken(server, String(provisioned.body.token));
    expect(welcomeOf(dave)).toMatchObject({ user: 'dave' });
    await dave.ok('channel.create', { channel: 'lobby', channelType: 'public' });
    await dave.ok('subscribe', { channel: 'lobby' });

    // Dave has no password: nothing logs him in. Then the address runs out of its 5 attempts.
    expect(await http(server, '/api/auth/login', { username: 'dave', password: PASSWORD })).toMatchObject({ status: 401 });
    expect(await http(server, '/api/auth/login', { username: 'alice', password: 'wrong password' })).toMatchObject({ status: 401 });
    expect(await http(server, '/api/auth/login', { username: 'alice', password: 'wrong again!' })).toMatchObject({ status: 401 });
    const throttled = await http(server, '/api/auth/login', { username: 'alice', password: PASSWORD });
    expect(throttled).toMatchObject({ status: 429, body: { code: 'rate_limited' } });

    // Malformed bodies get bad_request, never a stack.
    const response = await fetch(`${server.url}/api/auth/logout`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"refreshToken": ',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ code: 'bad_request', message: 'The body is not valid JSON.' });

    await assertStillServing(dave, 'lobby');
  });

  it('issues access tokens that a restarted node still accepts', async () => {
    const server = await startTestServer({ overrides: { auth: 'accounts' } });
    const registered = await http(server, '/api/auth/register', { username: 'alice', password: PASSWORD });
    await server.restart();
    const alice = await connectWithToken(server, String(registered.body.accessToken));
    expect(welcomeOf(alice)).toMatchObject({ user: 'alice' });
    const forged = await hs256({ sub: 'alice', aud: 'switchboard', iss: 'switchboard' });
    const mallory = await connectWithToken(server, forged);
    expect(mallory.frames[0]).toMatchObject({ type: 'error', code: 'unauthorized' });
  });
});

describeWithServices(['TEST_DATABASE_URL'], 'auth "accounts" on PostgreSQL', () => {
  it('stores salted hashes, rotates refresh tokens and redeems a ticket once across two nodes', async () => {
    const schema = await createTestSchema(process.env.TEST_DATABASE_URL!, 'auth');
    try {
      const password = 'correct horse battery staple';
      const first = await startTestServer({ databaseUrl: schema.url, overrides: { auth: 'accounts' } });
      const second = await startTestServer({ databaseUrl: schema.url, overrides: { auth: 'accounts' } });
      const registered = await http(first, '/api/auth/register', { username: 'alice', password });
      expect(registered.status).toBe(201);
      expect(await http(second, '/api/auth/login', { username: 'alice', password: 'wrong password' })).toMatchObject({
        status: 401,
        body: { code: 'unauthorized' },
      });
      // Both nodes agree on the signing key kept in the database.
      const alice = await connectWithToken(second, String(registered.body.accessToken));
      expect(welcomeOf(alice)).toMatchObject({ user: 'alice' });

      const rotated = await http(second, '/api/auth/refresh', { refreshToken: registered.body.refreshToken });
      expect(rotated.status).toBe(200);
      expect(await http(first, '/api/auth/refresh', { refreshToken: registered.body.refreshToken })).toMatchObject({
        status: 401,
        body: { code: 'unauthorized' },
      });

      const ticket = await http(first, '/api/tickets', {}, { authorization: `Bearer ${String(rotated.body.accessToken)}` });
      const redeemed = clients.open(`${second.wsUrl}?ticket=${String(ticket.body.ticket)}`);
      expect(await redeemed.waitFor((f) => f.type === 'welcome')).toMatchObject({ user: 'alice' });
      const again = clients.open(`${first.wsUrl}?ticket=${String(ticket.body.ticket)}`);
      expect(await again.waitFor((f) => f.type === 'error')).toMatchObject({ code: 'unauthorized' });

      const { default: pg } = await import('pg');
      const client = new pg.Client({ connectionString: schema.url });
      await client.connect();
      try {
        const { rows } = await client.query<{ password_hash: string }>('select password_hash from accounts');
        expect(rows).toHaveLength(1);
        expect(rows[0]!.password_hash).toMatch(/^scrypt\$15\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/);
        const leaked = await client.query('select 1 from refresh_tokens where token_hash = $1', [rotated.body.refreshToken]);
        expect(leaked.rowCount).toBe(0);
      } finally {
        await client.end();
      }
      await clients.closeAll();
      await first.close();
      await second.close();
    } finally {
      await schema.drop();
    }
  });
});
