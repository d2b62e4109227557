import type { AddressInfo } from 'node:net';
import { describe, expect, it, onTestFinished } from 'vitest';
import { WebSocketServer } from 'ws';
import { RawWs } from '../bench/lib/raw-ws.js';
import { switchboardProtocol } from '../bench/lib/targets.js';
import { startTestServer } from './helpers/test-server.js';

const MARKER = { offset: 2, byte: 'i'.charCodeAt(0) };

import type { WebSocket } from 'ws';

async function startPeer(onConnection: (ws: WebSocket) => void): Promise<number> {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: false });
  await new Promise<void>((resolve) => server.once('listening', () => resolve()));
  onTestFinished(() => new Promise<void>((resolve) => server.close(() => resolve())));
  server.on('connection', onConnection);
  return (server.address() as AddressInfo).port;
}

function frameBytes(payload: string): number {
  const length = Buffer.byteLength(payload);
  return length + (length < 126 ? 2 : length < 65536 ? 4 : 10);
}

describe('bench RawWs', () => {
  it('counts marked frames of every header size by bytes alone, across TCP chunks', async () => {
    const payloads = [
      `{"id":1,"x":"${'a'.repeat(10)}"}`,
      `{"id":2,"x":"${'b'.repeat(300)}"}`,
      `{"ack":3}`,
      `{"id":4,"x":"${'c'.repeat(70_000)}"}`,
      `{"id":5}`,
    ];
    const repeats = 200;
    let ponged = false;
    const port = await startPeer((peer) => {
      peer.on('pong', (data) => (ponged = String(data) === 'hi'));
      for (let k = 0; k < repeats; k++) for (const payload of payloads) peer.send(payload);
      peer.ping('hi');
      peer.send('{"id":6,"last":true}');
    });
    const ws = new RawWs({ port, path: '/', marker: MARKER });
    ws.mode = 'count';
    await ws.open();
    const counted = payloads.filter((p) => p.startsWith('{"id"'));
    const expected = repeats * counted.length + 1;
    const deadline = Date.now() + 10_000;
    while ((ws.deliveries < expected || !ponged) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect(ws.deliveries).toBe(expected);
    expect(ws.deliveryBytes).toBe(repeats * counted.reduce((n, p) => n + frameBytes(p), 0) + frameBytes('{"id":6,"last":true}'));
    // Every data frame counts (not the ping), and the ping was answered with its payload.
    expect(ws.frames).toBe(repeats * payloads.length + 1);
    expect(ponged).toBe(true);
    ws.close();
  });

  it('hands every text frame over intact in decode mode', async () => {
    const big = `{"id":9,"x":"${'z'.repeat(100_000)}"}`;
    const port = await startPeer((peer) => {
      peer.send('{"id":7}');
      peer.send(big);
    });
    const ws = new RawWs({ port, path: '/', marker: MARKER });
    const texts: string[] = [];
    ws.onText = (text) => texts.push(text);
    const second = ws.waitFor((text) => (text === big ? true : undefined), 10_000);
    await ws.open();
    await second;
    expect(texts).toEqual(['{"id":7}', big]);
    ws.close();
  });
});

describe('bench Switchboard client protocol', () => {
  it('subscribes, publishes with a timestamp, and times the delivery', async () => {
    const server = await startTestServer();
    const publisher = await switchboardProtocol.connect(server.port, 'bench-pub', null);
    await switchboardProtocol.prepareChannel(publisher, 'bench-test');
    const counter = await switchboardProtocol.connect(server.port, 'bench-sub', 'bench-test');
    counter.mode = 'count';
    const probe = await switchboardProtocol.connect(server.port, 'bench-probe', 'bench-test');
    const delivered = probe.waitFor((text) => switchboardProtocol.sentAtOf(text));
    const ack = publisher.waitFor((text) => switchboardProtocol.ackOf(text));
    const sentAt = performance.timeOrigin + performance.now();
    publisher.send(switchboardProtocol.publishFrame(42, 'bench-test', 'hello', sentAt));
    expect(await ack).toEqual({ id: 42, ok: true, error: undefined });
    expect(await delivered).toBe(sentAt);
    const deadline = Date.now() + 5000;
    while (counter.deliveries < 1 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    // The counting client saw the event but not the presence frame of the probe joining.
    expect(counter.deliveries).toBe(1);
    expect(counter.frames).toBeGreaterThan(1);
    for (const ws of [publisher, counter, probe]) ws.close();
  });
});
