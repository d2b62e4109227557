import { SignJWT } from 'jose';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createClient } from '../client/src/index.js';
import { ERROR_CODES } from '../protocol/codes.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { STREAM_WIRES, subscribeOn, type WireSubscriber } from './helpers/wire-subscribers.js';
import { useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

/**
 * A session lives as long as its credential: it ends at the token's `exp` plus the clock
 * tolerance (jwt.clockToleranceSeconds) on every wire that keeps a session (/ws: an
 * `unauthorized` error frame, then 4401; SSE: an `error` event and the end of the stream;
 * gRPC: UNAUTHENTICATED), unless the client refreshed it on /ws with `auth.refresh`. A
 * ticket made with a token carries that token's expiry.
 */
const clients = useWsClients();
const SECRET = 'credential-expiry-test-secret-0123456789';
const API_KEY = 'credential-expiry-test-api-key-0123';
/** Seconds of clock skew tolerated on `exp`: the session ends that much after it. */
const TOLERANCE_S = 1;
/** A generous bound on how late the end may come (timers, a loaded machine). */
const LATE_MS = 1000;

function jwtServer(): Promise<TestServer> {
  return startTestServer({ overrides: { auth: 'jwt', jwt: { secret: SECRET, clockToleranceSeconds: TOLERANCE_S }, apiKeys: [API_KEY] } });
}

const nowSeconds = () => Math.floor(Date.now() / 1000);

function token(sub: string, exp: number): Promise<string> {
  return new SignJWT({ name: sub })
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(sub)
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(SECRET));
}

/** The moment a session on a token with this `exp` must end. */
const deadlineOf = (exp: number) => (exp + TOLERANCE_S) * 1000;

async function publish(server: TestServer, channel: string, text: string): Promise<number> {
  const response = await fetch(`${server.url}/api/channels/${channel}/messages`, {
    method: 'POST',
    headers: { 'x-switchboard-key': API_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { seq: number }).seq;
}

async function lobby(server: TestServer): Promise<void> {
  const response = await fetch(`${server.url}/api/channels`, {
    method: 'POST',
    headers: { 'x-switchboard-key': API_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({ channel: 'lobby', channelType: 'public' }),
  });
  expect(response.status).toBe(201);
}

/** The session ended at its deadline (not before, at most LATE_MS after), saying `unauthorized` as its wire does. */
async function expectExpiredAt(session: WireSubscriber, deadline: number): Promise<void> {
  const end = await session.sessionEnded(deadline - Date.now() + 3000);
  expect(end.at, session.wire).toBeGreaterThanOrEqual(deadline - 5);
  expect(end.at - deadline, session.wire).toBeLessThan(LATE_MS);
  expect(end.code, session.wire).toBe('unauthorized');
  if (session.wire === 'ws') expect(end.status).toBe(4401);
  if (session.wire === 'grpc') expect(end.status).toBe(ERROR_CODES.unauthorized.grpc);
}

async function connectWithToken(server: TestServer, bearer: string): Promise<WsTestClient> {
  const client = clients.open(server.wsUrl, { headers: { authorization: `Bearer ${bearer}` } });
  await client.opened;
  await client.waitFor((f) => f.type === 'welcome');
  return client;
}

describe('expiring credentials', () => {
  for (const wire of STREAM_WIRES) {
    it(`${wire}: a session ends at the token's exp plus the clock tolerance, with unauthorized`, async () => {
      const server = await jwtServer();
      await lobby(server);
      const exp = nowSeconds() + 2;
      const bob = await subscribeOn(wire, server, { token: await token('bob', exp) }, 'lobby');
      await bob.waitForSeq(await publish(server, 'lobby', 'while valid'));
      await expectExpiredAt(bob, deadlineOf(exp));
    });
  }

  it('ws: auth.refresh with a new token of the same user moves the end; another user, an API key or an expired token is refused', async () => {
    const server = await jwtServer();
    await lobby(server);
    const exp = nowSeconds() + 2;
    const first = await token('bob', exp);
    // The same token, never refreshed: it shows when the old deadline has passed.
    const control = await subscribeOn('ws', server, { token: first }, 'lobby');
    const bob = await connectWithToken(server, first);
    await bob.ok('subscribe', { channel: 'lobby' });

    expect(await bob.request('auth.refresh', { token: await token('mallory', exp + 60) })).toMatchObject({ type: 'error', code: 'forbidden' });
    expect(await bob.request('auth.refresh', { token: API_KEY })).toMatchObject({ type: 'error', code: 'forbidden' });
    const expired = await token('bob', nowSeconds() - 120);
    expect(await bob.request('auth.refresh', { token: expired })).toMatchObject({ type: 'error', code: 'unauthorized' });
    const later = nowSeconds() + 60;
    expect(await bob.ok('auth.refresh', { token: await token('bob', later) })).toEqual({ user: 'bob', expiresAt: deadlineOf(later) });

    await expectExpiredAt(control, deadlineOf(exp));
    const seq = await publish(server, 'lobby', 'after the old deadline');
    await bob.waitFor((f) => f.type === 'event' && f.seq === seq);
    expect(await bob.ok('ping')).toHaveProperty('at');
    expect(bob.closeCode).toBeNull();
    // Not a REST command: a request carries its own token every time.
    const rest = await fetch(`${server.url}/api/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(rest.status).not.toBe(200);
  });

  it('SDK: refreshes the session by itself before it expires, through its token callback: one connection, every event', async () => {
    const server = await jwtServer();
    await lobby(server);
    const exp = nowSeconds() + 2;
    const first = await token('bob', exp);
    let issued = 0;
    const client = createClient({
      url: server.wsUrl,
      token: async () => (issued++ === 0 ? first : token('bob', nowSeconds() + 60)),
      heartbeatMs: 0,
    });
    onTestFinished(() => client.close());
    let connects = 0;
    client.on('connected', () => connects++);
    const seen: number[] = [];
    await client.subscribe('lobby', (event) => seen.push(event.seq));
    // The same first token on a session nobody refreshes: it ends at the first deadline.
    const control = await subscribeOn('ws', server, { token: first }, 'lobby');
    await publish(server, 'lobby', 'before');
    await expectExpiredAt(control, deadlineOf(exp));

    const seq = await publish(server, 'lobby', 'after the first deadline');
    await expect.poll(() => seen).toEqual([1, seq]);
    expect(client.state).toBe('connected');
    expect(connects).toBe(1);
    expect(issued).toBeGreaterThanOrEqual(2);
  });

  it('a ticket made with a token ends its /ws and SSE sessions with that token; one the app made for a user does not expire', async () => {
    const server = await jwtServer();
    await lobby(server);
    const exp = nowSeconds() + 2;
    const bearer = await token('bob', exp);
    const ticketFor = async (headers: Record<string, string>, body: object = {}) => {
      const response = await fetch(`${server.url}/api/tickets`, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(response.status).toBe(201);
      return ((await response.json()) as { ticket: string }).ticket;
    };
    const sessions = [
      await subscribeOn('ws', server, { ticket: await ticketFor({ authorization: `Bearer ${bearer}` }) }, 'lobby'),
      await subscribeOn('sse', server, { ticket: await ticketFor({ authorization: `Bearer ${bearer}` }) }, 'lobby'),
    ];
    const vouched = await subscribeOn('ws', server, { ticket: await ticketFor({ 'x-switchboard-key': API_KEY }, { user: 'carol' }) }, 'lobby');
    for (const session of sessions) await expectExpiredAt(session, deadlineOf(exp));
    await vouched.waitForSeq(await publish(server, 'lobby', 'carol is still here'));
  });

  it('accounts: a session on an access token ends when the token does', async () => {
    const server = await startTestServer({
      overrides: { auth: 'accounts', accounts: { accessTokenTtlSeconds: 2 }, jwt: { clockToleranceSeconds: TOLERANCE_S } },
    });
    const response = await fetch(`${server.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'dana', password: 'correct horse battery' }),
    });
    const { accessToken, expiresAt } = (await response.json()) as { accessToken: string; expiresAt: number };
    const dana = await connectWithToken(server, accessToken);
    await dana.ok('channel.create', { channel: 'notes', channelType: 'private' });
    const session = await subscribeOn('ws', server, { token: accessToken }, 'notes');
    await expectExpiredAt(session, expiresAt + TOLERANCE_S * 1000);
    const error = (await dana.waitUntil(() => dana.closeCode !== null && dana.frames.find((f) => f.type === 'error' && f.id === null)))!;
    expect(error).toMatchObject({ code: 'unauthorized', message: 'The token expired.' });
    expect(dana.closeCode).toBe(4401);
  });
});
