import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { signWebhook, verifyWebhook, WEBHOOK_HEADERS } from '../src/webhooks/webhook-signer.js';
import { openDatabase } from '../src/store/open-database.js';
import { WebhookOutbox } from '../src/webhooks/webhook-outbox.js';
import { createTestSchema } from './helpers/postgres.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { WsTestClient } from './helpers/ws-test-client.js';

const SECRET = 'webhook-secret-0123456789';

interface Received {
  headers: IncomingHttpHeaders;
  body: string;
  status: number;
  at: number;
}

/** A webhook receiver on loopback that answers `status()` for each request it gets. */
async function startReceiver(status: (index: number) => number) {
  const requests: Received[] = [];
  const waiters = new Set<() => void>();
  const server: Server = createServer((request, response) => {
    let body = '';
    request.setEncoding('utf8');
    request.on('data', (chunk: string) => (body += chunk));
    request.on('end', () => {
      const code = status(requests.length);
      requests.push({ headers: request.headers, body, status: code, at: performance.now() });
      response.writeHead(code).end();
      for (const waiter of [...waiters]) waiter();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;
  return {
    url,
    requests,
    /** Events that were answered 2xx, by id. */
    delivered(): Map<string, { type: string; data: any }> {
      const out = new Map<string, { type: string; data: any }>();
      for (const r of requests) if (r.status < 300) out.set(JSON.parse(r.body).id, JSON.parse(r.body));
      return out;
    },
    waitUntil(check: () => boolean, what: string, timeoutMs = 15_000): Promise<void> {
      return new Promise((resolve, reject) => {
        const attempt = () => {
          if (!check()) return;
          waiters.delete(attempt);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          waiters.delete(attempt);
          reject(new Error(`timed out waiting for ${what}; ${requests.length} requests`));
        }, timeoutMs);
        waiters.add(attempt);
        attempt();
      });
    },
  };
}

function webhookConfig(url: string) {
  return { webhooks: { urls: [url], secret: SECRET, retryBaseMs: 50, retryMaxMs: 400, timeoutMs: 2000 } };
}

async function post(server: TestServer, user: string, path: string, body: unknown): Promise<number> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-switchboard-user': user },
    body: JSON.stringify(body),
  });
  await response.arrayBuffer();
  return response.status;
}

function verifies(request: Received): boolean {
  return verifyWebhook(SECRET, {
    timestamp: request.headers[WEBHOOK_HEADERS.timestamp] as string | undefined,
    signature: request.headers[WEBHOOK_HEADERS.signature] as string | undefined,
    body: request.body,
  });
}

/** The server's outbox, read through a database handle of the test's own on the same database. */
async function outboxOf(server: TestServer): Promise<WebhookOutbox> {
  const database = await openDatabase(server.databaseUrl, [], { othersMayExist: true });
  onTestFinished(() => database.close());
  return new WebhookOutbox(database);
}

/** The dispatcher records a delivery just after the receiver answered: wait for it. */
async function outboxEmpties(server: TestServer): Promise<void> {
  const outbox = await outboxOf(server);
  const deadline = Date.now() + 5000;
  while ((await outbox.pendingCount()) > 0) {
    if (Date.now() > deadline) throw new Error('the outbox still holds pending deliveries');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('webhooks', () => {
  it('retries after the first three failures with growing delays; every event arrives and every signature verifies', async () => {
    const receiver = await startReceiver((index) => (index < 3 ? 500 : 204));
    const server = await startTestServer({ overrides: webhookConfig(receiver.url) });
    await post(server, 'ann', '/api/channels', { channel: 'room', channelType: 'public' });
    const watcher = await WsTestClient.connect(server.wsUrl, 'wes');
    await watcher.ok('subscribe', { channel: 'room' });
    expect(await post(server, 'bob', '/api/channels/room/members', { user: 'bob' })).toBe(201);
    for (let i = 1; i <= 3; i++) expect(await post(server, 'bob', '/api/channels/room/messages', { text: `m${i}` })).toBe(201);
    await fetch(`${server.url}/api/channels/room/members/bob`, { method: 'DELETE', headers: { 'x-switchboard-user': 'bob' } });
    await watcher.close();

    // ann's channel.created and her member.joined as its owner come first.
    const expected = ['channel.created', 'member.joined', 'channel.occupied', 'member.joined', 'message.created', 'message.created', 'message.created', 'member.left', 'channel.vacated'];
    await receiver.waitUntil(() => receiver.delivered().size === expected.length, 'every event delivered');
    const delivered = [...receiver.delivered().values()];
    expect(delivered.map((e) => e.type).sort()).toEqual([...expected].sort());
    expect(delivered.filter((e) => e.type === 'message.created').map((e) => [e.data.channel, e.data.seq, e.data.message.text])).toEqual(
      expect.arrayContaining([
        ['room', 1, 'm1'],
        ['room', 2, 'm2'],
        ['room', 3, 'm3'],
      ]),
    );
    expect(delivered.filter((e) => e.type === 'member.joined').map((e) => e.data)).toEqual(
      expect.arrayContaining([
        { channel: 'room', user: 'ann', role: 'owner' },
        { channel: 'room', user: 'bob', role: 'member' },
      ]),
    );

    expect(receiver.requests.slice(0, 3).map((r) => r.status)).toEqual([500, 500, 500]);
    for (const request of receiver.requests) {
      expect(verifies(request)).toBe(true);
      const body = JSON.parse(request.body) as { id: string; type: string };
      expect(request.headers[WEBHOOK_HEADERS.eventId]).toBe(body.id);
      expect(request.headers[WEBHOOK_HEADERS.event]).toBe(body.type);
      expect(request.headers['content-type']).toBe('application/json');
    }
    // A retry sends the same event (same id, same bytes) after an exponentially growing delay.
    const firstId = JSON.parse(receiver.requests[0]!.body).id as string;
    const attempts = receiver.requests.filter((r) => JSON.parse(r.body).id === firstId);
    expect(attempts.length).toBeGreaterThanOrEqual(2);
    expect(new Set(attempts.map((a) => a.body)).size).toBe(1);
    if (attempts.length >= 3) expect(attempts[2]!.at - attempts[1]!.at).toBeGreaterThanOrEqual(90);
    expect(attempts[1]!.at - attempts[0]!.at).toBeGreaterThanOrEqual(45);
    // Each event was accepted exactly once: nothing is sent again after a 2xx.
    const accepted = receiver.requests.filter((r) => r.status < 300).map((r) => JSON.parse(r.body).id);
    expect(new Set(accepted).size).toBe(accepted.length);
    await outboxEmpties(server);
  });

  it('sends channel.created, member.joined for the owner and members given at creation, and channel.deleted', async () => {
    const receiver = await startReceiver(() => 204);
    const server = await startTestServer({ overrides: webhookConfig(receiver.url) });
    expect(await post(server, 'ann', '/api/channels', { channel: 'crew', channelType: 'private', title: 'Crew', members: ['bob', 'cy'] })).toBe(201);
    // A later join is reported once, by its own hook, not again as a member at creation.
    expect(await post(server, 'ann', '/api/channels/crew/members', { user: 'dee' })).toBe(201);
    const gone = await fetch(`${server.url}/api/channels/crew`, { method: 'DELETE', headers: { 'x-switchboard-user': 'ann' } });
    expect(gone.status).toBe(204);

    await receiver.waitUntil(() => [...receiver.delivered().values()].some((e) => e.type === 'channel.deleted'), 'channel.deleted');
    await outboxEmpties(server);
    const delivered = [...receiver.delivered().values()];
    expect(delivered.find((e) => e.type === 'channel.created')!.data).toEqual({
      channel: 'crew',
      channelType: 'private',
      title: 'Crew',
      publish: 'members',
      createdBy: 'ann',
    });
    const joined = delivered.filter((e) => e.type === 'member.joined').map((e) => [e.data.user, e.data.role]);
    expect(joined.sort()).toEqual([
      ['ann', 'owner'],
      ['bob', 'member'],
      ['cy', 'member'],
      ['dee', 'member'],
    ]);
    expect(delivered.find((e) => e.type === 'channel.deleted')!.data).toEqual({ channel: 'crew' });
    expect(receiver.requests.every(verifies)).toBe(true);
  });

  it('delivers what was pending when the server restarted', async () => {
    let up = false;
    const receiver = await startReceiver(() => (up ? 200 : 503));
    const server = await startTestServer({ overrides: webhookConfig(receiver.url) });
    await post(server, 'ann', '/api/channels', { channel: 'room', channelType: 'public' });
    for (let i = 1; i <= 5; i++) await post(server, 'ann', '/api/channels/room/messages', { text: `m${i}` });
    // Every event was tried and failed at least once (the first three requests fail, and more).
    await receiver.waitUntil(
      () => new Set(receiver.requests.map((r) => JSON.parse(r.body).id)).size === 7 && receiver.requests.length >= 7,
      'a failed attempt for each event',
    );
    // Five messages, the channel's creation and its owner joining.
    expect(await (await outboxOf(server)).pendingCount()).toBe(7);

    await server.restart();
    up = true;
    await receiver.waitUntil(() => receiver.delivered().size === 7, 'the pending events after the restart');
    const seqs = [...receiver.delivered().values()].filter((e) => e.type === 'message.created').map((e) => e.data.seq).sort((a, b) => a - b);
    expect(seqs).toEqual([1, 2, 3, 4, 5]);
    expect(receiver.requests.every(verifies)).toBe(true);
    expect(receiver.requests.slice(0, 3).every((r) => r.status === 503)).toBe(true);
    await outboxEmpties(server);
  });

  it('signs the timestamp with the raw body, so a changed body, timestamp or secret fails, and old requests are refused', () => {
    const body = '{"id":"e1","type":"message.created"}';
    const now = Date.now();
    const timestamp = Math.floor(now / 1000);
    const signature = signWebhook(SECRET, timestamp, body);
    expect(signature).toMatch(/^v1=[0-9a-f]{64}$/);
    const ok = { timestamp: String(timestamp), signature, body };
    expect(verifyWebhook(SECRET, ok, { now })).toBe(true);
    expect(verifyWebhook(SECRET, { ...ok, body: body.replace('e1', 'e2') }, { now })).toBe(false);
    expect(verifyWebhook(SECRET, { ...ok, timestamp: String(timestamp + 1) }, { now })).toBe(false);
    expect(verifyWebhook('another-secret-0123456789', ok, { now })).toBe(false);
    expect(verifyWebhook(SECRET, ok, { now: now + 301_000 })).toBe(false);
    expect(verifyWebhook(SECRET, { ...ok, signature: undefined }, { now })).toBe(false);
  });

  it('refuses webhook URLs without a signing secret', async () => {
    await expect(startTestServer({ overrides: { webhooks: { urls: ['http://127.0.0.1:9/x'] } } })).rejects.toThrow(/signing secret/);
  });
});

const databaseUrl = process.env.TEST_DATABASE_URL;
if (!databaseUrl) console.warn('webhooks on PostgreSQL skipped: TEST_DATABASE_URL is not set');

describe.skipIf(!databaseUrl)('webhooks on PostgreSQL, two nodes sharing one outbox', () => {
  it('delivers each event once when both nodes send from the same outbox, and keeps retrying after failures', async () => {
    const schema = await createTestSchema(databaseUrl!, 'webhooks');
    onTestFinished(() => schema.drop());
    const receiver = await startReceiver((index) => (index < 3 ? 500 : 200));
    const overrides = webhookConfig(receiver.url);
    const first = await startTestServer({ databaseUrl: schema.url, overrides });
    const second = await startTestServer({ databaseUrl: schema.url, overrides });
    await post(first, 'ann', '/api/channels', { channel: 'room', channelType: 'public' });
    const sends = [];
    for (let i = 1; i <= 20; i++) sends.push(post(i % 2 ? first : second, 'ann', '/api/channels/room/messages', { text: `m${i}` }));
    expect(new Set(await Promise.all(sends))).toEqual(new Set([201]));

    // Twenty messages, the channel's creation and its owner joining.
    await receiver.waitUntil(() => receiver.delivered().size === 22, 'twenty-two events');
    const seqs = [...receiver.delivered().values()].filter((e) => e.type === 'message.created').map((e) => e.data.seq).sort((a, b) => a - b);
    expect(seqs).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    const accepted = receiver.requests.filter((r) => r.status < 300).map((r) => JSON.parse(r.body).id);
    expect(accepted).toHaveLength(22);
    expect(receiver.requests.every(verifies)).toBe(true);
    await outboxEmpties(first);
  });
});
