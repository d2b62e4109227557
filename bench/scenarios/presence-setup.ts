import { settle, totals } from '../lib/measure.js';
import { startServerProcess } from '../lib/server-process.js';
import { round } from '../lib/stats.js';
import { Worker, WorkerPool } from '../lib/worker-pool.js';
import type { ClientSpec, ConnectSummary } from '../lib/worker-protocol.js';

export interface PresenceSetupOptions {
  readonly subscribers: number;
  readonly workers: number;
  readonly build: 'src' | 'dist';
}

export interface PresenceSetupResult {
  readonly presence: boolean;
  readonly subscribers: number;
  readonly command: string;
  readonly connected: number;
  readonly connectMillis: number;
  /** From the first connect until no client received anything for a second. */
  readonly settledMillis: number;
  /** Every frame the subscribers received from their first connect until quiet. */
  readonly frames: number;
  readonly framesPerSubscriber: number;
  /** frames / subscribers²: near 0.5 or more when every join goes to every member (quadratic). */
  readonly perSubscriberSquared: number;
  readonly firstError: string | null;
  readonly error?: string;
}

/**
 * Subscribing N clients to one channel, once with presence events and once without
 * (Switchboard only): the frames the subscribers receive until the server goes quiet.
 * Without presence a subscriber gets a handful (welcome, contacts, its own status, the
 * subscribe reply); with presence each join goes to the members already there, so a
 * naive server sends about N²/2 more. The difference is the cost of presence.
 */
export async function runPresenceSetup(options: PresenceSetupOptions, log: (line: string) => void): Promise<PresenceSetupResult[]> {
  const results: PresenceSetupResult[] = [];
  for (const presence of [true, false]) {
    log(`presence: ${options.subscribers} subscribers, presence ${presence ? 'on' : 'off'}`);
    results.push(await subscribeStorm(presence, options, log));
  }
  return results;
}

async function subscribeStorm(presence: boolean, options: PresenceSetupOptions, log: (line: string) => void): Promise<PresenceSetupResult> {
  const channel = 'bench-presence';
  const server = await startServerProcess({ kind: 'switchboard', build: options.build });
  const pool = new WorkerPool(options.workers);
  const creator = new Worker(options.workers);
  try {
    await creator.call({ op: 'openPublishers', kind: 'switchboard', port: server.port, channels: [channel], count: 1, create: true });
    const before = (await totals(pool, server)).frames;
    const started = performance.now();
    const specs: ClientSpec[] = Array.from({ length: options.subscribers }, (_, k) => ({ user: `member-${k}`, channel, probe: false, presence }));
    const parts = WorkerPool.spread(specs, options.workers);
    const summaries = await pool.all<ConnectSummary>((worker) => ({ op: 'connect', kind: 'switchboard', port: server.port, clients: parts[worker.index]!, concurrency: 50 }));
    const connectMillis = round(performance.now() - started);
    const settled = await settle(pool, server);
    const frames = settled.frames - before;
    const connected = summaries.reduce((n, s) => n + s.connected, 0);
    const result: PresenceSetupResult = {
      presence,
      subscribers: options.subscribers,
      command: server.command,
      connected,
      connectMillis,
      settledMillis: round(performance.now() - started),
      frames,
      framesPerSubscriber: round(frames / Math.max(1, connected), 1),
      perSubscriberSquared: round(frames / Math.max(1, connected) ** 2, 3),
      firstError: summaries.find((s) => s.firstError)?.firstError ?? null,
    };
    log(`  ${connected} subscribed; ${frames} frames (${result.framesPerSubscriber} per subscriber), settled after ${result.settledMillis} ms`);
    return result;
  } catch (error) {
    log(`  failed: ${(error as Error).message}`);
    return {
      presence, subscribers: options.subscribers, command: server.command, connected: 0, connectMillis: 0, settledMillis: 0,
      frames: 0, framesPerSubscriber: 0, perSubscriberSquared: 0, firstError: null, error: (error as Error).message,
    };
  } finally {
    await pool.all({ op: 'closeAll' }).catch(() => {});
    await Promise.all([pool.exit(), creator.exit()]);
    await server.dispose();
  }
}
