import { SignJWT } from 'jose';
import { mkdtempSync, rmSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { loadConfig } from '../src/config.js';
import { startServer } from '../src/server.js';
import { freePort } from './helpers/private-redis.js';
import { startTestServer } from './helpers/test-server.js';
import { useWsClients } from './helpers/ws-test-client.js';

const API_KEY = 'ops-test-key-0123456789';

const clients = useWsClients();

/** Prometheus text as `name{labels}` -> value (labels in the order the registry writes them). */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const cut = line.lastIndexOf(' ');
    samples.set(line.slice(0, cut), Number(line.slice(cut + 1)));
  }
  return samples;
}

async function scrape(url: string, key: string | null = API_KEY): Promise<Map<string, number>> {
  const response = await fetch(`${url}/metrics`, { headers: key ? { 'x-switchboard-key': key } : {} });
  expect(response.status).toBe(200);
  expect(response.headers.get('content-type')).toContain('text/plain');
  return parse(await response.text());
}

function moved(before: Map<string, number>, after: Map<string, number>, sample: string): number {
  return (after.get(sample) ?? 0) - (before.get(sample) ?? 0);
}

describe('/metrics', () => {
  it('counts a known workload exactly: publishes, deliveries, commits, latency, auth failures, rate limits', async () => {
    const server = await startTestServer({
      overrides: { apiKeys: [API_KEY], limits: { messagesPerSecond: 1, messageBurst: 40 } },
    });
    const alice = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    const carol = await clients.connect(server.wsUrl, 'carol');
    await alice.ok('channel.create', { channel: 'm', channelType: 'public' });
    for (const client of [alice, bob, carol]) await client.ok('subscribe', { channel: 'm' });

    const before = await scrape(server.url);
    expect(before.get('switchboard_sessions{transport="ws"}')).toBe(3);
    expect(before.get('switchboard_connections{transport="ws"}')).toBe(3);
    expect(before.get('switchboard_subscriptions')).toBe(1 * 3);
    expect(before.get('switchboard_channels_with_subscribers')).toBe(1);
    // Node's default metrics ride along.
    expect(before.has('switchboard_process_cpu_user_seconds_total')).toBe(true);

    // 10 messages, each to 3 subscribers; a retried cid is stored (and counted) once.
    for (let i = 1; i <= 10; i++) await alice.ok('publish', { channel: 'm', text: `m${i}`, cid: `c${i}` });
    const retry = await alice.ok<{ duplicate: boolean }>('publish', { channel: 'm', text: 'm10', cid: 'c10' });
    expect(retry.duplicate).toBe(true);
    for (const client of [alice, bob, carol]) await client.waitUntil(() => client.events('m').length === 10);

    // Two refused authentications: a bad ticket, and a bad user name.
    const refused = clients.open(`${server.wsUrl}?ticket=not-a-ticket`);
        expect(await refused.closed).toBe(4401);
    const badName = clients.open(`${server.wsUrl}?user=${encodeURIComponent('no spaces allowed!')}`);
        await badName.closed;

    // A flood past the burst: every refused frame is one rate-limit rejection.
    const flooder = await clients.connect(server.wsUrl, 'flooder');
    const replies = await Promise.all(Array.from({ length: 50 }, () => flooder.request('ping')));
    const limited = replies.filter((r) => r.type === 'error' && r.code === 'rate_limited').length;
    expect(limited).toBeGreaterThan(0);

    const after = await scrape(server.url);
    expect(moved(before, after, 'switchboard_publishes_total{kind="message"}')).toBe(10);
    expect(moved(before, after, 'switchboard_deliveries_total{transport="ws"}')).toBe(30);
    expect(moved(before, after, 'switchboard_publish_to_deliver_seconds_count')).toBe(10);
    // The retry still goes through a commit (the store finds its cid): 11 appends written.
    expect(moved(before, after, 'switchboard_store_commit_batch_size_sum')).toBe(11);
    expect(moved(before, after, 'switchboard_store_commit_batch_size_count')).toBeGreaterThanOrEqual(1);
    expect(moved(before, after, 'switchboard_store_commit_seconds_count')).toBe(
      moved(before, after, 'switchboard_store_commit_batch_size_count'),
    );
    expect(moved(before, after, 'switchboard_auth_failures_total{reason="unauthorized",credential="ticket"}')).toBe(1);
    const authFailures = [...after].filter(([name]) => name.startsWith('switchboard_auth_failures_total'));
    expect(authFailures.reduce((sum, [, value]) => sum + value, 0)).toBe(2);
    expect(moved(before, after, 'switchboard_rate_limited_total{transport="ws"}')).toBe(limited);
    expect(after.get('switchboard_sessions{transport="ws"}')).toBe(4);
    expect(after.get('switchboard_send_queue_bytes')).toBeGreaterThanOrEqual(0);
  });

  it('refuses a scrape without an API key, or with a user instead of a key', async () => {
    const secret = 'ops-test-jwt-secret-0123456789abcdef';
    const server = await startTestServer({ overrides: { auth: 'jwt', jwt: { secret }, apiKeys: [API_KEY] } });
    const anonymous = await fetch(`${server.url}/metrics`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ code: 'unauthorized' });
    const token = await new SignJWT({ sub: 'mallory' }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(secret));
    const user = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    expect(user.status).toBe(403);
    const wrong = await fetch(`${server.url}/metrics`, { headers: { 'x-switchboard-key': 'wrong-key-0123456789' } });
    expect(wrong.status).toBe(401);
  });

  it('in auth "open" on loopback, answers a plainly local request without a key, and nothing that only looks local', async () => {
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY] } });
    // node:http, not fetch: fetch does not let a caller set Host.
    const get = (path: string, headers: Record<string, string> = {}) =>
      new Promise<{ status: number }>((resolve, reject) => {
        const request = httpGet(`${server.url}${path}`, { headers }, (response) => {
          response.resume();
          resolve({ status: response.statusCode ?? 0 });
        });
        request.once('error', reject);
      });
    expect((await get('/metrics')).status).toBe(200);
    expect((await get('/admin/api/stats')).status).toBe(200);
    const session = await fetch(`${server.url}/admin/api/session`);
    expect(await session.json()).toMatchObject({ signedIn: true, keyless: true, operator: { kind: 'local' } });
    // A DNS name pointed at 127.0.0.1 (rebinding), another site's page, a proxy's request.
    const lookalikes: Record<string, string>[] = [
      { host: 'attacker.example' },
      { origin: 'https://attacker.example' },
      { 'x-forwarded-for': '203.0.113.9' },
      { forwarded: 'for=203.0.113.9' },
    ];
    for (const headers of lookalikes) {
      expect((await get('/metrics', headers)).status, JSON.stringify(headers)).toBe(401);
      expect((await get('/admin/api/stats', headers)).status, JSON.stringify(headers)).toBe(401);
    }
    // A page on the node itself may; a user who names themselves is a user, not an operator.
    expect((await get('/admin/api/stats', { origin: server.url })).status).toBe(200);
    expect((await get('/admin/api/stats', { 'x-switchboard-user': 'eve' })).status).toBe(403);
  });

  it('asks for a key in auth "open" when the node listens beyond loopback', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'switchboard-ops-'));
    const server = await startServer(
      loadConfig({
        overrides: { host: '0.0.0.0', allowOpenAuthOnNetwork: true, port: 0, grpcPort: 0, apiKeys: [API_KEY], logLevel: 'silent', databaseUrl: `sqlite:${join(dir, 'db.sqlite')}`, transports: ['http'] },
      }),
    );
    onTestFinished(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });
    const url = `http://127.0.0.1:${server.port}`;
    expect((await fetch(`${url}/metrics`)).status).toBe(401);
    expect((await fetch(`${url}/admin/api/stats`)).status).toBe(401);
    expect((await fetch(`${url}/metrics`, { headers: { 'x-switchboard-key': API_KEY } })).status).toBe(200);
  });

  it('serves /metrics without a key on its own port when metricsPort is set, and not on the main port', async () => {
    const port = await freePort();
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY], metricsPort: port } });
    const own = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(own.status).toBe(200);
    expect(await own.text()).toContain('switchboard_publishes_total');
    expect((await fetch(`http://127.0.0.1:${port}/admin`)).status).toBe(404);
    expect((await fetch(`${server.url}/metrics`, { headers: { 'x-switchboard-key': API_KEY } })).status).toBe(404);
  });
});

describe('/metrics, limits', () => {
  it('counts a slow consumer cut off with 4408 and shows its queued bytes until then', async () => {
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY], limits: { sendQueueBytes: 64 * 1024, messagesPerSecond: 10_000, messageBurst: 10_000 } } });
    const writer = await clients.connect(server.wsUrl, 'writer');
    await writer.ok('channel.create', { channel: 'big', channelType: 'public' });
    const slow = await clients.connect(server.wsUrl, 'slow');
    await slow.ok('subscribe', { channel: 'big' });
    // Stop reading: the kernel buffers fill, then the node's queue grows past its bound.
    const raw = (slow.socket as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    raw.pause();
    const before = await scrape(server.url);
    const text = 'x'.repeat(4000);
    const cut = 'switchboard_slow_consumer_disconnects_total{transport="ws"}';
    let after = before;
    let queued = 0;
    try {
      // Each publish is acked after its fan-out was queued. The queue lives for only about
      // sendQueueBytes / text.length = 16 publishes before the cut, so look every 4.
      for (let i = 1; i <= 3000 && moved(before, after, cut) === 0; i++) {
        await writer.ok('publish', { channel: 'big', text });
        if (i % 4 === 0) {
          after = await scrape(server.url);
          queued = Math.max(queued, after.get('switchboard_send_queue_bytes') ?? 0);
        }
      }
    } finally {
      raw.resume();
    }
    expect(moved(before, after, cut)).toBe(1);
    expect(queued).toBeGreaterThan(0);
    // The close frame waited behind the queue: the reader gets it once it reads again.
    expect(await slow.closed).toBe(4408);
  });
});

describe('admin view', () => {
  it('serves the page, shows live figures, disconnects a user and closes a channel', async () => {
    const server = await startTestServer({ overrides: { apiKeys: [API_KEY] } });
    const key = { 'x-switchboard-key': API_KEY };
    const page = await fetch(`${server.url}/admin`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('Switchboard admin');
    expect((await fetch(`${server.url}/admin/api/stats`, { headers: { 'x-switchboard-user': 'eve' } })).status).toBe(403);

    const alice = await clients.connect(server.wsUrl, 'alice');
    const aliceAgain = await clients.connect(server.wsUrl, 'alice');
    const bob = await clients.connect(server.wsUrl, 'bob');
    await bob.ok('channel.create', { channel: 'doomed', channelType: 'public' });
    await bob.ok('subscribe', { channel: 'doomed' });
    await alice.ok('subscribe', { channel: 'doomed' });
    await bob.ok('publish', { channel: 'doomed', text: 'hello' });

    const stats = (await (await fetch(`${server.url}/admin/api/stats`, { headers: key })).json()) as Record<string, unknown>;
    expect(stats).toMatchObject({ sessions: 3, subscriptions: 2, channels: 1, published: 1, connections: { ws: 3 } });
    expect(stats.delivered).toBe(2);

    const disconnect = await fetch(`${server.url}/admin/api/users/alice/disconnect`, { method: 'POST', headers: key });
    expect(await disconnect.json()).toEqual({ user: 'alice', disconnected: 2 });
    expect(await alice.closed).toBe(4403);
    expect(await aliceAgain.closed).toBe(4403);
    expect(alice.frames).toContainEqual(expect.objectContaining({ type: 'close', reconnect: false }));

    const close = await fetch(`${server.url}/admin/api/channels/doomed/close`, { method: 'POST', headers: key });
    expect(await close.json()).toEqual({ channel: 'doomed', closed: true, unsubscribed: 1 });
    expect(await bob.request('publish', { channel: 'doomed', text: 'still there?' })).toMatchObject({ type: 'error', code: 'not_found' });
    const again = await fetch(`${server.url}/admin/api/channels/doomed/close`, { method: 'POST', headers: key });
    expect(again.status).toBe(404);
    const bad = await fetch(`${server.url}/admin/api/channels/${encodeURIComponent('no spaces')}/close`, { method: 'POST', headers: key });
    expect(bad.status).toBe(400);
  });

  it('lets a user with the admin role in (not a plain user), and never to /metrics', async () => {
    const secret = 'ops-test-jwt-secret-0123456789abcdef';
    const server = await startTestServer({ overrides: { auth: 'jwt', jwt: { secret }, apiKeys: [API_KEY] } });
    const sign = (sub: string, roles: string[]) =>
      new SignJWT({ sub, roles }).setProtectedHeader({ alg: 'HS256' }).setExpirationTime('5m').sign(new TextEncoder().encode(secret));
    const admin = { authorization: `Bearer ${await sign('root', ['admin'])}` };
    const plain = { authorization: `Bearer ${await sign('joe', [])}` };
    expect((await fetch(`${server.url}/admin/api/stats`, { headers: admin })).status).toBe(200);
    expect((await fetch(`${server.url}/admin/api/stats`, { headers: plain })).status).toBe(403);
    expect((await fetch(`${server.url}/metrics`, { headers: admin })).status).toBe(403);
  });
});
