import { describe, expect, it } from 'vitest';
import type { ChannelEvent, PublishResult, SwitchboardClient } from '../client/src/index.js';
import { useSdkClients } from './helpers/sdk-clients.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { Waiters } from './helpers/waiters.js';

const MESSAGES = 1000;
const WINDOW = 20;
/** The publisher pipelines far above the default 100 frames/s; this test is about drops, not rate limits. */
const FAST_LIMITS = { limits: { messagesPerSecond: 100_000, messageBurst: 100_000 } };
/** How long a run may take to reach each milestone. */
const WAIT_MS = 20_000;

const clients = useSdkClients();

interface Run {
  readonly signal: Waiters;
  readonly publisher: SwitchboardClient;
  readonly subscribers: SwitchboardClient[];
  /** Every call of each subscriber's handler, duplicates included. */
  readonly received: ChannelEvent[][];
  readonly acked: () => number;
  /** Publishes all messages through a window of WINDOW in flight; resolves with each result. */
  readonly publishAll: () => Promise<{ results: PublishResult[]; resolutions: number[]; failures: unknown[] }>;
}

async function setUp(url: string): Promise<Run> {
  const signal = new Waiters();
  const publisher = clients.connect(url, 'alice');
  const subscribers = ['bob', 'carol', 'dave'].map((user) => clients.connect(url, user));
  for (const client of [publisher, ...subscribers]) client.on('connected', signal.wake);
  await publisher.createChannel({ channel: 'stream', type: 'public' });
  const received: ChannelEvent[][] = subscribers.map(() => []);
  await Promise.all(
    subscribers.map((client, i) =>
      client.subscribe('stream', (event) => {
        received[i]!.push(event);
        signal.wake();
      }),
    ),
  );
  let acked = 0;
  const publishAll = async () => {
    const results: PublishResult[] = [];
    const resolutions = new Array<number>(MESSAGES).fill(0);
    const failures: unknown[] = [];
    let next = 0;
    const worker = async () => {
      while (next < MESSAGES) {
        const i = next++;
        try {
          results[i] = await publisher.publish('stream', { text: `m${i}`, cid: `run-${i}` });
          resolutions[i]!++;
          acked++;
          signal.wake();
        } catch (error) {
          failures.push(error);
        }
      }
    };
    await Promise.all(Array.from({ length: WINDOW }, worker));
    return { results, resolutions, failures };
  };
  return { signal, publisher, subscribers, received, acked: () => acked, publishAll };
}

/** The guarantees: every handler saw 1..1000 once each, in order; every publish resolved once with its seq. */
function expectExactlyOnce(run: Run, outcome: Awaited<ReturnType<Run['publishAll']>>): void {
  expect(outcome.failures).toEqual([]);
  expect(outcome.resolutions.every((n) => n === 1)).toBe(true);
  const expectedSeqs = Array.from({ length: MESSAGES }, (_, i) => i + 1);
  expect(outcome.results.map((r) => r.seq).sort((a, b) => a - b)).toEqual(expectedSeqs);
  const textBySeq = new Map(outcome.results.map((r, i) => [r.seq, `m${i}`]));
  for (const events of run.received) {
    expect(events.map((e) => e.seq)).toEqual(expectedSeqs);
    expect(events.every((e) => e.text === textBySeq.get(e.seq))).toBe(true);
  }
}

/** The newest message is seq 1000, so retried publishes stored nothing twice. */
async function expectStoredOnce(client: SwitchboardClient): Promise<void> {
  const newest = await client.history('stream', { limit: 1 });
  expect(newest.events.map((e) => e.seq)).toEqual([MESSAGES]);
}

async function waitForAll(run: Run): Promise<void> {
  await run.signal.until(
    () => run.received.every((events) => events.length >= MESSAGES),
    WAIT_MS,
    'timed out waiting for every subscriber to get all messages',
  );
}

describe('client SDK: nothing is lost across drops and restarts', () => {
  it('delivers 1,000 messages exactly once in order while every connection is cut three times', async () => {
    const server = await startTestServer({ overrides: FAST_LIMITS });
    const proxy = await clients.proxy(server.port);
    const run = await setUp(`ws://127.0.0.1:${proxy.port}/ws`);
    const everyone = [run.publisher, ...run.subscribers];
    const drops: number[] = [];
    const disconnects = everyone.map(() => 0);
    everyone.forEach((client, i) =>
      client.on('disconnected', () => {
        disconnects[i]!++;
        run.signal.wake();
      }),
    );

    const publishing = run.publishAll();
    for (const threshold of [250, 500, 750]) {
      // Cut when a subscriber sees the event (its ack is often still on the way), and only
      // when all four are back, so each connection really is cut three times. A client that
      // has not yet read the previous cut still says `connected`: its connection must be
      // through the proxy again too, or the cut finds nothing of it to drop.
      await run.signal.until(
        () => run.received[0]!.length >= threshold && everyone.every((c) => c.state === 'connected') && proxy.connectionCount === everyone.length,
        WAIT_MS,
        `timed out waiting for ${threshold} events with everyone connected`,
      );
      // A few turns of the event loop later, so the server holds publishes it has read but not answered.
      for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
      drops.push(proxy.dropAll());
    }
    const outcome = await publishing;
    await waitForAll(run);
    // Everything may have arrived before a client noticed the last cut: wait for every client
    // to see it and come back, so the count below is of what happened, not of what was noticed.
    await run.signal.until(
      () => disconnects.every((n) => n >= 3) && everyone.every((c) => c.state === 'connected'),
      WAIT_MS,
      () => `timed out waiting for every client to see the third cut and reconnect: ${disconnects.join(',')}`,
    );
    // Some publishes were stored but their ack was cut off: resent with their cid, they got the stored seq.
    expect(outcome.results.filter((r) => r.duplicate).length).toBeGreaterThan(0);

    expect(drops).toEqual([4, 4, 4]);
    expect(disconnects).toEqual([3, 3, 3, 3]);
    expectExactlyOnce(run, outcome);
    await expectStoredOnce(run.publisher);
  });

  it('delivers 1,000 messages exactly once in order while the server process restarts', async () => {
    const server: TestServer = await startTestServer({ overrides: FAST_LIMITS });
    const run = await setUp(server.wsUrl);
    // Per subscriber; attempts made while the new server is still starting add 1006s.
    const closeCodes: number[][] = run.subscribers.map(() => []);
    run.subscribers.forEach((client, i) => client.on('disconnected', (info) => closeCodes[i]!.push(info.code)));

    const publishing = run.publishAll();
    await run.signal.until(() => run.acked() >= 400, WAIT_MS, 'timed out waiting for 400 acks');
    await server.restart();
    const outcome = await publishing;
    await waitForAll(run);
    expect(outcome.results.filter((r) => r.duplicate).length).toBeGreaterThan(0);

    // The server said "reconnect and resume" (4503) and the clients did.
    expect(closeCodes.map((codes) => codes[0])).toEqual([4503, 4503, 4503]);
    expect(closeCodes.flat().every((code) => code === 4503 || code === 1006)).toBe(true);
    expectExactlyOnce(run, outcome);
    await expectStoredOnce(run.publisher);
  });
});
