import { describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { useWsClients } from './helpers/ws-test-client.js';

const clients = useWsClients();

async function storedCount(server: TestServer, channel: string): Promise<number> {
  return (await server.store.getChannel(channel))?.lastSeq ?? -1;
}

/** An array nested `depth` levels deep. */
function nested(depth: number): unknown {
  let value: unknown = 'bottom';
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

async function withChannel(overrides?: Parameters<typeof startTestServer>[0]) {
  const server = await startTestServer(overrides);
  const client = await clients.connect(server.wsUrl, 'alice');
  await client.ok('channel.create', { channel: 'room', channelType: 'public' });
  return { server, client };
}

describe('bad input on /ws', () => {
  it('answers malformed JSON with bad_request and keeps the connection', async () => {
    const { server, client } = await withChannel();
    client.sendRaw('{"type":"publish","id":1,"channel":"room","text":');
    const reply = await client.waitFor((f) => f.type === 'error');
    expect(reply).toMatchObject({ code: 'bad_request', id: null });
    expect(reply.message).toMatch(/JSON/);
    expect(await client.ok('ping')).toHaveProperty('at');
    expect(await storedCount(server, 'room')).toBe(0);
  });

  it('answers an unknown command with unknown_command and its id', async () => {
    const { client } = await withChannel();
    const reply = await client.request('shout', { channel: 'room' });
    expect(reply).toMatchObject({ type: 'error', code: 'unknown_command', message: 'Unknown command "shout".' });
    // A frame's type is a command's name, never one of the frames the server sends.
    expect(await client.request('welcome')).toMatchObject({ type: 'error', code: 'unknown_command' });
    expect(await client.ok('ping')).toHaveProperty('at');
  });

  it('refuses a frame without a usable id or type, naming what is wrong', async () => {
    const { client } = await withChannel();
    client.sendRaw(JSON.stringify({ type: 'ping' }));
    expect(await client.waitFor((f) => f.type === 'error')).toMatchObject({
      id: null,
      code: 'bad_request',
      message: expect.stringMatching(/^Invalid id: /),
    });
    client.sendRaw(JSON.stringify({ type: 'ping', id: 'x'.repeat(65) }));
    await client.waitUntil(() => client.frames.filter((f) => f.type === 'error').length === 2);
    expect(client.frames.filter((f) => f.type === 'error')[1]).toMatchObject({ id: null, code: 'bad_request' });
    expect(await client.request('', {})).toMatchObject({ code: 'unknown_command' });
    client.sendRaw(JSON.stringify({ id: 'no-type' }));
    expect(await client.waitFor((f) => f.id === 'no-type')).toMatchObject({
      type: 'error',
      code: 'bad_request',
      message: expect.stringMatching(/^Invalid type: /),
    });
    client.socket.send(Buffer.from(JSON.stringify({ type: 'ping', id: 'binary' })), { binary: true });
    expect(await client.waitFor((f) => f.type === 'error' && f.message === 'Frames are JSON text on this connection (connect with ?encoding=msgpack for MessagePack).')).toMatchObject({
      code: 'bad_request',
      id: null,
    });
    client.sendRaw('[1,2]');
    expect(await client.waitFor((f) => f.type === 'error' && f.message === 'A frame is a JSON object.')).toMatchObject({
      id: null,
    });
  });

  it('answers a missing, invalid or unknown field with bad_request naming it, and stores nothing', async () => {
    const { server, client } = await withChannel();
    const missing = await client.request('publish', { text: 'no channel' });
    expect(missing).toMatchObject({ type: 'error', code: 'bad_request', message: expect.stringMatching(/^Invalid channel: /) });
    const extra = await client.request('publish', { channel: 'room', text: 'x', colour: 'red' });
    expect(extra).toMatchObject({ type: 'error', code: 'bad_request', message: expect.stringMatching(/^Invalid request: .*colour/) });
    const badChannel = await client.request('publish', { channel: 'no spaces', text: 'x' });
    expect(badChannel).toMatchObject({
      code: 'bad_request',
      message: 'Invalid channel: a channel id is 1-128 of A-Z a-z 0-9 _ . : @ , + -.',
    });
    const empty = await client.request('publish', { channel: 'room' });
    expect(empty).toMatchObject({ type: 'error', code: 'bad_request' });
    const badSeq = await client.request('history', { channel: 'room', before: -1 });
    expect(badSeq).toMatchObject({ type: 'error', code: 'bad_request', message: expect.stringMatching(/^Invalid before: /) });
    const deep = await client.request('publish', { channel: 'room', data: nested(40) });
    expect(deep).toMatchObject({ type: 'error', code: 'bad_request', message: expect.stringMatching(/^Invalid data: /) });
    expect(await storedCount(server, 'room')).toBe(0);
  });

  it('refuses a text over the limit with too_large and stores nothing', async () => {
    const { server, client } = await withChannel({ overrides: { limits: { maxTextLength: 100 } } });
    const reply = await client.request('publish', { channel: 'room', text: 'x'.repeat(101) });
    expect(reply).toMatchObject({ type: 'error', code: 'too_large', details: { limit: 100 } });
    const data = await client.request('publish', { channel: 'room', data: 'x'.repeat(33 * 1024) });
    expect(data).toMatchObject({ type: 'error', code: 'too_large', message: expect.stringMatching(/^Invalid data: /) });
    expect(await client.ok('publish', { channel: 'room', text: 'x'.repeat(100) })).toMatchObject({ seq: 1 });
    expect(await storedCount(server, 'room')).toBe(1);
  });

  it('closes the connection with 1009 on an oversized frame; the server keeps serving', async () => {
    const { server, client } = await withChannel({ overrides: { limits: { maxFrameBytes: 1024 } } });
    client.sendRaw(JSON.stringify({ type: 'publish', id: 1, channel: 'room', text: 'x'.repeat(2000) }));
    expect(await client.closed).toBe(1009);
    const other = await clients.connect(server.wsUrl, 'bob');
    expect(await other.ok('ping')).toHaveProperty('at');
    expect(await storedCount(server, 'room')).toBe(0);
  });

  it('rate-limits a message flood, then closes the flooding connection with 4429', async () => {
    const { server, client } = await withChannel({
      overrides: { limits: { messagesPerSecond: 10, messageBurst: 10, floodCloseAfter: 50 } },
    });
    const bystander = await clients.connect(server.wsUrl, 'bob');
    await bystander.ok('subscribe', { channel: 'room' });
    for (let i = 0; i < 200; i++) {
      client.sendRaw(JSON.stringify({ type: 'publish', id: i, channel: 'room', text: `flood ${i}`, cid: `f${i}` }));
    }
    expect(await client.closed).toBe(4429);
    const limited = client.frames.filter((f) => f.type === 'error' && f.code === 'rate_limited');
    const accepted = client.frames.filter((f) => f.type === 'ok' && (f.result as { seq?: number }).seq !== undefined);
    expect(limited.length).toBeGreaterThanOrEqual(50);
    expect(accepted.length).toBeLessThanOrEqual(11);
    // Every ack stands for a stored message; a publish in flight at the close may be
    // stored without its ack reaching the client (a retry with its cid finds it).
    const stored = await storedCount(server, 'room');
    expect(stored).toBeGreaterThanOrEqual(accepted.length);
    expect(stored).toBeLessThanOrEqual(11);
    const history = await bystander.ok<{ events: { seq: number }[] }>('history', { channel: 'room' });
    const storedSeqs = new Set(history.events.map((e) => e.seq));
    for (const ack of accepted) expect(storedSeqs.has((ack.result as { seq: number }).seq)).toBe(true);
    expect(await bystander.ok('publish', { channel: 'room', text: 'still here' })).toMatchObject({
      seq: stored + 1,
    });
    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
  });

  it('refuses every command before authentication and closes an unnamed client after the timeout', async () => {
    const server = await startTestServer({ overrides: { limits: { authTimeoutMs: 200 } } });
    const anonymous = clients.open(server.wsUrl);
    await anonymous.opened;
    expect(await anonymous.request('channel.list')).toMatchObject({ type: 'error', code: 'unauthorized' });
    // ping is a command like any other: it needs a caller too.
    expect(await anonymous.request('ping')).toMatchObject({ type: 'error', code: 'unauthorized' });
    expect(await anonymous.request('auth', { user: 'alice', colour: 'red' })).toMatchObject({
      code: 'bad_request',
      message: expect.stringMatching(/^Invalid request: .*colour/),
    });
    expect(await anonymous.closed).toBe(4401);
    const badName = clients.open(`${server.wsUrl}?user=${encodeURIComponent('no spaces!')}`);
    expect(await badName.closed).toBe(4400);
  });
});
