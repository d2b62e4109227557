import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { jsonToValue, valueToJson } from '../src/transports/grpc/json-value.js';
import { parseChannelName, toHubChannel } from '../src/transports/pusher/pusher-channel-names.js';
import { as, call, grpcClient, StreamRecorder, withApiKey } from './helpers/grpc-test-client.js';
import { pusherServerSdk } from './helpers/pusher-js.js';
import { PusherSocket } from './helpers/pusher-socket.js';
import { SseClient } from './helpers/sse-client.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

/**
 * Issue 17, "One set of input limits, checked before anything is stored": the limits on a
 * message's `data` (protocol/limits.ts: 32 levels, 32 KiB as JSON, no NUL, no unpaired
 * surrogate) hold alike on every wire that publishes, whatever one wire accepts is
 * delivered on every wire that subscribes, and malformed input costs its sender only.
 */

const clients = useWsClients();
const API_KEY = 'input-limits-api-key-0123456789';
const APP = { id: '1717', key: 'limits-app', secret: 'limits-app-secret-0123' };
/** The Pusher channel every wire publishes to and subscribes to, and its id in the hub. */
const PUSHER_CHANNEL = 'limits';
const CHANNEL = toHubChannel({ id: APP.id, channelPrefix: '' }, parseChannelName(PUSHER_CHANNEL)!).id;

type Outcome = 'ok' | 'bad_request' | 'too_large';
type PublishWire = 'ws' | 'rest' | 'grpc' | 'pusher';
const PUBLISH_WIRES: readonly PublishWire[] = ['ws', 'rest', 'grpc', 'pusher'];

function nestedArrays(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

function nestedObjects(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = { level: value };
  return value;
}

interface LimitCase {
  readonly name: string;
  readonly data: unknown;
  /** /ws, REST and gRPC. */
  readonly outcome: Outcome;
  /**
   * The Pusher HTTP API carries an event's data as a string (its protocol): an object is
   * published as its JSON text (where nesting and escaped characters are just text), and
   * its own limit is the hosted service's 10 KiB.
   */
  readonly pusher: Outcome;
  /** What gRPC does differently, when its wire cannot carry the value as it is. */
  readonly grpc?: { readonly outcome: Outcome; readonly delivered: unknown };
}

const CASES: readonly LimitCase[] = [
  { name: 'arrays 32 levels deep', data: nestedArrays(32), outcome: 'ok', pusher: 'ok' },
  { name: 'arrays 33 levels deep', data: nestedArrays(33), outcome: 'bad_request', pusher: 'ok' },
  { name: 'objects 32 levels deep', data: nestedObjects(32), outcome: 'ok', pusher: 'ok' },
  { name: 'objects 33 levels deep', data: nestedObjects(33), outcome: 'bad_request', pusher: 'ok' },
  // A string of n characters is n + 2 bytes as JSON: exactly 32 KiB, then one byte over.
  { name: 'exactly 32 KiB as JSON', data: 'x'.repeat(32 * 1024 - 2), outcome: 'ok', pusher: 'too_large' },
  { name: 'one byte over 32 KiB', data: 'x'.repeat(32 * 1024 - 1), outcome: 'too_large', pusher: 'too_large' },
  { name: 'a NUL in a string', data: { note: 'before\u0000after' }, outcome: 'bad_request', pusher: 'ok' },
  { name: 'a NUL string', data: 'before\u0000after', outcome: 'bad_request', pusher: 'bad_request' },
  { name: 'a NUL in a key', data: { 'na\u0000me': 1 }, outcome: 'bad_request', pusher: 'ok' },
  {
    name: 'an unpaired surrogate',
    data: 'half \uD83D of a pair',
    outcome: 'bad_request',
    pusher: 'bad_request',
    // Protobuf strings are UTF-8: the client's library writes the half as three bytes that
    // are not UTF-8, which the server reads as three U+FFFD, a valid string, stored as such.
    grpc: { outcome: 'ok', delivered: 'half \uFFFD\uFFFD\uFFFD of a pair' },
  },
  { name: '3,600 small numbers', data: Array.from({ length: 3600 }, (_, i) => i % 10), outcome: 'ok', pusher: 'ok' },
  { name: '20,000 zeros (40 KB as JSON)', data: Array.from({ length: 20_000 }, () => 0), outcome: 'too_large', pusher: 'too_large' },
  // Over 32 KiB as JSON text though small as values: the size is the JSON's, measured exactly.
  { name: '12,000 empty objects (36 KB as JSON)', data: Array.from({ length: 12_000 }, () => ({})), outcome: 'too_large', pusher: 'too_large' },
  {
    name: '1,400 long numbers (35 KB as JSON)',
    data: Array.from({ length: 1400 }, () => -1.2345678901234567e-300),
    outcome: 'too_large',
    pusher: 'too_large',
  },
  { name: '6,000 control characters (36 KB escaped)', data: '\u0001'.repeat(6000), outcome: 'too_large', pusher: 'too_large' },
];

/** What a subscriber should get for one accepted publish. */
interface Delivery {
  readonly viaPusher: boolean;
  /** The `data` of a native publish, or the data string of a Pusher one. */
  readonly value: unknown;
}

function startLimitsServer(): Promise<TestServer> {
  // The publishers are the app's backend (an API key): no budget to run out of.
  return startTestServer({ overrides: { apiKeys: [API_KEY], pusher: { apps: [APP] } } });
}

/** The error code of a refused gRPC call: its trailer, or the status a refusal before the pipeline has. */
function grpcOutcome(error: grpc.ServiceError): string {
  const code = error.metadata?.get('x-switchboard-error')[0];
  if (code !== undefined) return String(code);
  // A message over the transport's size limit never reaches the pipeline: RESOURCE_EXHAUSTED, as too_large.
  return error.code === grpc.status.RESOURCE_EXHAUSTED ? 'too_large' : `grpc status ${error.code}`;
}

/** One publisher per wire, each the app's backend (no budget), each answering the outcome. */
async function publishers(server: TestServer): Promise<Record<PublishWire, (data: unknown) => Promise<string>>> {
  const ws = clients.open(server.wsUrl);
  await ws.opened;
  expect(await ws.request('auth', { token: API_KEY })).toMatchObject({ type: 'ok' });
  const client = grpcClient(server);
  const sdk = pusherServerSdk(server, APP);
  return {
    ws: async (data) => {
      const reply = await ws.request('publish', { channel: CHANNEL, data });
      return reply.type === 'ok' ? 'ok' : String(reply.code);
    },
    rest: async (data) => {
      const response = await fetch(`${server.url}/api/channels/${encodeURIComponent(CHANNEL)}/messages`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-switchboard-key': API_KEY },
        body: JSON.stringify({ data }),
      });
      const body = (await response.json()) as { code?: string };
      return response.status === 201 ? 'ok' : String(body.code);
    },
    grpc: async (data) =>
      call(client, 'Publish', { channel: CHANNEL, data: jsonToValue(data) }, withApiKey(API_KEY)).then(
        () => 'ok',
        (error: grpc.ServiceError) => grpcOutcome(error),
      ),
    pusher: async (data) => {
      const body = JSON.stringify({ name: 'limits-case', channel: PUSHER_CHANNEL, data: typeof data === 'string' ? data : JSON.stringify(data) });
      const path = `/apps/${APP.id}/events`;
      const query = sdk.createSignedQueryString({ method: 'POST', path, body });
      const response = await fetch(`${server.url}${path}?${query}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
      const answer = (await response.json()) as { code?: string };
      return response.status === 200 ? 'ok' : String(answer.code);
    },
  };
}

interface Subscriber {
  /** The deliveries seen so far, in order. */
  deliveries(): Delivery[];
  /** Resolves once `count` deliveries have arrived (re-checked on each frame, with a timeout). */
  until(count: number): Promise<unknown>;
}

/**
 * A subscriber on each wire that subscribes: a Pusher socket (first: its subscription makes
 * the app's channel), /ws, SSE and gRPC Subscribe on that channel.
 */
async function subscribers(server: TestServer): Promise<Record<string, Subscriber>> {
  const pusher = new PusherSocket(server.url, APP.key);
  await pusher.established();
  await pusher.subscribe(PUSHER_CHANNEL);
  const ws: WsTestClient = await clients.connect(server.wsUrl, 'ws-reader');
  await ws.ok('subscribe', { channel: CHANNEL });
  const sse = new SseClient(`${server.url}/stream/${encodeURIComponent(CHANNEL)}?user=sse-reader`);
  await sse.ready();
  const stream = new StreamRecorder(grpcClient(server), { channel: CHANNEL }, as('grpc-reader'));
  await stream.live();

  const native = (data: unknown): Delivery =>
    isPusherData(data) ? { viaPusher: true, value: data.data } : { viaPusher: false, value: data ?? null };
  return {
    ws: {
      deliveries: () => ws.events(CHANNEL).map((event) => native((event as { data?: unknown }).data)),
      until: (count) => ws.waitUntil(() => ws.events(CHANNEL).length >= count),
    },
    sse: {
      deliveries: () => sse.events().map((event) => native(event.data)),
      until: (count) => sse.waitUntil(() => sse.events().length >= count, `${count} SSE events`),
    },
    grpc: {
      deliveries: () => stream.events().map((event) => native(valueToJson(event.data, 'data'))),
      until: (count) => stream.waitUntil(() => stream.events().length >= count),
    },
    pusher: {
      deliveries: () =>
        pusher.eventsOn(PUSHER_CHANNEL).map((frame) =>
          frame.event === 'limits-case'
            ? { viaPusher: true, value: frame.data }
            : { viaPusher: false, value: (JSON.parse(String(frame.data)) as { data: unknown }).data ?? null },
        ),
      until: (count) => pusher.waitUntil(() => pusher.eventsOn(PUSHER_CHANNEL).length >= count),
    },
  };
}

function isPusherData(data: unknown): data is { pusherEvent: string; data: string } {
  return typeof data === 'object' && data !== null && 'pusherEvent' in data;
}

async function storedCount(server: TestServer): Promise<number> {
  return (await server.store.getChannel(CHANNEL))?.lastSeq ?? -1;
}

describe("input limits on every wire (issue 17: one set of limits, checked before anything is stored)", () => {
  it('refuses what one wire refuses on all, stores nothing of it, and delivers what one accepts on /ws, SSE, gRPC and Pusher alike', async () => {
    const server = await startLimitsServer();
    const seen = await subscribers(server);
    const publish = await publishers(server);
    const expected: Delivery[] = [];
    const outcomes: string[] = [];
    const wanted: string[] = [];
    for (const limitCase of CASES) {
      for (const wire of PUBLISH_WIRES) {
        const want = wire === 'pusher' ? limitCase.pusher : wire === 'grpc' && limitCase.grpc ? limitCase.grpc.outcome : limitCase.outcome;
        const got = await publish[wire](limitCase.data);
        outcomes.push(`${limitCase.name} from ${wire}: ${got}`);
        wanted.push(`${limitCase.name} from ${wire}: ${want}`);
        if (got !== 'ok') continue;
        if (wire === 'pusher') {
          expected.push({ viaPusher: true, value: typeof limitCase.data === 'string' ? limitCase.data : JSON.stringify(limitCase.data) });
        } else {
          expected.push({ viaPusher: false, value: wire === 'grpc' && limitCase.grpc ? limitCase.grpc.delivered : limitCase.data });
        }
      }
    }
    expect(outcomes).toEqual(wanted);
    // Refused publishes stored nothing: the log holds exactly the accepted ones.
    expect(await storedCount(server)).toBe(expected.length);
    for (const [wire, subscriber] of Object.entries(seen)) {
      await subscriber.until(expected.length);
      expect(subscriber.deliveries(), wire).toEqual(expected);
    }
  });
});

/** Waits `ms`: the pace of a client that sends on a schedule (never a wait for the server). */
const pace = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** `[[[ … 0 … ]]]` nested `depth` deep, as JSON text (2 bytes a level). */
function deepJson(depth: number): string {
  return `${'['.repeat(depth)}0${']'.repeat(depth)}`;
}

function varintLength(value: number): number {
  let length = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    length++;
  }
  return length;
}

function writeVarint(buffer: Buffer, offset: number, value: number): number {
  while (value >= 0x80) {
    buffer[offset++] = (value & 0x7f) | 0x80;
    value = Math.floor(value / 0x80);
  }
  buffer[offset++] = value;
  return offset;
}

/**
 * A PublishRequest whose `data` is a google.protobuf.Value of lists nested as deep as fits
 * in `maxBytes`, written byte by byte: no protobuf library encodes nesting past 100 levels,
 * a hostile client does not need one.
 */
function deepPublishRequest(channel: string, maxBytes: number): Buffer {
  // Value{number_value: 0} is 9 bytes; each level wraps it in ListValue{values} and Value{list_value}.
  const values = [9];
  const lists = [0];
  for (;;) {
    const inner = values.at(-1)!;
    const list = 1 + varintLength(inner) + inner;
    const value = 1 + varintLength(list) + list;
    if (value + channel.length + 8 > maxBytes) break;
    lists.push(list);
    values.push(value);
  }
  const depth = values.length - 1;
  const channelBytes = Buffer.from(channel);
  const total = 1 + varintLength(channelBytes.length) + channelBytes.length + 1 + varintLength(values[depth]!) + values[depth]!;
  const buffer = Buffer.alloc(total);
  let offset = 0;
  buffer[offset++] = 0x0a; // channel = 1
  offset = writeVarint(buffer, offset, channelBytes.length);
  offset += channelBytes.copy(buffer, offset);
  buffer[offset++] = 0x1a; // data = 3
  offset = writeVarint(buffer, offset, values[depth]!);
  for (let level = depth; level >= 1; level--) {
    buffer[offset++] = 0x32; // list_value = 6
    offset = writeVarint(buffer, offset, lists[level]!);
    buffer[offset++] = 0x0a; // values = 1
    offset = writeVarint(buffer, offset, values[level - 1]!);
  }
  buffer[offset++] = 0x11; // number_value = 2, 8 bytes of 0.0 follow
  return buffer;
}

type FloodWire = 'ws' | 'rest' | 'grpc' | 'pusher';

/** One deep frame from the flooder on `wire`, resolving with how it was answered. */
async function floodSender(server: TestServer, wire: FloodWire): Promise<(n: number) => Promise<string>> {
  const deep = deepJson(20_000);
  switch (wire) {
    case 'ws': {
      const mallory = await clients.connect(server.wsUrl, 'mallory');
      return async (n) => {
        mallory.sendRaw(`{"type":"publish","id":"deep-${n}","channel":"calm","data":${deep}}`);
        const reply = await mallory.waitFor((f) => f.id === `deep-${n}`);
        return reply.type === 'ok' ? 'ok' : String(reply.code);
      };
    }
    case 'rest':
      return async () => {
        const response = await fetch(`${server.url}/api/channels/calm/messages`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-switchboard-user': 'mallory' },
          body: `{"data":${deep}}`,
        });
        return `${response.status} ${((await response.json()) as { code?: string }).code}`;
      };
    case 'grpc': {
      const client = grpcClient(server);
      const request = deepPublishRequest('calm', 40_000);
      return () =>
        new Promise((resolve) => {
          client.makeUnaryRequest(
            '/switchboard.v1.Switchboard/Publish',
            (bytes: Buffer) => bytes,
            (bytes: Buffer) => bytes,
            request,
            as('mallory'),
            { deadline: Date.now() + 10_000 },
            (error) => resolve(error ? `status ${error.code} ${grpcOutcome(error)}` : 'ok'),
          );
        });
    }
    case 'pusher': {
      const sdk = pusherServerSdk(server, APP);
      const body = `{"name":"deep","channel":"calm","data":${deep}}`;
      return async () => {
        const path = `/apps/${APP.id}/events`;
        const query = sdk.createSignedQueryString({ method: 'POST', path, body });
        const response = await fetch(`${server.url}${path}?${query}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
        return `${response.status} ${((await response.json()) as { code?: string }).code}`;
      };
    }
  }
}

/** How each wire refuses the deep data: malformed input, `bad_request`, before anything is stored. */
const DEEP_REFUSAL: Record<FloodWire, string> = {
  ws: 'bad_request',
  rest: '400 bad_request',
  grpc: `status ${grpc.status.INVALID_ARGUMENT} bad_request`,
  pusher: '400 bad_request',
};

describe('malformed input costs its sender only (issue 17)', () => {
  for (const wire of ['ws', 'rest', 'grpc', 'pusher'] as const) {
    it(`from ${wire}: 50 frames of data nested 20,000 deep in 2 s are refused, and every ordinary publish of other users meanwhile succeeds`, async () => {
      const server = await startTestServer({ overrides: { apiKeys: [API_KEY], pusher: { apps: [APP] } } });
      const ann = await clients.connect(server.wsUrl, 'ann');
      await ann.ok('channel.create', { channel: 'calm', channelType: 'public' });
      const cat = grpcClient(server);
      // Three other users, one per wire, publish every 20 ms while the flood lasts.
      const others: Record<string, (n: number) => Promise<boolean>> = {
        'ann on /ws': async (n) => (await ann.request('publish', { channel: 'calm', text: `ann ${n}` })).type === 'ok',
        'ben on REST': async (n) =>
          (
            await fetch(`${server.url}/api/channels/calm/messages`, {
              method: 'POST',
              headers: { 'content-type': 'application/json', 'x-switchboard-user': 'ben' },
              body: JSON.stringify({ text: `ben ${n}` }),
            })
          ).status === 201,
        'cat on gRPC': (n) => call(cat, 'Publish', { channel: 'calm', text: `cat ${n}` }, as('cat')).then(() => true, () => false),
      };
      const send = await floodSender(server, wire);
      let flooding = true;
      const tally = Object.fromEntries(Object.keys(others).map((name) => [name, { sent: 0, ok: 0 }]));
      const bystanders = Object.entries(others).map(async ([name, publish]) => {
        const pending: Promise<void>[] = [];
        for (let n = 0; flooding; n++) {
          tally[name]!.sent++;
          pending.push(publish(n).then((ok) => void (ok && tally[name]!.ok++)));
          await pace(20);
        }
        await Promise.all(pending);
      });
      const answers: Promise<string>[] = [];
      for (let n = 0; n < 50; n++) {
        answers.push(send(n));
        await pace(40);
      }
      const refusals = await Promise.all(answers);
      flooding = false;
      await Promise.all(bystanders);
      console.info(`deep flood from ${wire}: ${refusals[0]}; others: ${JSON.stringify(tally)}`);
      expect(refusals).toEqual(Array(50).fill(DEEP_REFUSAL[wire]));
      for (const [name, { sent, ok }] of Object.entries(tally)) {
        expect(sent, name).toBeGreaterThanOrEqual(50);
        expect(ok, `${name}: ${ok} of ${sent}`).toBe(sent);
      }
      // Nothing of the flood was stored: the log holds the others' messages only.
      const stored = (await server.store.getChannel('calm'))!.lastSeq;
      expect(stored).toBe(Object.values(tally).reduce((sum, { ok }) => sum + ok, 0));
    });
  }
});

type BatchWire = 'ws' | 'rest' | 'grpc';
interface BatchResult {
  readonly ok: boolean;
  readonly code?: string;
  readonly message?: string;
}

/** `publish.batch` on `wire` as `user`: the per-message results, in the protocol's words. */
async function batchPublisher(server: TestServer, wire: BatchWire, user: string): Promise<(messages: Record<string, unknown>[]) => Promise<BatchResult[]>> {
  switch (wire) {
    case 'ws': {
      const client = await clients.connect(server.wsUrl, user);
      return async (messages) => (await client.ok<{ results: BatchResult[] }>('publish.batch', { messages })).results;
    }
    case 'rest':
      return async (messages) => {
        const response = await fetch(`${server.url}/api/messages/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-switchboard-user': user },
          body: JSON.stringify({ messages }),
        });
        const body = (await response.json()) as { results: BatchResult[] };
        expect(response.status, JSON.stringify(body)).toBe(200);
        return body.results;
      };
    case 'grpc': {
      const client = grpcClient(server);
      return async (messages) => {
        const request = { messages: messages.map(({ data, ...rest }) => ({ ...rest, ...(data === undefined ? {} : { data: jsonToValue(data) }) })) };
        const { results } = await call<{ results: { ok: boolean; code?: string; message?: string }[] }>(client, 'PublishBatch', request, as(user));
        return results.map(({ ok, code, message }) =>
          ok ? { ok } : { ok, code: code?.replace(/^ERROR_CODE_/, '').toLowerCase(), message },
        );
      };
    }
  }
}

describe('publish.batch: each message succeeds or fails on its own (issue 17)', () => {
  for (const wire of ['ws', 'rest', 'grpc'] as const) {
    it(`over ${wire}: a bad message is refused in publish's words and the others are stored`, async () => {
      const server = await startTestServer();
      const owner = await clients.connect(server.wsUrl, 'owner');
      await owner.ok('channel.create', { channel: 'room', channelType: 'public' });
      const batch = await batchPublisher(server, wire, 'alice');
      const results = await batch([
        { channel: 'room', text: 'one' },
        { channel: 'room', data: nestedArrays(33) },
        { channel: 'room', text: 'three' },
        { channel: 'room', data: 'x'.repeat(32 * 1024 - 1) },
        { channel: 'room', text: 'NUL \u0000 inside' },
        { channel: 'nowhere', text: 'six' },
        { channel: 'room', text: 'seven' },
      ]);
      expect(results.map(({ ok, code, message }) => (ok ? 'ok' : `${code}: ${message}`))).toEqual([
        'ok',
        'bad_request: Invalid data: nests deeper than 32 levels.',
        'ok',
        `too_large: Invalid data: is larger than ${32 * 1024} bytes.`,
        'bad_request: Invalid text: a string contains the NUL character.',
        expect.stringMatching(/^not_found: /),
        'ok',
      ]);
      // The same refusals as one publish each gets.
      expect(await owner.request('publish', { channel: 'room', data: nestedArrays(33) })).toMatchObject({
        code: 'bad_request',
        message: 'Invalid data: nests deeper than 32 levels.',
      });
      const history = await owner.ok<{ events: { text: string }[] }>('history', { channel: 'room' });
      expect(history.events.map((event) => event.text)).toEqual(['one', 'three', 'seven']);
      // The batch's own shape is still the pipeline's: 1 to 100 messages.
      const empty = await owner.request('publish.batch', { messages: [] });
      expect(empty).toMatchObject({ type: 'error', code: 'bad_request', message: expect.stringMatching(/^Invalid messages: /) });
      const tooMany = await owner.request('publish.batch', { messages: Array.from({ length: 101 }, () => ({ channel: 'room', text: 'x' })) });
      expect(tooMany).toMatchObject({ type: 'error', code: 'bad_request', message: expect.stringMatching(/^Invalid messages: /) });
    });
  }
});

describe("one budget per user, whatever the wire (issue 17)", () => {
  it("holds ten parallel REST batches of 100 to the user's budget (300 stored, not 1,000), and that user's /ws publishes right after to what is left of it", async () => {
    // A burst of 300 and one more a second: what a user may publish right now is 300.
    const server = await startTestServer({ overrides: { limits: { messagesPerSecond: 1, messageBurst: 300 } } });
    const owner = await clients.connect(server.wsUrl, 'owner');
    await owner.ok('channel.create', { channel: 'room', channelType: 'public' });
    const alice = await clients.connect(server.wsUrl, 'alice');
    const started = performance.now();
    const answers = await Promise.all(
      Array.from({ length: 10 }, (_, b) =>
        fetch(`${server.url}/api/messages/batch`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', 'x-switchboard-user': 'alice' },
          body: JSON.stringify({ messages: Array.from({ length: 100 }, (_, i) => ({ channel: 'room', text: `batch ${b}.${i}` })) }),
        }).then(async (response) => ({ status: response.status, body: (await response.json()) as { code?: string; results?: BatchResult[] } })),
      ),
    );
    const stored = answers.filter((answer) => answer.status === 200);
    const refused = answers.filter((answer) => answer.status === 429);
    // Each batch is paid for whole (100), or refused whole with nothing stored.
    expect(stored.length).toBe(3);
    expect(refused.length).toBe(7);
    for (const answer of stored) expect(answer.body.results!.every((result) => result.ok)).toBe(true);
    for (const answer of refused) expect(answer.body.code).toBe('rate_limited');
    expect((await server.store.getChannel('room'))!.lastSeq).toBe(300);

    // The same user on /ws draws on the same budget, which the batches emptied.
    const replies = await Promise.all(Array.from({ length: 250 }, (_, i) => alice.request('publish', { channel: 'room', text: `ws ${i}` })));
    const seconds = (performance.now() - started) / 1000;
    const accepted = replies.filter((reply) => reply.type === 'ok').length;
    expect(replies.filter((reply) => reply.type === 'error').every((reply) => reply.code === 'rate_limited')).toBe(true);
    console.info(`one budget: 3 batches of 100 stored, then ${accepted} of 250 /ws publishes, in ${seconds.toFixed(2)} s`);
    // What refilled meanwhile (one a second), no more: with a budget per wire it would be 250.
    expect(accepted).toBeLessThanOrEqual(Math.ceil(seconds));
    expect((await server.store.getChannel('room'))!.lastSeq).toBe(300 + accepted);
    // Another user's budget is their own.
    expect(await owner.request('publish', { channel: 'room', text: 'owner' })).toMatchObject({ type: 'ok' });
  });
});
