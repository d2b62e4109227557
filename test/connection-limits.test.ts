import { connect, type Socket } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { as, call, failure, packageObject, StreamRecorder, track } from './helpers/grpc-test-client.js';
import { type GuardedNode, startGuardedNode } from './helpers/guarded-node.js';
import { PusherSocket } from './helpers/pusher-socket.js';
import { SseClient } from './helpers/sse-client.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { useWsClients, type WsTestClient } from './helpers/ws-test-client.js';

/**
 * Issue 17, "One budget per user and per address, whatever the transport": one count of
 * connections per address (limits.connectionsPerIp) over /ws, SSE, gRPC streams and Pusher
 * sockets together, gRPC streams per HTTP/2 connection capped, and connections that never
 * complete a request closed after the header timeout and counted while they are open.
 */

const clients = useWsClients();
const APP = { id: '4242', key: 'guard-app', secret: 'guard-app-secret-0123' };
/** The address under test, and another one with its own allowance. */
const HERE = '127.0.0.1';
const ELSEWHERE = '127.0.0.2';

/** A gRPC client on its own connection (grpc-js shares connections between clients with equal options). */
function freshGrpcClient(port: number): grpc.Client {
  return track(
    new packageObject.switchboard.v1.Switchboard(`${HERE}:${port}`, grpc.credentials.createInsecure(), {
      'grpc.use_local_subchannel_pool': 1,
    }),
  );
}

/** What one wire's long-lived connection looks like to the test: held open, or refused. */
interface Held {
  /** Resolves when admitted and live; rejects with how it was refused. */
  readonly open: Promise<void>;
  close(): Promise<unknown> | void;
}

type Wire = 'ws' | 'sse' | 'grpc' | 'pusher';
const WIRES: readonly Wire[] = ['ws', 'sse', 'grpc', 'pusher'];

/** How each wire says "too many connections from your address". */
const REFUSAL: Record<Wire, string> = {
  ws: 'HTTP 429 rate_limited',
  sse: 'HTTP 429 rate_limited',
  grpc: `status ${grpc.status.RESOURCE_EXHAUSTED} rate_limited`,
  pusher: 'close 4100',
};

let users = 0;

/** Opens one long-lived connection of `wire` from `address` (gRPC: always from 127.0.0.1, on `grpcClient`). */
function hold(node: GuardedNode, wire: Wire, address: string, grpcClient: () => grpc.Client): Held {
  const user = `u${++users}`;
  switch (wire) {
    case 'ws': {
      const client = clients.open(`${node.wsUrl}?user=${user}`, { localAddress: address });
      // A refused upgrade never opens.
      client.opened.catch(() => {});
      const refused = new Promise<string>((resolve) =>
        client.socket.on('unexpected-response', (_request, response) => {
          let body = '';
          response.on('data', (chunk: Buffer) => (body += chunk.toString()));
          response.on('end', () => resolve(`HTTP ${response.statusCode} ${(JSON.parse(body) as { code: string }).code}`));
        }),
      );
      const open = Promise.race([
        client.waitFor((f) => f.type === 'welcome').then(() => undefined),
        refused.then((how) => Promise.reject(new Error(how))),
      ]);
      return { open, close: () => client.close() };
    }
    case 'sse': {
      const client = new SseClient(`${node.url}/stream/guarded?user=${user}`, { localAddress: address });
      const open = client.responded.then(async () => {
        if (client.status !== 200) {
          await client.waitUntil(() => client.ended, 'the refusal');
          throw new Error(`HTTP ${client.status} ${(JSON.parse(client.body) as { code: string }).code}`);
        }
        await client.ready();
      });
      return { open, close: () => client.close() };
    }
    case 'grpc': {
      const stream = new StreamRecorder(grpcClient(), { channel: 'guarded' }, as(user));
      const open = stream.live().then(
        () => undefined,
        async () => {
          const status = await stream.ended;
          throw new Error(`status ${status.code} ${status.metadata.get('x-switchboard-error')[0]}`);
        },
      );
      return { open, close: () => stream.call.cancel() };
    }
    case 'pusher': {
      const socket = new PusherSocket(node.url, APP.key, { localAddress: address });
      const open = Promise.race([
        socket.established(),
        socket.closed.then((code) => Promise.reject(new Error(`close ${code}`))),
      ]);
      return { open, close: () => socket.terminate() };
    }
  }
}

async function refusalOf(held: Held): Promise<string> {
  try {
    await held.open;
  } catch (error) {
    return (error as Error).message;
  }
  return 'admitted';
}

async function startNode(options: { connectionsPerIp: number; headerTimeoutMs?: number; grpcStreamsPerConnection?: number }) {
  const server = await startTestServer();
  const owner = await clients.connect(server.wsUrl, 'owner');
  await owner.ok('channel.create', { channel: 'guarded', channelType: 'public' });
  const node = await startGuardedNode(server, { ...options, pusherApp: APP });
  return { server, node, owner };
}

describe('one connection count per address over every long-lived wire (issue 17)', () => {
  for (const wire of WIRES) {
    it(`${wire}: an address holds connectionsPerIp (4); one more is refused, another address is not, and a closed one frees its place`, async () => {
      const { node } = await startNode({ connectionsPerIp: 4 });
      const client = freshGrpcClient(node.grpcPort);
      const held = Array.from({ length: 4 }, () => hold(node, wire, HERE, () => client));
      await Promise.all(held.map((h) => h.open));
      expect(node.guard.heldBy(HERE)).toBe(4);

      expect(await refusalOf(hold(node, wire, HERE, () => client))).toBe(REFUSAL[wire]);
      // Another address has its own allowance (gRPC clients here all come from one address: /ws stands in).
      await hold(node, wire === 'grpc' ? 'ws' : wire, ELSEWHERE, () => client).open;

      await held[0]!.close();
      await expectEventually(() => node.guard.heldBy(HERE) === 3, 'the closed connection to be released');
      await hold(node, wire, HERE, () => client).open;
      expect(node.guard.heldBy(HERE)).toBe(4);
    });
  }

  it('counts the wires together: a /ws socket, an SSE stream, a gRPC stream and a Pusher socket fill an allowance of 4 for all of them', async () => {
    const { node } = await startNode({ connectionsPerIp: 4 });
    const client = freshGrpcClient(node.grpcPort);
    await Promise.all(WIRES.map((wire) => hold(node, wire, HERE, () => client).open));
    expect(node.guard.heldBy(HERE)).toBe(4);
    for (const wire of WIRES) expect(await refusalOf(hold(node, wire, HERE, () => client)), wire).toBe(REFUSAL[wire]);
  });
});

/**
 * Resolves once `check` holds. The guard counts on the server's own events (a socket's
 * close), which the test cannot wait on directly: it is re-checked on a timer, with a deadline.
 */
async function expectEventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

describe('gRPC streams per HTTP/2 connection (issue 17)', () => {
  it('opens at most grpcStreamsPerConnection (3) streams on one connection: the client holds the rest until one ends', async () => {
    const { server, node, owner } = await startNode({ connectionsPerIp: 100, grpcStreamsPerConnection: 3 });
    const client = freshGrpcClient(node.grpcPort);
    const streams = Array.from({ length: 5 }, (_, i) => new StreamRecorder(client, { channel: 'guarded' }, as(`s${i}`)));
    const live = () => streams.filter((stream) => stream.messages.some((m) => m.subscribed)).length;
    await Promise.all(streams.slice(0, 3).map((stream) => stream.live()));
    // A publish every subscribed stream sees: the two held back are not among them.
    await owner.ok('publish', { channel: 'guarded', text: 'first' });
    await Promise.all(streams.slice(0, 3).map((stream) => stream.waitUntil(() => stream.events().length === 1)));
    expect(live()).toBe(3);
    expect(streams.slice(3).map((stream) => stream.messages.length)).toEqual([0, 0]);
    expect(server.hub.sessionCount).toBe(3 + 1);

    // One ends: the next held stream opens, and still no more than three run. The server
    // ends it: a client's own cancel races its next HEADERS frame, and Node 24's HTTP/2
    // server may still count the cancelled stream and reset the new one (ENHANCE_YOUR_CALM).
    expect(server.hub.endSessionsOf('s0', 'the test ends it')).toBe(1);
    await streams[3]!.live();
    expect(live()).toBe(4);
    expect(streams[4]!.messages).toHaveLength(0);
    expect(server.hub.endSessionsOf('s1', 'the test ends it')).toBe(1);
    await streams[4]!.live();
    for (const stream of streams.slice(2)) stream.call.cancel();
  });
});

/** A TCP connection that sends nothing (or only `bytes`), and notices when the server closes it. */
class SilentConnection {
  readonly socket: Socket;
  received = '';
  closedByServer = false;
  readonly connected: Promise<void>;
  readonly closed: Promise<void>;

  constructor(port: number, localAddress: string, bytes?: string) {
    this.socket = connect({ host: HERE, port, localAddress });
    this.socket.on('error', () => {});
    this.socket.on('data', (chunk: Buffer) => (this.received += chunk.toString('latin1')));
    this.connected = new Promise((resolve) =>
      this.socket.once('connect', () => {
        if (bytes) this.socket.write(bytes);
        resolve();
      }),
    );
    this.closed = new Promise((resolve) =>
      this.socket.once('close', () => {
        this.closedByServer = true;
        resolve();
      }),
    );
  }
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms))]);
}

describe('connections that never complete a request (issue 17)', () => {
  it('HTTP port: counted with the long-lived ones while open, closed at once past connectionsPerIp of them, the rest closed after the header timeout; a live /ws connection stays', async () => {
    const { node } = await startNode({ connectionsPerIp: 3, headerTimeoutMs: 500 });
    const port = Number(new URL(node.url).port);
    const noGrpc = () => freshGrpcClient(node.grpcPort);
    const bystander = hold(node, 'ws', ELSEWHERE, noGrpc);
    await bystander.open;
    const silent = [
      new SilentConnection(port, HERE),
      // Slowloris: headers begun, never finished.
      new SilentConnection(port, HERE, 'GET /healthz HTTP/1.1\r\nHost: x\r\n'),
    ];
    await Promise.all(silent.map((connection) => connection.connected));
    await expectEventually(() => node.guard.heldBy(HERE) === 2, 'two pending connections counted');
    // With the two, the address holds its allowance of 3 with one /ws socket: the next is refused.
    const first = hold(node, 'ws', HERE, noGrpc);
    await first.open;
    expect(await refusalOf(hold(node, 'ws', HERE, noGrpc))).toBe(REFUSAL.ws);
    // Connections that have sent nothing are held up to the allowance too; one more is closed as it arrives.
    silent.push(new SilentConnection(port, HERE));
    await silent[2]!.connected;
    const extra = new SilentConnection(port, HERE);
    await within(extra.closed, 2000, 'the connection past the limit to be closed');
    expect(extra.received).toBe('');

    // After the header timeout each gets 408 and is closed, and no longer counts.
    await within(Promise.all(silent.map((connection) => connection.closed)), 5000, 'the header timeout');
    for (const connection of silent) expect(connection.received).toMatch(/^HTTP\/1\.1 408 /);
    await expectEventually(() => node.guard.heldBy(HERE) === 1, 'the closed connections released');
    await hold(node, 'ws', HERE, noGrpc).open;
    // Connections that completed their request are not the header timeout's: they outlived it.
    expect(node.guard.heldBy(HERE)).toBe(2);
    expect(node.guard.heldBy(ELSEWHERE)).toBe(1);
  });

  it('gRPC port: counted until their first call, the ones past the limit closed at once, the rest closed after the header timeout; a live stream stays', async () => {
    const { node, owner } = await startNode({ connectionsPerIp: 3, headerTimeoutMs: 500 });
    // A stream opened first, whose connection completed its call: it outlives the timeout below.
    const streaming = freshGrpcClient(node.grpcPort);
    const stream = new StreamRecorder(streaming, { channel: 'guarded' }, as('steady'));
    await stream.live();
    expect(node.guard.heldBy(HERE)).toBe(1);
    const silent = [new SilentConnection(node.grpcPort, HERE), new SilentConnection(node.grpcPort, HERE)];
    await Promise.all(silent.map((connection) => connection.connected));
    await expectEventually(() => node.guard.heldBy(HERE) === 3, 'two pending connections counted');
    // Another stream from the address would be a fourth.
    expect(await refusalOf(hold(node, 'grpc', HERE, () => streaming))).toBe(REFUSAL.grpc);

    await within(Promise.all(silent.map((connection) => connection.closed)), 5000, 'the header timeout');
    await expectEventually(() => node.guard.heldBy(HERE) === 1, 'the closed connections released');
    // The stream's connection was not closed: the stream still delivers.
    await owner.ok('publish', { channel: 'guarded', text: 'still here' });
    await stream.waitUntil(() => stream.events().some((event) => event.text === 'still here'));
    // Past the limit of pending connections, a new one is closed as it arrives.
    const pending = [new SilentConnection(node.grpcPort, HERE), new SilentConnection(node.grpcPort, HERE), new SilentConnection(node.grpcPort, HERE)];
    await Promise.all(pending.map((connection) => connection.connected));
    await expectEventually(() => node.guard.heldBy(HERE) === 4, 'three pending connections counted');
    const extra = new SilentConnection(node.grpcPort, HERE);
    await within(extra.closed, 2000, 'the connection past the limit to be closed');
    const refused = await failure(call(freshGrpcClient(node.grpcPort), 'Ping', {}, as('late')));
    expect(refused.code).toBe(grpc.status.UNAVAILABLE);
  });
});
