import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { settle } from '../lib/measure.js';
import { startServerProcess } from '../lib/server-process.js';
import { round, summarize, type LatencySummary } from '../lib/stats.js';
import { Worker, WorkerPool } from '../lib/worker-pool.js';
import type { ClientSpec, ConnectSummary, PublishSummary, ResumeSpec, ResumeSummary } from '../lib/worker-protocol.js';

export interface ResumeOptions {
  readonly subscribers: number;
  readonly missed: number;
  readonly workers: number;
  readonly build: 'src' | 'dist';
  /** Subscribe (and resume) with presence events, as the product does by default. */
  readonly presence: boolean;
}

export interface ResumeResult {
  /** Absent in results from before the option: off. */
  readonly presence?: boolean;
  readonly subscribers: number;
  readonly missed: number;
  readonly command: string;
  readonly restartMillis: number;
  /** From the first reconnect to the last subscribe reply (every missed event received). */
  readonly allCaughtUpMillis: number;
  readonly perClientCaughtUp: LatencySummary;
  readonly caughtUp: number;
  /** Clients that received exactly since+1 .. last, in order, once each. */
  readonly exact: number;
  readonly failed: number;
  readonly firstError: string | null;
  readonly error?: string;
}

/**
 * Resume storm (Switchboard only; the peers have no history to resume from). N clients
 * subscribe to one stored channel; the server restarts (SIGTERM, clients get 4503); M
 * messages are published after the restart while the clients are away; then all N
 * reconnect at once with `since` and must each receive exactly the M events they missed.
 */
export async function runResume(options: ResumeOptions, log: (line: string) => void): Promise<ResumeResult> {
  const dir = mkdtempSync(join(tmpdir(), 'switchboard-bench-'));
  const channel = 'bench-resume';
  const pool = new WorkerPool(options.workers);
  const publisher = new Worker(options.workers);
  let server = await startServerProcess({ kind: 'switchboard', build: options.build }, dir);
  const command = server.command;
  try {
    log(`resume: ${options.subscribers} subscribers, ${options.missed} missed messages, presence ${options.presence ? 'on' : 'off'}`);
    await publisher.call({ op: 'openPublishers', kind: 'switchboard', port: server.port, channels: [channel], count: 1, create: true });
    await publisher.call<PublishSummary>({ op: 'publish', mode: 'window', window: 1, count: 1, seconds: 10, payloadBytes: 100 });
    const since = 1;
    const specs: ClientSpec[] = Array.from({ length: options.subscribers }, (_, k) => ({ user: `resumer-${k}`, channel, probe: false, presence: options.presence }));
    const parts = WorkerPool.spread(specs, options.workers);
    const connected = await pool.all<ConnectSummary>((worker) => ({ op: 'connect', kind: 'switchboard', port: server.port, clients: parts[worker.index]!, concurrency: 50 }));
    log(`  subscribed ${connected.reduce((n, c) => n + c.connected, 0)} clients`);
    await settle(pool, server);

    const restartStarted = performance.now();
    await server.stop();
    await Promise.all([pool.all({ op: 'closeAll' }), publisher.call({ op: 'closeAll' })]);
    server = await startServerProcess({ kind: 'switchboard', build: options.build, port: server.port }, dir);
    const restartMillis = round(performance.now() - restartStarted);
    log(`  restarted in ${restartMillis} ms`);

    await publisher.call({ op: 'openPublishers', kind: 'switchboard', port: server.port, channels: [channel], count: 1, create: false });
    const published = await publisher.call<PublishSummary>({ op: 'publish', mode: 'window', window: 64, count: options.missed, seconds: 60, payloadBytes: 100 });
    const last = since + published.acked;
    log(`  published ${published.acked} while the subscribers were away (seq ${since + 1}..${last})`);

    const resumeSpecs = WorkerPool.spread(
      specs.map((spec): ResumeSpec => ({ user: spec.user, channel, since, last, presence: options.presence })),
      options.workers,
    );
    const summaries = await pool.all<ResumeSummary>((worker) => ({ op: 'resume', port: server.port, clients: resumeSpecs[worker.index]!, concurrency: 500 }));
    const result: ResumeResult = {
      presence: options.presence,
      subscribers: options.subscribers,
      missed: published.acked,
      command,
      restartMillis,
      allCaughtUpMillis: round(Math.max(...summaries.map((s) => s.millis))),
      perClientCaughtUp: summarize(summaries.flatMap((s) => s.catchUpMillis)),
      caughtUp: summaries.reduce((n, s) => n + s.caughtUp, 0),
      exact: summaries.reduce((n, s) => n + s.exact, 0),
      failed: summaries.reduce((n, s) => n + s.failed, 0),
      firstError: summaries.find((s) => s.firstError)?.firstError ?? null,
    };
    log(`  ${result.caughtUp}/${options.subscribers} caught up in ${result.allCaughtUpMillis} ms; ${result.exact} got exactly what they missed${result.firstError ? ` (first error: ${result.firstError})` : ''}`);
    return result;
  } catch (error) {
    log(`  failed: ${(error as Error).message}`);
    return {
      presence: options.presence, subscribers: options.subscribers, missed: options.missed, command, restartMillis: 0, allCaughtUpMillis: 0,
      perClientCaughtUp: summarize([]), caughtUp: 0, exact: 0, failed: options.subscribers, firstError: null, error: (error as Error).message,
    };
  } finally {
    await pool.all({ op: 'closeAll' }).catch(() => {});
    await Promise.all([pool.exit(), publisher.exit()]);
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
