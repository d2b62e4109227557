import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.js';
import { publish, rest } from './helpers/retention-suite.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { subscribeOn } from './helpers/wire-subscribers.js';
import { useWsClients } from './helpers/ws-test-client.js';

/**
 * Namespaces from the config file: the example in docs/configuration.md, started as it
 * stands, gives each namespace its options (retention, autoCreate on every wire, publish
 * policy, presence, subscriber limit); channels without a namespace keep today's rules;
 * bad namespace settings are one sentence each.
 */
const clients = useWsClients();
const API_KEY = 'namespaces-test-key-0123456789';

/** The JSON block under "### Example" in docs/configuration.md, written to a file of its own. */
function exampleConfigFile(): string {
  const docs = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');
  const section = docs.slice(docs.indexOf('## Namespaces'));
  const example = section.slice(section.indexOf('### Example'));
  const json = /```json\n([\s\S]*?)```/.exec(example)![1]!;
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-ns-'));
  onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'switchboard.json');
  writeFileSync(file, json);
  return file;
}

async function exampleServer(): Promise<TestServer> {
  return startTestServer({ configFile: exampleConfigFile(), overrides: { apiKeys: [API_KEY] } });
}

async function serverPublish(server: TestServer, channel: string, text: string): Promise<{ status: number; seq: number }> {
  const response = await fetch(`${server.url}/api/channels/${encodeURIComponent(channel)}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ text }),
  });
  return { status: response.status, seq: ((await response.json()) as { seq: number }).seq };
}

describe('namespaces from the documented example', () => {
  it('validates as it stands and names its three namespaces', () => {
    const config = loadConfig({ file: exampleConfigFile() });
    expect(Object.keys(config.namespaces)).toEqual(['chat', 'live', 'ticker']);
    expect(config.namespaces.live!.retention).toEqual({ mode: 'memory', maxCount: 200 });
    expect(config.namespaces.ticker!.retention).toEqual({ mode: 'none' });
  });

  it('creates live: rooms on demand on every wire, and keeps them in a ring without presence', async () => {
    const server = await exampleServer();
    // REST publish to a room nobody made.
    expect(await publish(server, 'live:by-rest', 'first')).toBe(1);
    expect((await rest(server, 'GET', '/api/channels/live:by-rest')).body).toMatchObject({ id: 'live:by-rest', type: 'public', lastSeq: 1 });
    // A stream, a /ws subscribe and a gRPC Subscribe of rooms nobody made.
    for (const wire of ['sse-stream', 'ws', 'grpc'] as const) {
      const channel = `live:by-${wire}`;
      const subscriber = await subscribeOn(wire, server, { user: 'bob' }, channel);
      expect(subscriber.subscribed.seq, wire).toBe(0);
      expect(await publish(server, channel, 'hello')).toBe(1);
      await subscriber.waitForSeq(1);
      subscriber.close();
    }
    // presence: false: a subscriber is not announced, and the list stays empty.
    const ann = await clients.connect(server.wsUrl, 'ann');
    const bob = await clients.connect(server.wsUrl, 'bob');
    await ann.ok('subscribe', { channel: 'live:quiet' });
    await bob.ok('subscribe', { channel: 'live:quiet' });
    await bob.ok('publish', { channel: 'live:quiet', text: 'after both joined' });
    await ann.waitFor((f) => f.type === 'event' && f.channel === 'live:quiet');
    expect(ann.frames.filter((f) => f.type === 'presence')).toEqual([]);
    expect(await ann.ok('presence', { channel: 'live:quiet' })).toEqual({ members: [], next: null, users: 0, mode: 'members' });
    // The ring keeps no stored message to change.
    const edit = await bob.request('edit', { channel: 'live:quiet', seq: 1, text: 'changed' });
    expect(edit).toMatchObject({ type: 'error', code: 'bad_request' });
    expect(String(edit.message)).toMatch(/retention "memory"/);
    // A room made on demand is announced like any created channel (live lists, webhooks).
    await ann.ok('list.subscribe', { list: 'channels' });
    expect(await publish(server, 'live:announced', 'hi')).toBe(1);
    await ann.waitFor((f) => f.type === 'list' && f.action === 'add' && (f.item as { id?: string }).id === 'live:announced');
    // A channel without a namespace keeps today's rule: unknown is not found.
    expect((await rest(server, 'POST', '/api/channels/elsewhere/messages', { text: 'x' })).status).toBe(404);
    expect((await rest(server, 'POST', '/api/channels/chat:general/messages', { text: 'x' })).status).toBe(404);
  });

  it('gives chat: rooms durable history and ticker: channels server-only publishing that keeps nothing', async () => {
    const server = await exampleServer();
    const created = await rest(server, 'POST', '/api/channels', { channel: 'chat:general', channelType: 'public' });
    expect(created.status).toBe(201);
    for (let i = 1; i <= 3; i++) expect(await publish(server, 'chat:general', `m${i}`)).toBe(i);
    const history = await rest<{ events: { seq: number }[] }>(server, 'GET', '/api/channels/chat:general/messages');
    expect(history.body.events.map((e) => e.seq)).toEqual([1, 2, 3]);

    // ticker: made on demand, but only the server publishes.
    const refused = await rest(server, 'POST', '/api/channels/ticker:btc/messages', { text: '1' });
    expect(refused.status).toBe(403);
    const ticks = await subscribeOn('ws', server, { user: 'bob' }, 'ticker:btc');
    expect(await serverPublish(server, 'ticker:btc', '100')).toEqual({ status: 201, seq: 1 });
    expect(await serverPublish(server, 'ticker:btc', '101')).toEqual({ status: 201, seq: 2 });
    await ticks.waitForSeq(2);
    expect(ticks.seqs()).toEqual([1, 2]);
    const kept = await rest<{ events: unknown[] }>(server, 'GET', '/api/channels/ticker:btc/messages');
    expect(kept.body.events).toEqual([]);
  });
});

describe('namespace options', () => {
  it('refuses one subscriber too many per channel with too_many_subscriptions', async () => {
    const server = await startTestServer({ overrides: { namespaces: { solo: { autoCreate: true, maxSubscribers: 1 } } } });
    const ann = await clients.connect(server.wsUrl, 'ann');
    const bob = await clients.connect(server.wsUrl, 'bob');
    await ann.ok('subscribe', { channel: 'solo:x' });
    expect(await bob.request('subscribe', { channel: 'solo:x' })).toMatchObject({ type: 'error', code: 'too_many_subscriptions' });
    await ann.ok('unsubscribe', { channel: 'solo:x' });
    await bob.ok('subscribe', { channel: 'solo:x' });
  });

  it('makes private rooms on demand owned by whoever made them', async () => {
    const server = await startTestServer({ overrides: { namespaces: { team: { autoCreate: true, channelType: 'private' } } } });
    expect(await publish(server, 'team:red', 'mine')).toBe(1);
    expect((await rest(server, 'GET', '/api/channels/team:red')).body).toMatchObject({ type: 'private', createdBy: 'ann', publish: 'members' });
    expect((await rest(server, 'GET', '/api/channels/team:red/messages', undefined, 'eve')).status).toBe(403);
  });

  it('takes a retention from channel.create, and refuses one that makes no sense', async () => {
    const server = await startTestServer();
    const bad = await rest(server, 'POST', '/api/channels', { channel: 'odd', channelType: 'public', retention: { mode: 'none', maxCount: 3 } });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toMatch(/keeps nothing/);
    expect((await rest(server, 'GET', '/api/channels/odd')).status).toBe(404);
    const made = await rest(server, 'POST', '/api/channels', { channel: 'brief', channelType: 'public', retention: { mode: 'durable', maxCount: 2 } });
    expect(made.body).toMatchObject({ retention: { mode: 'durable', maxCount: 2 } });
  });

  const problems = (namespaces: unknown): readonly string[] => {
    try {
      loadConfig({ overrides: { namespaces } as never });
    } catch (error) {
      if (error instanceof ConfigError) return error.problems;
      throw error;
    }
    return [];
  };

  it('says what is wrong with a namespace in one sentence', () => {
    expect(problems({ ticker: { retention: { mode: 'none', maxAge: 5 } } })).toEqual([
      'Invalid setting namespaces.ticker.retention: retention "none" keeps nothing, so it takes no maxAge or maxCount.',
    ]);
    expect(problems({ live: { retention: { mode: 'memory', maxCount: 20_000 } } })).toEqual([
      'Invalid setting namespaces.live.retention: a memory ring holds at most 10000 events.',
    ]);
    expect(problems({ user: {} })).toEqual([
      'Invalid setting namespaces.user: user, dm, pusher are not namespaces: those prefixes are reserved.',
    ]);
    expect(problems({ 'Big Room': {} })).toEqual([
      'Invalid setting namespaces.Big Room: a namespace name is 1-32 lowercase letters, digits, `_` or `-`.',
    ]);
    expect(problems({ live: { autocreate: true } })).toEqual([
      'Unknown setting namespaces.live.autocreate: docs/configuration.md lists every setting.',
    ]);
    expect(problems({ live: { retention: { mode: 'forever' } } })[0]).toMatch(/^Invalid setting namespaces\.live\.retention\.mode: .*\.$/);
  });
});
