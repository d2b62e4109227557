import { describe, expect, it } from 'vitest';
import { WebSocket } from 'ws';
import { type BatchedConnection, WriteBatcher } from '../src/transports/write-batcher.js';
import { SseClient } from './helpers/sse-client.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { WsTestClient } from './helpers/ws-test-client.js';

/**
 * The load-adaptive write delay on /ws: at low load a frame leaves at the end of its tick;
 * after a costly flush round the next one waits (at most maxDelayMs), so frames leave
 * several per write; probes decode every message and nothing is lost or reordered.
 */

/** A connection whose flush costs `costMs` of real work (what thousands of socket writes cost). */
function connection(costMs: number, flushed: string[], name: string): BatchedConnection {
  return {
    flushBatch() {
      const until = performance.now() + costMs;
      while (performance.now() < until) {
        // Busy, as writing into thousands of sockets is.
      }
      flushed.push(name);
    },
  };
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('WriteBatcher', () => {
  it('flushes at the end of the tick when rounds are cheap, and puts the next round off after a costly one', async () => {
    const batcher = new WriteBatcher({ maxDelayMs: 200, maxFramesPerWrite: 64 });
    const flushed: string[] = [];
    batcher.due(connection(0, flushed, 'cheap'));
    await nextTurn();
    expect(flushed).toEqual(['cheap']);
    expect(batcher.stats.delayedFlushes).toBe(0);

    // A round that took 40 ms of work: the next one waits about as long (capped at 200). Long
    // enough that a loaded machine's pause before the next due() cannot use the wait up.
    batcher.due(connection(40, flushed, 'costly'));
    await nextTurn();
    expect(flushed).toEqual(['cheap', 'costly']);
    let done!: () => void;
    const third = new Promise<void>((resolve) => (done = resolve));
    batcher.due({ flushBatch: () => (flushed.push('after'), done()) });
    batcher.due({ flushBatch: () => flushed.push('joined the same round') });
    await nextTurn();
    expect(flushed).toEqual(['cheap', 'costly']); // not this tick
    expect(batcher.stats.delayedFlushes).toBe(1);
    await third;
    expect(flushed).toEqual(['cheap', 'costly', 'after', 'joined the same round']);
    expect(batcher.stats.flushes).toBe(3);
  });

  it('never delays with maxDelayMs 0, and joins the same frames into one shared buffer', async () => {
    const batcher = new WriteBatcher({ maxDelayMs: 0, maxFramesPerWrite: 64 });
    const flushed: string[] = [];
    batcher.due(connection(5, flushed, 'costly'));
    await nextTurn();
    batcher.due(connection(0, flushed, 'next'));
    await nextTurn();
    expect(flushed).toEqual(['costly', 'next']);
    expect(batcher.stats.delayedFlushes).toBe(0);

    const a = Buffer.from('a');
    const b = Buffer.from('b');
    const first = batcher.join([a, b]);
    expect(String(first)).toBe('ab');
    expect(batcher.join([a, b])).toBe(first);
    expect(batcher.stats).toMatchObject({ frames: 4, writes: 2 });
  });
});

/** A bare /ws client that decodes every message and keeps the seqs of one channel. */
class Probe {
  readonly socket: WebSocket;
  readonly seqs: number[] = [];
  readonly #waiting: (() => void)[] = [];

  constructor(url: string, channel: string) {
    this.socket = new WebSocket(url);
    this.socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as { type: string; channel?: string; seq?: number; id?: number };
      if (frame.type === 'event' && frame.channel === channel) this.seqs.push(frame.seq!);
      if (frame.type === 'ok' && frame.id === 1) this.subscribed = true;
      for (const wake of this.#waiting.splice(0)) wake();
    });
  }

  subscribed = false;

  until(check: () => boolean, timeoutMs = 60_000): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`probe: ${this.seqs.length} events so far, last ${this.seqs.at(-1)}`)), timeoutMs);
      const attempt = () => {
        if (check()) {
          clearTimeout(timer);
          resolve();
        } else this.#waiting.push(attempt);
      };
      attempt();
    });
  }
}

async function writeFigures(server: TestServer): Promise<{ frames: number; writes: number; delayed: number }> {
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const figure = (name: string) => Number(new RegExp(`^${name} (\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  return {
    frames: figure('switchboard_ws_frames_written_total'),
    writes: figure('switchboard_ws_socket_writes_total'),
    delayed: figure('switchboard_ws_delayed_flushes_total'),
  };
}

describe('/ws write batching', () => {
  it('carries several events per write under load, with every event decoded once and in order by every probe', async () => {
    const server = await startTestServer({
      overrides: { limits: { connectionsPerIp: 5000, messagesPerSecond: 100_000, messageBurst: 100_000 } },
    });
    const admin = await WsTestClient.connect(server.wsUrl, 'admin');
    await admin.ok('channel.create', { channel: 'feed', channelType: 'public' });
    const probes = Array.from({ length: 400 }, (_, i) => new Probe(`${server.wsUrl}?user=p${i}`, 'feed'));
    try {
      await Promise.all(probes.map((probe) => new Promise((resolve) => probe.socket.once('open', resolve))));
      for (const probe of probes) probe.socket.send(JSON.stringify({ type: 'subscribe', id: 1, channel: 'feed', presence: false }));
      await Promise.all(probes.map((probe) => probe.until(() => probe.subscribed)));
      const before = await writeFigures(server);

      // 1,000 events as fast as the node takes them: 20 batches of 50, none awaited.
      const total = 1000;
      const batches = Array.from({ length: 20 }, (_, b) =>
        admin.ok('publish.batch', { messages: Array.from({ length: 50 }, (_, i) => ({ channel: 'feed', text: `m${b * 50 + i}` })) }),
      );
      await Promise.all(batches);
      await Promise.all(probes.map((probe) => probe.until(() => probe.seqs.length >= total)));
      const expected = Array.from({ length: total }, (_, i) => i + 1);
      for (const probe of probes) expect(probe.seqs).toEqual(expected);

      const after = await writeFigures(server);
      const frames = after.frames - before.frames;
      const writes = after.writes - before.writes;
      console.log(`write batching: ${probes.length} probes x ${total} events: ${frames} frames in ${writes} writes (${(frames / writes).toFixed(1)} per write), ${after.delayed} delayed flush rounds`);
      expect(frames).toBeGreaterThanOrEqual(probes.length * total);
      expect(frames / writes).toBeGreaterThan(2);
    } finally {
      for (const probe of probes) probe.socket.terminate();
    }
  }, 120_000);

  it('SSE streams share the batcher and still get every event once and in order under load', async () => {
    const server = await startTestServer({ overrides: { limits: { connectionsPerIp: 5000, messagesPerSecond: 100_000, messageBurst: 100_000 } } });
    const admin = await WsTestClient.connect(server.wsUrl, 'admin');
    await admin.ok('channel.create', { channel: 'wire', channelType: 'public' });
    const streams = Array.from({ length: 100 }, (_, i) => new SseClient(`${server.url}/stream/wire?user=s${i}`));
    await Promise.all(streams.map((stream) => stream.ready()));
    const total = 500;
    await Promise.all(
      Array.from({ length: 10 }, (_, b) =>
        admin.ok('publish.batch', { messages: Array.from({ length: 50 }, (_, i) => ({ channel: 'wire', text: `m${b * 50 + i}` })) }),
      ),
    );
    const expected = Array.from({ length: total }, (_, i) => i + 1);
    for (const stream of streams) {
      await stream.waitUntil(() => stream.events().length >= total, `${total} events`, 60_000);
      expect(stream.events().map((e) => e.seq)).toEqual(expected);
    }
  }, 120_000);

  it('delays nothing at low load: one subscriber, one publish, no flush put off', async () => {
    const server = await startTestServer();
    const alice = await WsTestClient.connect(server.wsUrl, 'alice');
    await alice.ok('channel.create', { channel: 'quiet', channelType: 'public' });
    await alice.ok('subscribe', { channel: 'quiet' });
    for (let i = 1; i <= 5; i++) {
      await alice.ok('publish', { channel: 'quiet', text: `hello ${i}` });
      await alice.waitFor((f) => f.type === 'event' && f.seq === i);
    }
    const figures = await writeFigures(server);
    expect(figures.delayed).toBe(0);
    expect(figures.frames).toBeGreaterThanOrEqual(11);
  });
});
