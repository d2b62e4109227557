import * as grpc from '@grpc/grpc-js';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Config, DeepPartial } from '../src/config.js';
import { call, failure, grpcClient, StreamRecorder, track } from './helpers/grpc-test-client.js';
import { type Decide, expectAnsweredAtTimeout, startGrpcBackend, startHttpBackend, type TestBackend, timeoutClock } from './helpers/hook-backend.js';
import { createClient } from '../client/src/index.js';
import { TEST_BACKOFF, useSdkClients } from './helpers/sdk-clients.js';
import { SseClient } from './helpers/sse-client.js';
import { Waiters } from './helpers/waiters.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

const SECRET = 'jwt-secret-for-backend-hook-tests-0123';
const API_KEY = 'api-key-for-backend-hook-tests-0123';
/** The hook timeout of the cases that measure it, against a backend that never answers. */
const TIMEOUT_MS = 300;
/** Everywhere else: long enough that a loaded machine never turns an answer into `unavailable`. */
const PATIENT_MS = 10_000;

/** How late `unavailable` may arrive past the timeout (docs/backend-hooks.md: never a hang). */
function token(user: string): Promise<string> {
  return new SignJWT({ sub: user, name: user }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
}

/** The backend's default: allow everything, say nothing. */
const allowAll: Decide = (hook, request) => (hook === 'connect' ? { result: { user: String(request.user ?? 'guest') } } : { result: {} });

const BACKENDS = { http: startHttpBackend, grpc: startGrpcBackend } as const;

/** A server whose hooks call `backend` as `app`; `namespaces` may name it in their `hooks`. */
async function serverWith(
  backend: TestBackend,
  hooks: DeepPartial<Config['hooks']>,
  { timeoutMs = PATIENT_MS, namespaces = {} }: { timeoutMs?: number; namespaces?: DeepPartial<Config['namespaces']> } = {},
): Promise<TestServer> {
  return startTestServer({
    overrides: {
      auth: 'jwt',
      jwt: { secret: SECRET },
      apiKeys: [API_KEY],
      transports: ['ws', 'http', 'sse', 'grpc'],
      grpcPort: 0,
      hooks: { backends: { app: { ...backend.settings, timeoutMs, retries: 1 } }, ...hooks } as never,
      namespaces: namespaces as never,
    },
  });
}

async function createChannel(server: TestServer, channel: string): Promise<void> {
  const response = await fetch(`${server.url}/api/channels`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-switchboard-key': API_KEY },
    body: JSON.stringify({ channel, channelType: 'public' }),
  });
  expect(response.status).toBe(201);
}

async function deleteChannel(server: TestServer, channel: string): Promise<void> {
  const response = await fetch(`${server.url}/api/channels/${encodeURIComponent(channel)}`, { method: 'DELETE', headers: { 'x-switchboard-key': API_KEY } });
  expect(response.status).toBe(204);
}

async function serverPublish(server: TestServer, channel: string, text: string): Promise<number> {
  const response = await fetch(`${server.url}/api/channels/${encodeURIComponent(channel)}/messages`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-switchboard-key': API_KEY },
    body: JSON.stringify({ text }),
  });
  expect(response.status).toBe(201);
  return ((await response.json()) as { seq: number }).seq;
}

for (const [kind, start] of Object.entries(BACKENDS)) {
  describe(`backend hooks over ${kind}`, () => {
    const clients = useWsClients();

    async function wsAs(server: TestServer, user: string): Promise<WsTestClient> {
      const client = clients.open(server.wsUrl, { headers: { authorization: `Bearer ${await token(user)}` } });
      await client.waitFor((f) => f.type === 'welcome');
      return client;
    }

    it('connect: the backend names a client that presented no token, from the auth data, headers and cookies it forwarded', async () => {
      const backend = await start((hook, request) =>
        hook === 'connect' ? { result: { user: 'from-backend', name: 'Backend Named', info: { plan: 'pro' } } } : { result: {} },
      );
      const server = await serverWith(backend, { connect: 'app', forwardHeaders: ['x-app'], forwardCookies: ['sid'] });
      const client = clients.open(server.wsUrl, { headers: { 'x-app': 'seven', cookie: 'sid=abc%20d; other=no' } });
      await client.opened;
      const welcome = await client.ok<{ user: string; name: string }>('auth', { data: { room: 42 } });
      expect(welcome).toMatchObject({ user: 'from-backend', name: 'Backend Named' });
      const seen = await backend.waitForCall((c) => c.hook === 'connect');
      expect(seen.request).toMatchObject({ transport: 'ws', headers: { 'x-app': 'seven' }, cookies: { sid: 'abc d' }, data: { room: 42 } });
      expect(seen.request.user ?? null).toBeNull();
      if (kind === 'http') expect(seen.signed).toBe(true);
    });

    it('connect: with a verified token the backend is told the user, and may not swap it', async () => {
      const backend = await start((hook, request) => (hook === 'connect' ? { result: { user: request.user === 'alice' ? 'alice' : 'mallory' } } : { result: {} }));
      const server = await serverWith(backend, { connect: 'app' });
      const alice = await wsAs(server, 'alice');
      expect(alice.frames.find((f) => f.type === 'welcome')).toMatchObject({ user: 'alice' });
      backend.decide = () => ({ result: { user: 'mallory' } });
      const bob = clients.open(server.wsUrl);
      await bob.opened;
      const refused = await bob.request('auth', { token: await token('bob') });
      expect(refused).toMatchObject({ type: 'error', code: 'forbidden' });
    });

    it('connect: a refusal reaches the client with the backend code and message, on /ws, SSE and a gRPC stream', async () => {
      const backend = await start((hook) => (hook === 'connect' ? { error: { code: 'unauthorized', message: 'Session cookie expired.' } } : { result: {} }));
      const server = await serverWith(backend, { connect: 'app' });
      const ws = clients.open(server.wsUrl);
      await ws.opened;
      expect(await ws.request('auth', {})).toMatchObject({ type: 'error', code: 'unauthorized', message: 'Session cookie expired.' });

      const sse = new SseClient(`${server.url}/sse?channels=general`);
      await sse.responded;
      await sse.waitUntil(() => sse.ended || sse.body.length > 0, 'refusal');
      expect(sse.status).toBe(401);
      expect(JSON.parse(sse.body)).toMatchObject({ code: 'unauthorized', message: 'Session cookie expired.' });

      const client = track(grpcClient(server));
      const stream = new StreamRecorder(client, { channel: 'general' }, new grpc.Metadata());
      const status = await stream.ended;
      expect(status.code).toBe(grpc.status.UNAUTHENTICATED);
      expect(status.details).toBe('Session cookie expired.');

      // A backend code outside Switchboard's: forbidden, the backend's code in details.
      backend.decide = () => ({ error: { code: 'account_locked', message: 'Locked.' } });
      const again = clients.open(server.wsUrl);
      await again.opened;
      expect(await again.request('auth', {})).toMatchObject({ code: 'forbidden', message: 'Locked.', details: { backendCode: 'account_locked' } });
    });

    it('connect: a backend that does not answer gives `unavailable`, not before the timeout', async () => {
      const backend = await start((hook) => (hook === 'connect' ? 'hang' : { result: {} }));
      const server = await serverWith(backend, { connect: 'app' }, { timeoutMs: TIMEOUT_MS });
      const client = clients.open(server.wsUrl);
      await client.opened;
      const clock = timeoutClock(TIMEOUT_MS);
      const reply = await client.request('auth', {});
      expect(reply).toMatchObject({ type: 'error', code: 'unavailable', details: { hook: 'connect' } });
      await expectAnsweredAtTimeout(clock);
    });

    it('subscribe: allows with info shown in presence, refuses with the backend code and message, on /ws, SSE and gRPC', async () => {
      const backend = await start((hook, request) => {
        if (hook !== 'subscribe') return allowAll(hook, request);
        if (request.user === 'eve') return { error: { code: 'forbidden', message: 'Eve may not watch rooms.' } };
        return { result: { info: { seat: `${request.user}-seat` } } };
      });
      const server = await serverWith(backend, {}, { namespaces: { room: { hooks: { subscribe: 'app' } } } });
      await createChannel(server, 'room:1');
      const alice = await wsAs(server, 'alice');
      await alice.ok('subscribe', { channel: 'room:1' });
      const bob = await wsAs(server, 'bob');
      await bob.ok('subscribe', { channel: 'room:1' });
      const presence = await alice.waitFor((f) => f.type === 'presence' && (f as { user?: string }).user === 'bob');
      expect(presence).toMatchObject({ action: 'join', info: { seat: 'bob-seat' } });
      expect(backend.calls.find((c) => c.hook === 'subscribe')!.request).toMatchObject({ channel: 'room:1', user: 'alice', transport: 'ws' });

      const eve = await wsAs(server, 'eve');
      expect(await eve.request('subscribe', { channel: 'room:1' })).toMatchObject({ code: 'forbidden', message: 'Eve may not watch rooms.' });
      const sse = new SseClient(`${server.url}/sse?channels=room:1`, { headers: { authorization: `Bearer ${await token('eve')}` } });
      await sse.waitUntil(() => sse.messages.some((m) => m.event === 'error') || sse.ended, 'error event');
      expect(sse.messages.find((m) => m.event === 'error')?.data ?? sse.body).toContain('Eve may not watch rooms.');
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${await token('eve')}`);
      const stream = new StreamRecorder(track(grpcClient(server)), { channel: 'room:1' }, metadata);
      const status = await stream.ended;
      expect(status.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(status.details).toBe('Eve may not watch rooms.');
      // No hook for channels outside the namespace.
      const before = backend.calls.length;
      await createChannel(server, 'plain');
      await alice.ok('subscribe', { channel: 'plain' });
      expect(backend.calls.length).toBe(before);
    });

    it('publish: the stored event is what the backend returned; a refusal stores nothing; on /ws, REST and gRPC', async () => {
      const backend = await start((hook, request) => {
        if (hook !== 'publish') return allowAll(hook, request);
        if (request.text === 'spam') return { error: { code: 'bad_request', message: 'No spam here.' } };
        return { result: { text: String(request.text).toUpperCase(), data: { checked: true } } };
      });
      const server = await serverWith(backend, { channelDefault: { publish: 'app' } });
      await createChannel(server, 'general');
      const alice = await wsAs(server, 'alice');
      await alice.ok('publish', { channel: 'general', text: 'hello' });
      expect(await alice.request('publish', { channel: 'general', text: 'spam' })).toMatchObject({ code: 'bad_request', message: 'No spam here.' });
      const rest = await fetch(`${server.url}/api/channels/general/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('bob')}` },
        body: JSON.stringify({ text: 'via rest' }),
      });
      expect(rest.status).toBe(201);
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${await token('carol')}`);
      await call(track(grpcClient(server)), 'Publish', { channel: 'general', text: 'via grpc' }, metadata);
      const history = await alice.ok<{ events: { text: string; data: unknown }[] }>('history', { channel: 'general' });
      expect(history.events.map((e) => e.text)).toEqual(['HELLO', 'VIA REST', 'VIA GRPC']);
      expect(history.events.every((e) => JSON.stringify(e.data) === '{"checked":true}')).toBe(true);
      // The app's own API key is not hooked.
      const calls = backend.calls.length;
      await serverPublish(server, 'general', 'from the backend');
      expect(backend.calls.length).toBe(calls);
    });

    it('publish.batch: each message to a hooked channel is allowed, refused or rewritten on its own, on /ws, REST and gRPC', async () => {
      const backend = await start((hook, request) => {
        if (hook !== 'publish') return allowAll(hook, request);
        if (request.text === 'spam') return { error: { code: 'bad_request', message: 'No spam here.' } };
        if (request.text === 'shout') return { result: { text: 'SHOUT' } };
        return { result: {} };
      });
      const server = await serverWith(backend, {}, { namespaces: { room: { hooks: { publish: 'app' } } } });
      await createChannel(server, 'room:1');
      await createChannel(server, 'plain');
      const messages = (wire: string) => [
        { channel: 'room:1', text: `${wire} as sent` },
        { channel: 'room:1', text: 'spam' },
        { channel: 'room:1', text: 'shout' },
        { channel: 'plain', text: 'spam' }, // no hook here: stored as sent
      ];
      const expected = [
        expect.objectContaining({ ok: true, channel: 'room:1' }),
        { ok: false, code: 'bad_request', message: 'No spam here.' },
        expect.objectContaining({ ok: true, channel: 'room:1' }),
        expect.objectContaining({ ok: true, channel: 'plain' }),
      ];
      const alice = await wsAs(server, 'alice');
      expect((await alice.ok<{ results: unknown[] }>('publish.batch', { messages: messages('ws') })).results).toEqual(expected);
      const rest = await fetch(`${server.url}/api/messages/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('bob')}` },
        body: JSON.stringify({ messages: messages('rest') }),
      });
      expect(((await rest.json()) as { results: unknown[] }).results).toEqual(expected);
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${await token('carol')}`);
      const grpcBatch = await call<{ results: Record<string, unknown>[] }>(track(grpcClient(server)), 'PublishBatch', { messages: messages('grpc') }, metadata);
      expect(grpcBatch.results.map((r) => r.ok)).toEqual([true, false, true, true]);
      expect(grpcBatch.results[1]).toMatchObject({ code: 'ERROR_CODE_BAD_REQUEST', message: 'No spam here.' });

      const texts = async (channel: string) => (await alice.ok<{ events: { text: string }[] }>('history', { channel })).events.map((e) => e.text);
      expect(await texts('room:1')).toEqual(['ws as sent', 'SHOUT', 'rest as sent', 'SHOUT', 'grpc as sent', 'SHOUT']);
      expect(await texts('plain')).toEqual(['spam', 'spam', 'spam']);
      // Three hooked messages per batch, each asked about once; the unhooked channel never.
      expect(backend.calls.filter((c) => c.hook === 'publish').map((c) => c.request.channel)).toEqual(Array(9).fill('room:1'));
    });

    it('publish: a hook that does not answer in time gives `unavailable` and stores nothing', async () => {
      const backend = await start((hook, request) => (hook === 'publish' ? 'hang' : allowAll(hook, request)));
      const server = await serverWith(backend, { channelDefault: { publish: 'app' } }, { timeoutMs: TIMEOUT_MS });
      await createChannel(server, 'general');
      const alice = await wsAs(server, 'alice');
      const clock = timeoutClock(TIMEOUT_MS);
      expect(await alice.request('publish', { channel: 'general', text: 'lost' })).toMatchObject({ code: 'unavailable' });
      await expectAnsweredAtTimeout(clock);
      expect((await alice.ok<{ events: unknown[] }>('history', { channel: 'general' })).events).toEqual([]);
    });

    it('rpc: answers with the backend reply, refuses, times out, on /ws, REST and gRPC', async () => {
      const backend = await start((hook, request) => {
        if (hook !== 'rpc') return allowAll(hook, request);
        if (request.method === 'slow') return 'hang';
        if (request.method === 'deny') return { error: { code: 'forbidden', message: 'Not on your plan.' } };
        return { result: { data: { echo: request.data, by: request.user } } };
      });
      const server = await serverWith(backend, { rpc: 'app' });
      const alice = await wsAs(server, 'alice');
      expect(await alice.ok('rpc', { method: 'echo', data: [1, 2] })).toEqual({ data: { echo: [1, 2], by: 'alice' } });
      expect(await alice.request('rpc', { method: 'deny' })).toMatchObject({ code: 'forbidden', message: 'Not on your plan.' });
      // Timing out is measured on a server of its own with the short timeout.
      const hasty = await serverWith(backend, { rpc: 'app' }, { timeoutMs: TIMEOUT_MS });
      const hastyAlice = await wsAs(hasty, 'alice');
      const clock = timeoutClock(TIMEOUT_MS);
      expect(await hastyAlice.request('rpc', { method: 'slow' })).toMatchObject({ code: 'unavailable', details: { hook: 'rpc' } });
      await expectAnsweredAtTimeout(clock);

      const rest = await fetch(`${server.url}/api/rpc`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${await token('bob')}` },
        body: JSON.stringify({ method: 'echo', data: 'hi' }),
      });
      expect(await rest.json()).toEqual({ data: { echo: 'hi', by: 'bob' } });
      const metadata = new grpc.Metadata();
      metadata.set('authorization', `Bearer ${await token('carol')}`);
      const client = track(grpcClient(server));
      // gRPC carries JSON as google.protobuf.Value.
      const reply = await call(client, 'Rpc', { method: 'echo', data: { structValue: { fields: { a: { numberValue: 1 } } } } }, metadata);
      expect(reply).toMatchObject({
        data: { structValue: { fields: { echo: { structValue: { fields: { a: { numberValue: 1 } } } }, by: { stringValue: 'carol' } } } },
      });
      const denied = await failure(call(client, 'Rpc', { method: 'deny' }, metadata));
      expect(denied.code).toBe(grpc.status.PERMISSION_DENIED);
      expect(denied.details).toBe('Not on your plan.');
    });

    it('a backend that is down: hooked actions get `unavailable` at once, connections that need no hook work', async () => {
      const backend = await start(allowAll);
      const server = await serverWith(backend, { rpc: 'app' }, { namespaces: { room: { hooks: { subscribe: 'app' } } } });
      await createChannel(server, 'room:1');
      await createChannel(server, 'general');
      await backend.stop();
      const alice = await wsAs(server, 'alice');
      expect(await alice.request('subscribe', { channel: 'room:1' })).toMatchObject({ code: 'unavailable' });
      expect(await alice.request('rpc', { method: 'x' })).toMatchObject({ code: 'unavailable' });
      await alice.ok('subscribe', { channel: 'general' });
      const seq = await serverPublish(server, 'general', 'still here');
      await alice.waitFor((f) => f.type === 'event' && (f as { seq?: number }).seq === seq);
      // Counted per hook in /metrics.
      const metrics = await (await fetch(`${server.url}/metrics`, { headers: { 'x-switchboard-key': API_KEY } })).text();
      expect(metrics).toMatch(/switchboard_hook_calls_total\{hook="subscribe",outcome="failed"\} 1\b/);
      expect(metrics).toMatch(/switchboard_hook_duration_seconds_count\{hook="rpc"\} 1\b/);
    });

    it('refresh: a refusal ends the session with the backend code (its close code)', async () => {
      const backend = await start((hook, request) => {
        if (hook === 'connect') return { result: { user: 'alice', expiresAt: Date.now() + 60_000 } };
        if (hook === 'refresh') return { error: { code: 'forbidden', message: 'Subscription cancelled.' } };
        return allowAll(hook, request);
      });
      const server = await serverWith(backend, { connect: 'app', refresh: 'app', refreshBeforeMs: 59_900 });
      const client = clients.open(server.wsUrl);
      await client.opened;
      await client.ok('auth', {});
      expect(await client.closed).toBe(4403);
      expect(client.frames.find((f) => f.type === 'error' && f.id === null)).toMatchObject({ code: 'forbidden', message: 'Subscription cancelled.' });
    });

    it('refresh: an answer moves the session end', async () => {
      const later = Date.now() + 3_600_000;
      const backend = await start((hook, request) => {
        if (hook === 'connect') return { result: { user: 'alice', expiresAt: Date.now() + 60_000 } };
        if (hook === 'refresh') return { result: { expiresAt: later } };
        return allowAll(hook, request);
      });
      const server = await serverWith(backend, { connect: 'app', refresh: 'app', refreshBeforeMs: 59_900 });
      const client = clients.open(server.wsUrl);
      await client.opened;
      await client.ok('auth', {});
      await backend.waitForCall((c) => c.hook === 'refresh');
      // The session's end moves once the backend's answer is in: asked again after each round trip.
      const moved = () => [...server.hub.sessionsOf('alice')][0]?.principal.expiresAt === later;
      for (let round = 0; round < 200 && !moved(); round++) await client.ok('ping');
      expect(moved()).toBe(true);
    });

    it('server-side subscriptions from the connect hook resume gap-free after a reconnect', async () => {
      const backend = await start((hook, request) => (hook === 'connect' ? { result: { user: 'alice', channels: ['feed:alice'] } } : allowAll(hook, request)));
      const server = await serverWith(backend, { connect: 'app' });
      await createChannel(server, 'feed:alice');
      const first = clients.open(server.wsUrl);
      await first.opened;
      const welcome = await first.ok<{ subscriptions: { channel: string; seq: number }[] }>('auth', {});
      expect(welcome.subscriptions).toEqual([{ channel: 'feed:alice', seq: 0, epoch: 1 }]);
      for (const text of ['one', 'two', 'three']) await serverPublish(server, 'feed:alice', text);
      await first.waitUntil(() => first.events('feed:alice').length === 3);
      const last = first.events('feed:alice').at(-1)!.seq;
      await first.close();
      for (const text of ['four', 'five']) await serverPublish(server, 'feed:alice', text);
      const second = clients.open(server.wsUrl);
      await second.opened;
      await second.ok('auth', { positions: { 'feed:alice': last } });
      await serverPublish(server, 'feed:alice', 'six');
      await second.waitUntil(() => second.events('feed:alice').length === 3);
      expect(second.events('feed:alice').map((e) => [e.seq, e.text])).toEqual([
        [4, 'four'],
        [5, 'five'],
        [6, 'six'],
      ]);
    });
  });
}

describe('hooks per namespace', () => {
  const clients = useWsClients();
  it("a namespace's hooks, none for a namespace configured without, hooks.channelDefault for every other channel", async () => {
    const backend = await startHttpBackend((hook, request) => (hook === 'publish' ? { result: { text: `${String(request.channel)} checked` } } : { result: {} }));
    const server = await serverWith(
      backend,
      { channelDefault: { publish: 'app' } },
      { namespaces: { room: { hooks: { subscribe: 'app', publish: 'app' } }, quiet: {} } },
    );
    for (const channel of ['room:1', 'quiet:1', 'lobby', 'other:1']) await createChannel(server, channel);
    const alice = clients.open(server.wsUrl, { headers: { authorization: `Bearer ${await token('alice')}` } });
    await alice.waitFor((f) => f.type === 'welcome');
    for (const channel of ['room:1', 'quiet:1', 'lobby', 'other:1']) {
      await alice.ok('subscribe', { channel });
      await alice.ok('publish', { channel, text: 'hi' });
    }
    expect(backend.calls.map((c) => `${c.hook} ${String(c.request.channel)}`)).toEqual([
      'subscribe room:1',
      'publish room:1',
      'publish lobby',
      'publish other:1',
    ]);
    const texts = async (channel: string) => (await alice.ok<{ events: { text: string }[] }>('history', { channel })).events.map((e) => e.text);
    expect(await texts('room:1')).toEqual(['room:1 checked']);
    expect(await texts('quiet:1')).toEqual(['hi']);
    expect(await texts('lobby')).toEqual(['lobby checked']);
  });
});

describe('server-side subscriptions on SSE', () => {
  it('/sse carries the connect hook channels beside those named, resumes them from Last-Event-ID gap-free, reports one it cannot subscribe', async () => {
    const backend = await startHttpBackend((hook, request) =>
      hook === 'connect' ? { result: { user: 'alice', channels: ['feed:alice', 'missing:1'] } } : allowAll(hook, request),
    );
    const server = await serverWith(backend, { connect: 'app' });
    await createChannel(server, 'feed:alice');
    await createChannel(server, 'general');
    const first = new SseClient(`${server.url}/sse?channels=general`);
    await first.ready();
    const ready = JSON.parse(first.messages.find((m) => m.event === 'ready')!.data) as unknown;
    // Epochs of the channels the client named (server-side ones resume by seq alone).
    expect(ready).toEqual({ channels: { general: 0, 'feed:alice': 0 }, epochs: { general: 1 } });
    const refused = first.messages.find((m) => m.event === 'unsubscribed');
    expect(JSON.parse(refused!.data)).toMatchObject({ channel: 'missing:1', code: 'not_found' });
    for (const text of ['one', 'two']) await serverPublish(server, 'feed:alice', text);
    await serverPublish(server, 'general', 'hello');
    await first.waitUntil(() => first.events().length === 3, 'three events');
    const resumeFrom = first.lastEventId!;
    first.close();
    for (const text of ['three', 'four']) await serverPublish(server, 'feed:alice', text);

    // Only the server-side channels this time (no ?channels): the id's general position is dropped.
    const second = new SseClient(`${server.url}/sse`, { headers: { 'last-event-id': resumeFrom } });
    await second.ready();
    await serverPublish(server, 'feed:alice', 'five');
    await second.waitUntil(() => second.events().length === 3, 'three events after the resume');
    expect(second.events<{ channel: string; seq: number; text: string }>().map((e) => [e.channel, e.seq, e.text])).toEqual([
      ['feed:alice', 3, 'three'],
      ['feed:alice', 4, 'four'],
      ['feed:alice', 5, 'five'],
    ]);
    // /stream/:channel is that one channel: no server-side subscriptions ride along.
    const single = new SseClient(`${server.url}/stream/general`);
    await single.ready();
    expect(JSON.parse(single.messages.find((m) => m.event === 'ready')!.data)).toEqual({ channels: { general: 1 }, epochs: { general: 1 } });
  });
});

describe('server-side subscriptions from a token claim', () => {
  const clients = useWsClients();
  it('subscribes the connection to the channels claim at connect', async () => {
    const server = await startTestServer({ overrides: { auth: 'jwt', jwt: { secret: SECRET }, apiKeys: [API_KEY] } });
    await createChannel(server, 'news');
    const jwt = await new SignJWT({ sub: 'dave', channels: ['news'] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
    const client = clients.open(server.wsUrl);
    await client.opened;
    expect(await client.ok('auth', { token: jwt })).toMatchObject({ subscriptions: [{ channel: 'news', seq: 0 }] });
    const seq = await serverPublish(server, 'news', 'extra');
    await client.waitFor((f) => f.type === 'event' && (f as { seq?: number }).seq === seq);
  });

  it('a position in a deleted epoch is not resumed: channelDeleted for it, then every event of the new epoch from seq 1', async () => {
    const server = await startTestServer({ overrides: { auth: 'jwt', jwt: { secret: SECRET }, apiKeys: [API_KEY] } });
    await createChannel(server, 'news');
    const jwt = await new SignJWT({ sub: 'dave', channels: ['news'] }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('10m').sign(new TextEncoder().encode(SECRET));
    const first = clients.open(server.wsUrl);
    await first.opened;
    expect(await first.ok('auth', { token: jwt })).toMatchObject({ subscriptions: [{ channel: 'news', seq: 0, epoch: 1 }] });
    for (const text of ['old 1', 'old 2', 'old 3']) await serverPublish(server, 'news', text);
    await first.waitUntil(() => first.events('news').length === 3);
    await first.close();

    await deleteChannel(server, 'news');
    await createChannel(server, 'news');
    // Four events, so the old position (3) lies inside the new epoch's log: resumed there, seq 4 alone would come.
    for (const text of ['new 1', 'new 2', 'new 3', 'new 4']) await serverPublish(server, 'news', text);
    const second = clients.open(server.wsUrl);
    await second.opened;
    const welcome = await second.ok('auth', { token: jwt, positions: { news: 3 }, epochs: { news: 1 } });
    expect(welcome).toMatchObject({ subscriptions: [{ channel: 'news', seq: 4, epoch: 2 }] });
    await serverPublish(server, 'news', 'new 5');
    await second.waitUntil(() => second.events('news').length === 5);
    expect(second.events('news').map((e) => [e.seq, e.text])).toEqual([
      [1, 'new 1'],
      [2, 'new 2'],
      [3, 'new 3'],
      [4, 'new 4'],
      [5, 'new 5'],
    ]);
    // Told first, so a client drops the old position before the new epoch's seq 1 comes.
    const deleted = second.frames.findIndex((f) => f.type === 'channelDeleted');
    expect(second.frames[deleted]).toMatchObject({ channel: 'news', epoch: 1 });
    expect(deleted).toBeLessThan(second.frames.findIndex((f) => f.type === 'event'));
    // A position of the current epoch resumes as before.
    await second.close();
    const third = clients.open(server.wsUrl);
    await third.opened;
    await third.ok('auth', { token: jwt, positions: { news: 4 }, epochs: { news: 2 } });
    await third.waitUntil(() => third.events('news').length === 1);
    expect(third.events('news').map((e) => e.text)).toEqual(['new 5']);
    expect(third.frames.some((f) => f.type === 'channelDeleted')).toBe(false);
  });
});

describe('the SDK with backend hooks', () => {
  const sdk = useSdkClients();
  it('connects with authData alone, calls rpc(), and gets server-side events as typed events, resumed gap-free after a drop', async () => {
    const backend = await startHttpBackend((hook, request) => {
      if (hook === 'connect') return { result: { user: String((request.data as { me: string }).me), channels: ['feed:erin'] } };
      if (hook === 'rpc') return { result: { data: { total: 42 } } };
      return { result: {} };
    });
    const server = await serverWith(backend, { connect: 'app', rpc: 'app' });
    await createChannel(server, 'feed:erin');
    const proxy = await sdk.proxy(server.port);
    const client = sdk.track(createClient({ url: `ws://127.0.0.1:${proxy.port}/ws`, authData: { me: 'erin' }, backoff: TEST_BACKOFF }));
    const seen: [number, string | null][] = [];
    const waiters = new Waiters();
    client.on('serverEvent', (event) => {
      seen.push([event.seq, event.text]);
      waiters.wake();
    });
    await client.ready();
    expect(client.welcome).toMatchObject({ user: 'erin', subscriptions: [{ channel: 'feed:erin', seq: 0 }] });
    expect(await client.rpc<{ total: number }>('cart.total', { cart: 7 })).toEqual({ total: 42 });
    await serverPublish(server, 'feed:erin', 'one');
    await waiters.until(() => seen.length === 1, 10_000, 'first event');
    expect(proxy.dropAll()).toBeGreaterThan(0);
    await serverPublish(server, 'feed:erin', 'two');
    await serverPublish(server, 'feed:erin', 'three');
    await waiters.until(() => seen.length === 3, 10_000, () => `events: ${JSON.stringify(seen)}`);
    await serverPublish(server, 'feed:erin', 'four');
    await waiters.until(() => seen.length === 4, 10_000, () => `events: ${JSON.stringify(seen)}`);
    expect(seen).toEqual([
      [1, 'one'],
      [2, 'two'],
      [3, 'three'],
      [4, 'four'],
    ]);
  });

  it('resumes a server-side subscription across a delete and re-create from seq 1 of the new epoch', async () => {
    const backend = await startHttpBackend((hook) => (hook === 'connect' ? { result: { user: 'erin', channels: ['feed:erin'] } } : { result: {} }));
    const server = await serverWith(backend, { connect: 'app' });
    await createChannel(server, 'feed:erin');
    const proxy = await sdk.proxy(server.port);
    const client = sdk.track(createClient({ url: `ws://127.0.0.1:${proxy.port}/ws`, authData: {}, backoff: TEST_BACKOFF }));
    const seen: [number, string | null][] = [];
    const deleted: unknown[] = [];
    const waiters = new Waiters();
    client.on('serverEvent', (event) => {
      seen.push([event.seq, event.text]);
      waiters.wake();
    });
    client.on('deleted', (event) => deleted.push(event));
    await client.ready();
    expect(client.welcome?.subscriptions).toEqual([{ channel: 'feed:erin', seq: 0, epoch: 1 }]);
    for (const text of ['old 1', 'old 2', 'old 3']) await serverPublish(server, 'feed:erin', text);
    await waiters.until(() => seen.length === 3, 10_000, 'old events');

    // Away while the channel is deleted and made again: the next connection resumes with epoch 1's position.
    proxy.refuse();
    expect(proxy.dropAll()).toBeGreaterThan(0);
    await deleteChannel(server, 'feed:erin');
    await createChannel(server, 'feed:erin');
    for (const text of ['new 1', 'new 2', 'new 3', 'new 4']) await serverPublish(server, 'feed:erin', text);
    proxy.accept();
    await waiters.until(() => seen.length === 7, 10_000, () => `events: ${JSON.stringify(seen)}`);
    await serverPublish(server, 'feed:erin', 'new 5');
    await waiters.until(() => seen.length === 8, 10_000, () => `events: ${JSON.stringify(seen)}`);
    expect(seen).toEqual([
      [1, 'old 1'],
      [2, 'old 2'],
      [3, 'old 3'],
      [1, 'new 1'],
      [2, 'new 2'],
      [3, 'new 3'],
      [4, 'new 4'],
      [5, 'new 5'],
    ]);
    expect(deleted).toEqual([{ channel: 'feed:erin', epoch: 1, at: expect.any(Number) }]);
    expect(client.welcome?.subscriptions).toEqual([{ channel: 'feed:erin', seq: 4, epoch: 2 }]);
  });
});
