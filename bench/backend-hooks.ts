/**
 * What the app backend's hooks cost: the added latency per hook (publish, subscribe,
 * rpc; p50/p99, a WebSocket round trip with the hook against the same without it) and
 * the rate at which /ws connections authenticate with the connect hook on and off. One
 * in-process server on SQLite, one plain node:http backend on loopback that allows
 * everything (so the figures are Switchboard's side plus a loopback HTTP round trip).
 *
 *   npx tsx bench/backend-hooks.ts [--requests 500] [--connections 300] [--transport http|grpc]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';
import WebSocket from 'ws';
import { type Config, type DeepPartial, loadConfig } from '../src/config.js';
import { PROXY_LOADER_OPTIONS, PROXY_PROTO } from '../src/hooks/grpc-backend.js';
import { type RunningServer, startServer } from '../src/server.js';

const { values } = parseArgs({
  options: {
    requests: { type: 'string', default: '500' },
    connections: { type: 'string', default: '300' },
    transport: { type: 'string', default: 'http' },
    help: { type: 'boolean', default: false },
  },
});
if (values.help) {
  console.log(`npx tsx bench/backend-hooks.ts [--requests 500] [--connections 300] [--transport http|grpc]

Added latency per hook (publish, subscribe, rpc against ping; p50/p99 of one /ws client's
round trip with the hook against the same without it) and the rate /ws connections
authenticate with the connect hook on and off, against an allow-all loopback backend.`);
  process.exit(0);
}
const REQUESTS = Number(values.requests);
const CONNECTIONS = Number(values.connections);
const SECRET = 'bench-hook-secret-0123456789';
const API_KEY = 'bench-api-key-0123456789abcdef';

/** The backend: allow everything (connect names the user from the auth data). */
function answer(hook: string, request: Record<string, unknown>): Record<string, unknown> {
  if (hook === 'connect') return { user: String((request.data as { me?: string } | null)?.me ?? request.user ?? 'guest') };
  if (hook === 'rpc') return { data: { ok: true } };
  return {};
}

async function startBackend(): Promise<{ settings: object; close(): Promise<void> }> {
  if (values.transport === 'grpc') {
    const definition = grpc.loadPackageDefinition(loadSync(PROXY_PROTO, PROXY_LOADER_OPTIONS)) as never;
    const service = (definition['switchboard']['proxy']['v1']['SwitchboardProxy'] as { service: grpc.ServiceDefinition }).service;
    const json = (value: unknown) => Buffer.from(JSON.stringify(value));
    const server = new grpc.Server();
    const handle = (hook: string) => ((call: { request: Record<string, unknown> }, done: (e: null, r: unknown) => void) => {
      const request = { ...call.request, data: call.request.data ? JSON.parse(String(call.request.data)) : null };
      const result = answer(hook, request);
      done(null, { result: hook === 'rpc' ? { data: json(result.data) } : result });
    }) as never;
    server.addService(service, { Connect: handle('connect'), Subscribe: handle('subscribe'), Publish: handle('publish'), RPC: handle('rpc'), Refresh: handle('refresh') });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    return { settings: { grpc: { address: `127.0.0.1:${port}` } }, close: async () => server.forceShutdown() };
  }
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => {
      const result = answer((request.url ?? '').slice(1), JSON.parse(body) as Record<string, unknown>);
      response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ result }));
    });
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    settings: { http: { url: `http://127.0.0.1:${port}`, secret: SECRET } },
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function startNode(
  hooks: DeepPartial<Config['hooks']>,
  dir: string,
  name: string,
  namespaces: DeepPartial<Config['namespaces']> = {},
): Promise<RunningServer> {
  const config = loadConfig({
    overrides: {
      host: '127.0.0.1',
      port: 0,
      grpcPort: 0,
      transports: ['ws', 'http'],
      databaseUrl: `sqlite:${join(dir, `${name}.db`)}`,
      logLevel: 'silent',
      apiKeys: [API_KEY],
      limits: { messagesPerSecond: 100_000, messageBurst: 100_000, connectionsPerIp: 100_000, maxSessionsPerUser: 100_000 },
      hooks: { rpcPerSecond: 100_000, rpcBurst: 100_000, ...hooks } as never,
      namespaces: namespaces as never,
    },
  });
  const server = await startServer(config);
  for (const channel of ['plain', 'hooked:1']) {
    await fetch(`${server.url}/api/channels`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-switchboard-key': API_KEY },
      body: JSON.stringify({ channel, channelType: 'public' }),
    });
  }
  return server;
}

/** A raw /ws client: one request at a time, resolved by id. */
class Client {
  readonly socket: WebSocket;
  #next = 1;
  readonly #pending = new Map<number, (frame: Record<string, unknown>) => void>();

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Record<string, unknown>;
      const done = this.#pending.get(frame.id as number);
      if (done) {
        this.#pending.delete(frame.id as number);
        done(frame);
      }
    });
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
  }

  async request(type: string, fields: Record<string, unknown>): Promise<Record<string, unknown>> {
    const id = this.#next++;
    const reply = new Promise<Record<string, unknown>>((resolve) => this.#pending.set(id, resolve));
    this.socket.send(JSON.stringify({ type, id, ...fields }));
    const frame = await reply;
    if (frame.type !== 'ok') throw new Error(`${type}: ${JSON.stringify(frame)}`);
    return frame;
  }
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function timed(count: number, run: (i: number) => Promise<unknown>): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await run(i);
    samples.push(performance.now() - started);
  }
  return samples.sort((a, b) => a - b);
}

async function connectRate(server: RunningServer, hooked: boolean): Promise<number> {
  const wsUrl = `${server.url.replace('http', 'ws')}/ws`;
  const started = performance.now();
  const clients: Client[] = [];
  // 20 at a time: a realistic burst, not one socket at a time.
  for (let i = 0; i < CONNECTIONS; i += 20) {
    const batch = Array.from({ length: Math.min(20, CONNECTIONS - i) }, (_, k) => {
      const client = new Client(hooked ? wsUrl : `${wsUrl}?user=u${i + k}`);
      clients.push(client);
      const welcomed = hooked ? null : waitWelcome(client);
      return client.opened().then(async () => {
        if (welcomed) await welcomed;
        else await client.request('auth', { data: { me: `u${i + k}` } });
      });
    });
    await Promise.all(batch);
  }
  const rate = CONNECTIONS / ((performance.now() - started) / 1000);
  for (const client of clients) client.socket.terminate();
  return rate;
}

function waitWelcome(client: Client): Promise<void> {
  return new Promise((resolve) => client.socket.once('message', () => resolve()));
}

const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-hooks-'));
const backend = await startBackend();
const plain = await startNode({}, dir, 'plain');
const hooked = await startNode(
  {
    backends: { app: { ...backend.settings, timeoutMs: 5000, maxConcurrent: 64 } },
    rpc: 'app',
  },
  dir,
  'hooked',
  { hooked: { hooks: { subscribe: 'app', publish: 'app' } } },
);
const connectHooked = await startNode({ backends: { app: { ...backend.settings, timeoutMs: 5000 } }, connect: 'app' }, dir, 'connect');

const client = new Client(`${hooked.url.replace('http', 'ws')}/ws?user=bench`);
const welcomed = waitWelcome(client);
await client.opened();
await welcomed;
// Warm up both paths (JIT, keep-alive connections to the backend).
await timed(50, (i) => client.request('publish', { channel: i % 2 ? 'plain' : 'hooked:1', text: 'warm' }));

const rows: string[][] = [];
const report = (name: string, off: number[], on: number[]) => {
  const f = (n: number) => n.toFixed(2);
  rows.push([name, f(percentile(off, 50)), f(percentile(on, 50)), f(percentile(on, 50) - percentile(off, 50)), f(percentile(off, 99)), f(percentile(on, 99)), f(percentile(on, 99) - percentile(off, 99))]);
};
report(
  'publish',
  await timed(REQUESTS, () => client.request('publish', { channel: 'plain', text: 'x' })),
  await timed(REQUESTS, () => client.request('publish', { channel: 'hooked:1', text: 'x' })),
);
const subscribeRound = (channel: string) => async () => {
  await client.request('subscribe', { channel, presence: false });
  await client.request('unsubscribe', { channel });
};
report('subscribe (+unsubscribe)', await timed(REQUESTS, subscribeRound('plain')), await timed(REQUESTS, subscribeRound('hooked:1')));
report(
  'rpc vs ping',
  await timed(REQUESTS, () => client.request('ping', {})),
  await timed(REQUESTS, () => client.request('rpc', { method: 'bench', data: { n: 1 } })),
);
client.socket.terminate();

const rateOff = await connectRate(plain, false);
const rateOn = await connectRate(connectHooked, true);

console.log(`backend hooks over ${values.transport}, ${REQUESTS} sequential requests each, ms (one /ws client, loopback backend)`);
console.log('| hook | p50 off | p50 on | p50 added | p99 off | p99 on | p99 added |');
console.log('| --- | --- | --- | --- | --- | --- | --- |');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);
console.log(`connect rate, ${CONNECTIONS} /ws connections 20 at a time: hook off ${rateOff.toFixed(0)}/s, hook on ${rateOn.toFixed(0)}/s`);

await Promise.all([plain.close(), hooked.close(), connectHooked.close()]);
await backend.close();
rmSync(dir, { recursive: true, force: true });
