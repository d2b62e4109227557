import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import {
  backoffCeiling,
  backoffDelay,
  type ClientError,
  type ConnectionState,
  createClient,
  type DisconnectInfo,
  type SwitchboardClient,
} from '../client/src/index.js';
import { useSdkClients } from './helpers/sdk-clients.js';
import { startTestServer } from './helpers/test-server.js';

const clients = useSdkClients();

function track(client: SwitchboardClient) {
  clients.track(client);
  const states: ConnectionState[] = [];
  const errors: ClientError[] = [];
  const reconnects: { attempt: number; delayMs: number }[] = [];
  client.on('state', ({ state }) => states.push(state));
  client.on('error', (error) => errors.push(error));
  client.on('reconnecting', (r) => reconnects.push(r));
  const stopped = new Promise<DisconnectInfo>((resolve) => {
    client.on('disconnected', (info) => {
      if (!info.willReconnect) resolve(info);
    });
  });
  return { states, errors, reconnects, stopped };
}

describe('client SDK: connection', () => {
  it('stops reconnecting after an auth failure and says why (close 4400)', async () => {
    const server = await startTestServer();
    const proxy = await clients.proxy(server.port);
    let disconnects = 0;
    const client = createClient({
      url: `ws://127.0.0.1:${proxy.port}/ws`,
      user: 'bad name!',
      backoff: { initialDelayMs: 1, maxDelayMs: 1 },
    });
    const seen = track(client);
    client.on('disconnected', () => disconnects++);
    const pending = client.ping();

    const info = await seen.stopped;
    expect(info).toMatchObject({ code: 4400, willReconnect: false, error: { code: 'bad_request' } });
    expect(info.error!.message).toMatch(/user name/);
    expect(seen.errors.map((e) => e.code)).toEqual(['bad_request']);
    await expect(pending).rejects.toMatchObject({ code: 'bad_request', request: 'ping' });
    expect(seen.states).toEqual(['disconnected']);
    expect(seen.reconnects).toEqual([]);
    expect(disconnects).toBe(1);
    // Stopped for good: later requests fail at once with the same reason.
    await expect(client.publish('x', 'hi')).rejects.toMatchObject({ code: 'bad_request' });
    await expect(client.ready()).rejects.toMatchObject({ code: 'bad_request' });
    expect(proxy.connectionCount).toBe(0);
  });

  it('stops after a rejected token (the auth reply, not a close code)', async () => {
    const server = await startTestServer();
    const client = createClient({ url: server.wsUrl, token: 'not-a-token', backoff: { initialDelayMs: 1, maxDelayMs: 1 } });
    const seen = track(client);
    const info = await seen.stopped;
    // Open mode has no tokens: the server answers `unauthorized`.
    expect(info.error).toMatchObject({ code: 'unauthorized' });
    expect(seen.reconnects).toEqual([]);
    expect(client.state).toBe('disconnected');
  });

  it('stops when the server refuses the upgrade itself (a foreign Origin gets HTTP 403)', async () => {
    const server = await startTestServer();
    // A browser on another site: what the server's Origin check exists to refuse.
    class ForeignPage extends WebSocket {
      constructor(url: string) {
        super(url, { origin: 'https://elsewhere.example' });
      }
    }
    const client = createClient({ url: server.wsUrl, user: 'alice', WebSocket: ForeignPage });
    const seen = track(client);
    const info = await seen.stopped;
    expect(info.error).toMatchObject({ code: 'forbidden', details: { httpStatus: 403 } });
    expect(seen.reconnects).toEqual([]);
  });

  it('signs in with a token, and with a fresh single-use ticket for every connection (auth "accounts")', async () => {
    const server = await startTestServer({ overrides: { auth: 'accounts' } });
    const proxy = await clients.proxy(server.port);
    const registered = await fetch(`${server.url}/api/auth/register`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'alice', password: 'correct horse battery staple' }),
    });
    const { accessToken } = (await registered.json()) as { accessToken: string };

    const byToken = createClient({ url: `ws://127.0.0.1:${proxy.port}/ws`, token: accessToken });
    clients.track(byToken);
    expect(await byToken.ready()).toMatchObject({ user: 'alice' });
    await byToken.createChannel({ channel: 'lobby', type: 'public' });

    const tickets: string[] = [];
    const byTicket = createClient({
      url: `ws://127.0.0.1:${proxy.port}/ws`,
      backoff: { initialDelayMs: 5 },
      ticket: async () => {
        const response = await fetch(`${server.url}/api/tickets`, {
          method: 'POST',
          headers: { authorization: `Bearer ${accessToken}` },
        });
        const { ticket } = (await response.json()) as { ticket: string };
        tickets.push(ticket);
        return ticket;
      },
    });
    const seen = track(byTicket);
    const seqs: number[] = [];
    await byTicket.subscribe('lobby', (event) => seqs.push(event.seq));
    await byToken.publish('lobby', 'one');

    const back = new Promise((resolve) => byTicket.once('connected', resolve));
    proxy.dropAll();
    await back;
    const second = new Promise<void>((resolve) => byTicket.on('event', (event) => event.seq === 2 && resolve()));
    await byToken.publish('lobby', 'two');
    await second;
    expect(seqs).toEqual([1, 2]);
    // The first ticket was used up: the reconnect fetched another.
    expect(tickets).toHaveLength(2);
    expect(new Set(tickets).size).toBe(2);
    expect(seen.states).toEqual(['connected', 'reconnecting', 'connected']);
  });

  it('reconnects after a cut connection and reports each state', async () => {
    const server = await startTestServer();
    const proxy = await clients.proxy(server.port);
    const client = createClient({ url: `ws://127.0.0.1:${proxy.port}/ws`, user: 'alice', backoff: { initialDelayMs: 5 } });
    const seen = track(client);
    await client.ready();
    const disconnected = new Promise<DisconnectInfo>((resolve) => client.once('disconnected', resolve));
    const reconnected = new Promise((resolve) => client.once('connected', resolve));
    proxy.dropAll();
    expect(await disconnected).toMatchObject({ code: 1006, willReconnect: true, error: null });
    await reconnected;
    expect(seen.states).toEqual(['connected', 'reconnecting', 'connected']);
    expect(seen.reconnects).toHaveLength(1);
    expect(seen.reconnects[0]!.attempt).toBe(1);
  });

  it('backs off with full jitter: ceilings double up to the cap, delays never pass it', async () => {
    const options = { initialDelayMs: 100, maxDelayMs: 5_000, factor: 2, random: Math.random };
    const ceilings = Array.from({ length: 10 }, (_, attempt) => backoffCeiling(attempt, options));
    expect(ceilings).toEqual([100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000]);
    for (let attempt = 0; attempt < 10; attempt++) {
      const samples = Array.from({ length: 500 }, () => backoffDelay(attempt, options));
      expect(Math.min(...samples)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...samples)).toBeLessThan(ceilings[attempt]!);
      // Full jitter spreads over the whole range, not a band near the ceiling.
      expect(Math.min(...samples)).toBeLessThan(ceilings[attempt]! * 0.1);
      expect(Math.max(...samples)).toBeGreaterThan(ceilings[attempt]! * 0.9);
    }

    // A live client against a port where nothing listens: the delays it reports grow, then stay at the cap.
    const server = await startTestServer();
    const url = server.wsUrl;
    await server.close();
    const client = createClient({ url, user: 'alice', backoff: { initialDelayMs: 4, maxDelayMs: 40, random: () => 0.999 } });
    const seen = track(client);
    await new Promise<void>((resolve) => {
      client.on('reconnecting', ({ attempt }) => {
        if (attempt === 7) resolve();
      });
    });
    await client.close();
    expect(seen.reconnects.map((r) => r.delayMs)).toEqual([3, 7, 15, 31, 39, 39, 39]);
    expect(seen.states).toEqual(['reconnecting', 'disconnected']);
  });

  it("retries a connect that failed with an error and no close event (Node 22's WebSocket does that)", async () => {
    const server = await startTestServer();
    const url = server.wsUrl;
    await server.close();
    // The real `ws` socket to a port where nothing listens, with its close event withheld:
    // what Node 22's built-in WebSocket does (error, then readyState stuck at CONNECTING).
    class ErrorOnlySocket {
      readonly #socket: WebSocket;
      onopen: ((event: unknown) => void) | null = null;
      onmessage: ((event: { data: unknown }) => void) | null = null;
      onclose: ((event: { code: number; reason: string }) => void) | null = null;
      onerror: ((event: unknown) => void) | null = null;
      constructor(target: string) {
        this.#socket = new WebSocket(target);
        this.#socket.onopen = (event) => this.onopen?.(event);
        this.#socket.onerror = (event) => this.onerror?.(event);
      }
      get readyState(): number {
        return this.#socket.readyState === WebSocket.CLOSED ? WebSocket.CONNECTING : this.#socket.readyState;
      }
      send(data: string): void {
        this.#socket.send(data);
      }
      close(code?: number, reason?: string): void {
        this.#socket.close(code, reason);
      }
    }
    const client = createClient({ url, user: 'alice', WebSocket: ErrorOnlySocket, backoff: { initialDelayMs: 4, maxDelayMs: 8 } });
    const seen = track(client);
    await new Promise<void>((resolve) => {
      client.on('reconnecting', ({ attempt }) => {
        if (attempt === 3) resolve();
      });
    });
    await client.close();
    expect(seen.reconnects.map((r) => r.attempt)).toEqual([1, 2, 3]);
  });

  it('leaves no timer, socket or unhandled rejection behind after close()', async () => {
    const server = await startTestServer();
    const proxy = await clients.proxy(server.port);
    await createAndClose(server.wsUrl);
    const script = fileURLToPath(new URL('./helpers/client-close-check.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, `ws://127.0.0.1:${proxy.port}/ws`], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const lines: unknown[] = [];
    let buffered = '';
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const parts = buffered.split('\n');
      buffered = parts.pop()!;
      for (const line of parts) {
        const message = JSON.parse(line) as { ready?: boolean };
        lines.push(message);
        // Cut the child's connection once it is subscribed: it now waits 20 s to reconnect, then closes.
        if (message.ready) proxy.dropAll();
      }
    });
    const killer = setTimeout(() => child.kill(), 10_000);
    const [code] = (await once(child, 'exit')) as [number | null];
    clearTimeout(killer);
    expect(lines).toEqual([{ ready: true }, { state: 'disconnected', pending: 'closed' }]);
    // It exited by itself, long before its 20 s reconnect timer or 60 s request timeout.
    expect(code).toBe(0);
  });
});

async function createAndClose(url: string): Promise<void> {
  // Closing while the first connection is still opening is fine too.
  const client = createClient({ url, user: 'early' });
  await client.close();
  expect(client.state).toBe('disconnected');
}
