import { existsSync } from 'node:fs';
import { type ClientRequest, type IncomingMessage, request } from 'node:http';
import { chromium } from 'playwright-core';
import { describe, expect, it, onTestFinished } from 'vitest';
import { formatCursor, parseCursor } from '../src/transports/sse/sse-cursor.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { Waiters } from './helpers/waiters.js';
import { WsTestClient } from './helpers/ws-test-client.js';

interface SseFrame {
  id: string | null;
  event: string;
  data: string;
}

/**
 * A raw HTTP reader of text/event-stream, parsing frames as a browser EventSource does
 * (including its `lastEventId`), and keeping the comment lines to see heartbeats.
 */
class SseReader {
  readonly frames: SseFrame[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: IncomingMessage['headers'] = {};
  /** The body of a refused request (JSON). */
  body = '';
  lastEventId = '';
  ended = false;
  readonly #request: ClientRequest;
  #response: IncomingMessage | null = null;
  #buffer = '';
  readonly #waiters = new Waiters();
  readonly opened: Promise<void>;

  constructor(url: string, headers: Record<string, string> = {}) {
    this.#request = request(url, { headers: { accept: 'text/event-stream', ...headers } });
    this.opened = new Promise((resolve, reject) => {
      this.#request.once('response', (response) => {
        this.#response = response;
        this.status = response.statusCode ?? 0;
        this.headers = response.headers;
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (this.status !== 200) this.body += chunk;
          else this.#parse(chunk);
          this.#waiters.wake();
        });
        // 'end' when the server ends the stream, 'close' also when it drops the connection.
        for (const event of ['end', 'close']) {
          response.once(event, () => {
            this.ended = true;
            this.#waiters.wake();
          });
        }
        response.once('error', () => {});
        resolve();
      });
      this.#request.once('error', reject);
    });
    this.#request.end();
  }

  /** Stored events of a channel, in arrival order. */
  events(channel?: string): { channel: string; seq: number; text: string | null }[] {
    return this.frames
      .filter((f) => f.event === 'message')
      .map((f) => JSON.parse(f.data) as { channel: string; seq: number; text: string | null })
      .filter((e) => channel === undefined || e.channel === channel);
  }

  async waitUntil(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
    await this.#waiters.until(check, timeoutMs, () => `timed out waiting for ${what}; ${this.frames.length} frames`);
  }

  /** Stops reading, as a client stuck on a slow network: the server's queue fills. */
  pause(): void {
    this.#response?.pause();
  }

  resume(): void {
    this.#response?.resume();
  }

  /** Drops the connection as a network failure would. */
  close(): void {
    this.#request.destroy();
  }

  #parse(chunk: string): void {
    this.#buffer += chunk;
    let end: number;
    while ((end = this.#buffer.indexOf('\n\n')) >= 0) {
      const block = this.#buffer.slice(0, end);
      this.#buffer = this.#buffer.slice(end + 2);
      const frame: SseFrame = { id: null, event: 'message', data: '' };
      let hasData = false;
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) {
          this.comments.push(line.slice(1).trim());
          continue;
        }
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'id') frame.id = value;
        else if (field === 'event') frame.event = value;
        else if (field === 'data') {
          frame.data += (hasData ? '\n' : '') + value;
          hasData = true;
        }
      }
      if (frame.id !== null) this.lastEventId = frame.id;
      if (hasData) this.frames.push(frame);
    }
  }
}

async function post(server: TestServer, user: string, path: string, body: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-switchboard-user': user },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

async function open(url: string, headers?: Record<string, string>): Promise<SseReader> {
  const reader = new SseReader(url, headers);
  await reader.opened;
  return reader;
}

describe('SSE', () => {
  it('writes event ids that name every channel unambiguously, even ids with : and ,', () => {
    const cursor = new Map([
      ['dm:ann,bob', 7],
      ['user:ann', 12],
      ['x+y@z.q', 3],
    ]);
    const epochs = new Map([
      ['dm:ann,bob', 1],
      ['user:ann', 3],
      ['x+y@z.q', 2],
    ]);
    const id = formatCursor(cursor, epochs);
    expect(id).not.toMatch(/[\r\n]/);
    expect(id).toContain('user%3Aann=3.12');
    expect(parseCursor(id, [...cursor.keys()])).toEqual({ positions: cursor, epochs });
    // A bare position is the one channel's: a seq (ids from before epochs) or epoch.seq.
    expect(parseCursor('41', ['news'])).toEqual({ positions: new Map([['news', 41]]), epochs: new Map() });
    expect(parseCursor('2.41', ['news'])).toEqual({ positions: new Map([['news', 41]]), epochs: new Map([['news', 2]]) });
    expect(parseCursor('news=41', ['news'])).toEqual({ positions: new Map([['news', 41]]), epochs: new Map() });
    expect(parseCursor('41', ['a', 'b'])).toBeNull();
    expect(parseCursor('news=abc', ['news'])).toBeNull();
    expect(parseCursor('news=0.4', ['news'])).toBeNull();
    expect(parseCursor('news=1.2.3', ['news'])).toBeNull();
    expect(parseCursor('bad%20id=3', ['news'])).toBeNull();
  });

  it('resumes a multi-channel stream with Last-Event-ID after a drop mid-publish: nothing missing, nothing twice', async () => {
    // The publisher outpaces a user's default request rate on purpose.
    const server = await startTestServer({ overrides: { limits: { messagesPerSecond: 10_000, messageBurst: 10_000 } } });
    const channels = ['alpha', 'beta'];
    for (const id of channels) await post(server, 'ann', '/api/channels', { channel: id, channelType: 'public' });
    const url = `${server.url}/sse?channels=${channels.join(',')}&user=reader`;
    const first = await open(url);
    expect(first.status).toBe(200);
    expect(first.headers['content-type']).toMatch(/^text\/event-stream/);
    await first.waitUntil(() => first.frames.some((f) => f.event === 'ready'), 'ready');

    // A steady stream of publishes to both channels, running through the drop and the resume.
    const perChannel = 150;
    let published = 0;
    const publisher = (async () => {
      for (let i = 1; i <= perChannel; i++) {
        await Promise.all(channels.map((channel) => post(server, 'ann', `/api/channels/${channel}/messages`, { text: `${channel} ${i}` })));
        published = i;
      }
    })();

    await first.waitUntil(() => first.events().length >= 60, '60 events before the drop');
    first.close();
    const resumeFrom = first.lastEventId;
    const before = first.events();
    // Publishing goes on while the client is away.
    await waitFor(() => published >= before.length / 2 + 20, 'publishes while disconnected');

    const second = await open(url, { 'last-event-id': resumeFrom });
    expect(second.status).toBe(200);
    await publisher;
    await second.waitUntil(
      () => channels.every((c) => (second.events(c).at(-1)?.seq ?? 0) >= perChannel),
      'every event after the resume',
    );
    for (const channel of channels) {
      const seqs = [...before, ...second.events()].filter((e) => e.channel === channel).map((e) => e.seq);
      expect(seqs).toEqual(Array.from({ length: perChannel }, (_, i) => i + 1));
    }
    // The drop really was mid-stream on both sides of the cursor.
    expect(before.length).toBeGreaterThanOrEqual(60);
    expect(second.events().length).toBeGreaterThan(0);
    second.close();
  });

  it('resumes /stream/:channel from a bare seq, heartbeats with comments, and carries edits and presence', async () => {
    const server = await startTestServer({ overrides: { heartbeatMs: 100 } });
    await post(server, 'ann', '/api/channels', { channel: 'news', channelType: 'public' });
    for (let i = 1; i <= 5; i++) await post(server, 'ann', '/api/channels/news/messages', { text: `n${i}` });
    const reader = await open(`${server.url}/stream/news`, { 'x-switchboard-user': 'bob', 'last-event-id': '2' });
    await reader.waitUntil(() => reader.events().length === 3, 'the three missed events');
    expect(reader.events().map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(reader.lastEventId).toBe('news=1.5');
    await reader.waitUntil(() => reader.comments.includes('ping'), 'a heartbeat comment');

    const presence = reader.frames.find((f) => f.event === 'presence');
    expect(presence && JSON.parse(presence.data)).toMatchObject({ channel: 'news', action: 'join', user: 'bob' });
    await fetch(`${server.url}/api/channels/news/messages/1`, {
      method: 'PATCH',
      headers: { 'content-type': 'application/json', 'x-switchboard-user': 'ann' },
      body: JSON.stringify({ text: 'n1, edited' }),
    });
    await reader.waitUntil(() => reader.events().length === 4, 'the edit event');
    expect(reader.events()[3]).toMatchObject({ seq: 6, text: 'n1, edited' });
    reader.close();
  });

  it('authenticates by ticket or header and refuses bad requests with HTTP errors before streaming', async () => {
    const server = await startTestServer();
    await post(server, 'ann', '/api/channels', { channel: 'club', channelType: 'private' });
    await post(server, 'ann', '/api/channels', { channel: 'open', channelType: 'public' });

    const anonymous = await open(`${server.url}/sse?channels=open`);
    expect(anonymous.status).toBe(401);
    expect(JSON.parse(anonymous.body).code).toBe('unauthorized');
    const badToken = await open(`${server.url}/sse?channels=open`, { authorization: 'Bearer nope' });
    expect(badToken.status).toBe(401);

    const ticket = (await post(server, 'ann', '/api/tickets', {})).body.ticket as string;
    const byTicket = await open(`${server.url}/sse?channels=club&ticket=${ticket}`);
    expect(byTicket.status).toBe(200);
    await byTicket.waitUntil(() => byTicket.frames.some((f) => f.event === 'ready'), 'ready');
    await post(server, 'ann', '/api/channels/club/messages', { text: 'members only' });
    await byTicket.waitUntil(() => byTicket.events().length === 1, 'the club message');
    byTicket.close();
    const reused = await open(`${server.url}/sse?channels=club&ticket=${ticket}`);
    expect(reused.status).toBe(401);

    const tooMany = Array.from({ length: 101 }, (_, i) => `c${i}`).join(',');
    const refusals: [string, Record<string, string>, number, string, RegExp?][] = [
      ['/sse?channels=club&user=bob', {}, 403, 'forbidden'],
      ['/sse?channels=open,club&user=bob', {}, 403, 'forbidden'],
      ['/sse?channels=nowhere&user=bob', {}, 404, 'not_found'],
      ['/sse?user=bob', {}, 400, 'bad_request'],
      // The channel is checked by the protocol's schema, in its one message format.
      ['/sse?channels=bad%20id&user=bob', {}, 400, 'bad_request', /^Invalid channel: a channel id is/],
      ['/stream/bad%20id?user=bob', {}, 400, 'bad_request', /^Invalid channel: a channel id is/],
      [`/sse?channels=${tooMany}&user=bob`, {}, 429, 'too_many_subscriptions'],
      ['/sse?channels=open&user=bob', { 'last-event-id': 'garbage=x' }, 400, 'bad_request'],
      ['/sse?channels=open,club&user=bob', { 'last-event-id': '7' }, 400, 'bad_request'],
      // A page on another site may not open a stream with the user's ambient credentials.
      ['/sse?channels=open&user=bob', { origin: 'https://evil.example' }, 403, 'forbidden'],
    ];
    for (const [path, headers, status, code, message] of refusals) {
      const refused = await open(`${server.url}${path}`, headers);
      expect(refused.status, path).toBe(status);
      expect(JSON.parse(refused.body).code, path).toBe(code);
      if (message) expect(JSON.parse(refused.body).message, path).toMatch(message);
    }
  });

  it("charges a stream's checks and subscriptions to the user's one command budget, shared with /ws", async () => {
    const server = await startTestServer({ overrides: { limits: { messagesPerSecond: 1, messageBurst: 10 } } });
    const channels = ['c1', 'c2', 'c3', 'c4', 'c5'];
    for (const id of channels) await post(server, 'ann', '/api/channels', { channel: id, channelType: 'public' });
    const bob = await WsTestClient.connect(server.wsUrl, 'bob');
    onTestFinished(() => void bob.close());
    // One channel costs one of bob's ten (its check; the subscription that follows is paid by it).
    const first = await open(`${server.url}/sse?channels=c1&user=bob`);
    await first.waitUntil(() => first.frames.some((f) => f.event === 'ready'), 'ready');
    first.close();
    // Eight more go on /ws.
    for (let i = 0; i < 8; i++) await bob.request('ping');
    // Five channels, with one unit left and far less than a second's refill: refused with a status, before the stream opens.
    const refused = await open(`${server.url}/sse?channels=${channels.join(',')}&user=bob`);
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body).code).toBe('rate_limited');
    // Another user's budget is their own.
    const carol = await open(`${server.url}/sse?channels=${channels.join(',')}&user=carol`);
    expect(carol.status).toBe(200);
    carol.close();
  });

  it('drops a stream that stops reading once its queue passes the bound; it resumes from its id', async () => {
    const server = await startTestServer({ overrides: { apiKeys: ['sse-test-key-0123456789'], limits: { sendQueueBytes: 256 * 1024 } } });
    await post(server, 'ann', '/api/channels', { channel: 'bulk', channelType: 'public' });
    const reader = await open(`${server.url}/stream/bulk?user=slow`);
    await reader.waitUntil(() => reader.frames.some((f) => f.event === 'ready'), 'ready');
    reader.pause();
    // Under the 32 KiB data limit, so each push is stored.
    const payload = 'x'.repeat(30 * 1024);
    let sent = 0;
    // Far more than the socket buffers hold: the server-side queue must pass 256 KiB.
    while (sent < 400 && server.hub.sessionCount > 0) {
      const response = await fetch(`${server.url}/api/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-switchboard-key': 'sse-test-key-0123456789' },
        body: JSON.stringify({ channel: 'bulk', data: { payload, n: ++sent } }),
      });
      expect(response.status).toBe(201);
      // Read the answer: an unread body keeps the connection busy and the server's close waiting.
      await response.arrayBuffer();
    }
    expect(server.hub.sessionCount).toBe(0);
    // Several events fitted in the queue and the socket buffers before the drop.
    expect(sent).toBeGreaterThan(4);
    reader.resume();
    await reader.waitUntil(() => reader.ended, 'the dropped stream to end');
    const got = reader.events().map((e) => e.seq);
    // Whatever arrived before the drop is a gap-free prefix; the rest comes on resume.
    expect(got).toEqual(Array.from({ length: got.length }, (_, i) => i + 1));
    const again = await open(`${server.url}/stream/bulk?user=slow`, { 'last-event-id': reader.lastEventId });
    await again.waitUntil(() => again.events().at(-1)?.seq === sent, 'the rest after resuming');
    expect([...got, ...again.events().map((e) => e.seq)]).toEqual(Array.from({ length: sent }, (_, i) => i + 1));
    again.close();
  });

  it('tells streams to reconnect when the server shuts down, and is absent when the transport is off', async () => {
    const server = await startTestServer();
    await post(server, 'ann', '/api/channels', { channel: 'open', channelType: 'public' });
    const reader = await open(`${server.url}/sse?channels=open&user=bob`);
    await reader.waitUntil(() => reader.frames.some((f) => f.event === 'ready'), 'ready');
    await server.close('maintenance');
    await reader.waitUntil(() => reader.ended, 'the end of the stream');
    const close = reader.frames.find((f) => f.event === 'close');
    expect(close && JSON.parse(close.data)).toMatchObject({ reason: 'maintenance', reconnect: true });

    const without = await startTestServer({ overrides: { transports: ['ws', 'http'] } });
    const missing = await open(`${without.url}/sse?channels=open&user=bob`);
    expect(missing.status).toBe(404);
  });
});

function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const poll = () => {
      if (check()) return resolve();
      if (Date.now() - started > timeoutMs) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(poll, 5);
    };
    poll();
  });
}

const CHROMIUM = '/usr/bin/chromium';
const noBrowser = !existsSync(CHROMIUM);
if (noBrowser) console.warn(`SSE in a real browser skipped: ${CHROMIUM} is not installed (apt-get install chromium)`);

describe.skipIf(noBrowser)('SSE in a real browser', () => {
  it('a browser EventSource resumes with Last-Event-ID across a server restart: nothing missing, nothing twice', async () => {
    const server = await startTestServer();
    await post(server, 'ann', '/api/channels', { channel: 'feed', channelType: 'public' });
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-gpu', '--no-first-run'] });
    onTestFinished(() => browser.close());
    const page = await browser.newPage();
    await page.goto(`${server.url}/healthz`);
    await page.evaluate(() => {
      const state = { seqs: [] as number[], opens: 0, ids: [] as string[] };
      (window as unknown as { sse: typeof state }).sse = state;
      const source = new EventSource('/sse?channels=feed&user=browser');
      source.onopen = () => state.opens++;
      source.onmessage = (event) => {
        state.seqs.push((JSON.parse(event.data) as { seq: number }).seq);
        state.ids.push(event.lastEventId);
      };
    });
    const seen = () => page.evaluate(() => (window as unknown as { sse: { seqs: number[]; opens: number; ids: string[] } }).sse);
    const until = async (check: (state: Awaited<ReturnType<typeof seen>>) => boolean, what: string) => {
      const deadline = Date.now() + 20_000;
      while (!check(await seen())) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}: ${JSON.stringify(await seen())}`);
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
    };
    await until((s) => s.opens === 1, 'the stream to open');
    for (let i = 1; i <= 20; i++) await post(server, 'ann', '/api/channels/feed/messages', { text: `before ${i}` });
    await until((s) => s.seqs.length === 20, 'twenty events');

    // The node restarts: the stream ends with `close`, and the browser reconnects by itself.
    await server.restart();
    for (let i = 21; i <= 40; i++) await post(server, 'ann', '/api/channels/feed/messages', { text: `after ${i}` });
    await until((s) => s.seqs.at(-1) === 40, 'the events published while the browser was away');
    const state = await seen();
    expect(state.seqs).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(state.opens).toBeGreaterThanOrEqual(2);
    expect(state.ids.at(-1)).toBe('feed=1.40');
  }, 60_000);
});
