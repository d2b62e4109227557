import { SignJWT } from 'jose';
import { describe, expect, it, onTestFinished } from 'vitest';
import { createClient, type SwitchboardClient } from '../client/src/index.js';
import { startTestServer } from './helpers/test-server.js';
import { NodeProcess } from './helpers/cluster.js';
import { createTestSchema } from './helpers/postgres.js';
import { createRedisPrefix } from './helpers/redis-prefix.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';

const API_KEY = 'drain-test-key-0123456789';
const SUBSCRIBERS = 200;
const PUBLISHERS = 2;
const SPREAD_MS = 2000;

/** Polls a condition until it holds; rejects after the timeout with what it waited for. */
async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

interface Tracked {
  readonly client: SwitchboardClient;
  /** The node each connection attempt went to, in order. */
  readonly urls: string[];
  readonly seqs: number[];
  readonly texts: string[];
  /** Close codes seen, and the delays the SDK chose before reconnecting. */
  readonly closes: number[];
  readonly delays: number[];
}

describeWithServices(['TEST_DATABASE_URL', 'TEST_REDIS_URL'], 'drain on SIGTERM', () => {
  it(`moves ${SUBSCRIBERS} SDK clients to the other node while publishes flow: nothing missed, no publish lost or doubled`, async () => {
    const schema = await createTestSchema(serviceUrl('TEST_DATABASE_URL')!, 'drain');
    const redis = createRedisPrefix(serviceUrl('TEST_REDIS_URL')!, 'drain');
    const tracked: Tracked[] = [];
    const nodes: NodeProcess[] = [];
    onTestFinished(async () => {
      await Promise.all(tracked.map((t) => t.client.close()));
      await Promise.all(nodes.map((node) => node.kill()));
      await schema.drop();
      await redis.drop();
    });
    const config = { apiKeys: [API_KEY], drain: { reconnectSpreadMs: SPREAD_MS }, limits: { connectionsPerIp: 1000 } };
    const a = await NodeProcess.start({ databaseUrl: schema.url, redisUrl: redis.url, config });
    nodes.push(a);
    const b = await NodeProcess.start({ databaseUrl: schema.url, redisUrl: redis.url, config });
    nodes.push(b);

    // A load balancer in miniature: the first connection goes to A, every later one to B.
    const track = (user: string): Tracked => {
      const urls: string[] = [];
      const client = createClient({ url: () => (urls.push(urls.length === 0 ? a.wsUrl : b.wsUrl), urls.at(-1)!), user });
      const entry: Tracked = { client, urls, seqs: [], texts: [], closes: [], delays: [] };
      client.on('disconnected', (info) => entry.closes.push(info.code));
      client.on('reconnecting', (info) => entry.delays.push(info.delayMs));
      tracked.push(entry);
      return entry;
    };
    const creator = track('creator');
    await creator.client.createChannel({ channel: 'live', type: 'public' });
    const subscribers = Array.from({ length: SUBSCRIBERS }, (_, i) => track(`s${i}`));
    await Promise.all(
      subscribers.map((s) =>
        s.client.subscribe('live', (event) => {
          s.seqs.push(event.seq);
          s.texts.push(event.text ?? '');
        }),
      ),
    );
    const publishers = Array.from({ length: PUBLISHERS }, (_, i) => track(`p${i}`));
    await waitFor(() => tracked.every((t) => t.client.state === 'connected'), 10_000, 'every client connected');
    expect(tracked.filter((t) => t.urls.length !== 1 || t.urls[0] !== a.wsUrl).map((t) => t.urls)).toEqual([]);

    // Publishers run through the drain: each waits for its ack (the SDK repeats it with its
    // cid across the reconnect), paced so the test process keeps up with 200 subscribers.
    const acks: { text: string; seq: number; at: number }[] = [];
    let publishing = true;
    const loops = publishers.map(async (p, n) => {
      for (let i = 0; publishing; i++) {
        const text = `p${n}-${i}`;
        const result = await p.client.publish('live', text);
        acks.push({ text, seq: result.seq, at: Date.now() });
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    });
    await waitFor(() => acks.length >= 40, 10_000, 'publishes before the drain');

    const started = Date.now();
    const drained = a.stop();
    await waitFor(
      () => tracked.every((t) => t.urls.length >= 2 && t.client.state === 'connected'),
      SPREAD_MS + 15_000,
      'every client connected to B',
    );
    const moved = Date.now();
    const moveMs = moved - started;
    await drained; // A exited (stop() waits for the process)
    const before = acks.length;
    await waitFor(() => acks.length >= before + 20, 10_000, 'publishes after the drain');
    publishing = false;
    await Promise.all(loops);

    // Every client is on B now, and B serves every session.
    expect(tracked.every((t) => t.urls.at(-1) === b.wsUrl)).toBe(true);
    const stats = (await (await fetch(`${b.url}/admin/api/stats`, { headers: { 'x-switchboard-key': API_KEY } })).json()) as {
      sessions: number;
    };
    expect(stats.sessions).toBe(tracked.length);

    // No publish lost or doubled: every ack has its own seq, and the log is exactly the acks.
    const lastSeq = Math.max(...acks.map((ack) => ack.seq));
    expect(new Set(acks.map((ack) => ack.seq)).size).toBe(acks.length);
    expect(lastSeq).toBe(acks.length);
    const textOf = new Map(acks.map((ack) => [ack.seq, ack.text]));

    // Nothing missed: each subscriber got 1..lastSeq once, in order, with the acked texts.
    await waitFor(() => subscribers.every((s) => (s.seqs.at(-1) ?? 0) >= lastSeq), 15_000, 'every event at every subscriber');
    const expected = Array.from({ length: lastSeq }, (_, i) => i + 1);
    for (const s of subscribers) {
      expect(s.seqs).toEqual(expected);
      expect(s.texts).toEqual(expected.map((seq) => textOf.get(seq)));
    }
    // Publishes flowed while the clients moved.
    expect(acks.filter((ack) => ack.at > started && ack.at < moved).length).toBeGreaterThan(0);
    // Told 4503 and a window: reconnects were spread over it rather than arriving at once.
    expect(tracked.every((t) => t.closes[0] === 4503)).toBe(true);
    const delays = tracked.map((t) => t.delays[0]!);
    expect(Math.max(...delays)).toBeLessThan(SPREAD_MS);
    expect(Math.max(...delays) - Math.min(...delays)).toBeGreaterThan(SPREAD_MS / 2);
    const firstHalf = delays.filter((d) => d < SPREAD_MS / 2).length;
    expect(firstHalf).toBeGreaterThan(tracked.length / 4);
    expect(firstHalf).toBeLessThan((tracked.length * 3) / 4);
    console.info(`drain: ${tracked.length} clients on B ${moveMs} ms after SIGTERM; ${acks.length} publishes, last seq ${lastSeq}`);
  }, 90_000);
});

describe('drain, one node', () => {
  it('a token client that reaches a draining node is refused for now, not for good: it keeps trying', async () => {
    const secret = 'drain-test-jwt-secret-0123456789abcdef';
    const server = await startTestServer({ overrides: { auth: 'jwt', jwt: { secret } } });
    await server.hub.shutdown('draining'); // the node refuses new sessions from here on
    const token = await new SignJWT({ sub: 'late' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('5m')
      .sign(new TextEncoder().encode(secret));
    const client = createClient({ url: server.wsUrl, token, backoff: { initialDelayMs: 50, maxDelayMs: 100 } });
    onTestFinished(() => client.close());
    const errors: string[] = [];
    client.on('error', (error) => errors.push(error.code));
    const attempts: number[] = [];
    // Two retries, or the client giving up (which fails below).
    await new Promise<void>((resolve) => {
      client.on('reconnecting', ({ attempt }) => {
        attempts.push(attempt);
        if (attempts.length === 2) resolve();
      });
      client.on('state', ({ state }) => {
        if (state === 'disconnected') resolve();
      });
    });
    expect(client.state).not.toBe('disconnected');
    expect(errors).toEqual([]);
  });
});
