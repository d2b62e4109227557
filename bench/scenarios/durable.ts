import { createScratchDatabase } from '../lib/scratch-database.js';
import { startServerProcess } from '../lib/server-process.js';
import { round, summarize, type LatencySummary } from '../lib/stats.js';
import { Worker } from '../lib/worker-pool.js';
import type { PublishSummary } from '../lib/worker-protocol.js';

export interface DurableOptions {
  readonly publishers: number;
  readonly channels: number;
  readonly window: number;
  readonly seconds: number;
  readonly payloadBytes: number;
  readonly build: 'src' | 'dist';
  /** PostgreSQL to measure too; a fresh database is created on it and dropped after. */
  readonly postgresUrl: string | null;
}

export interface DurableStep {
  readonly store: 'sqlite' | 'postgres';
  readonly label: string;
  readonly publishers: number;
  readonly window: number;
  readonly ackedPerSec: number;
  readonly ackLatency: LatencySummary;
  readonly refusals: Record<string, number>;
  readonly unanswered: number;
  readonly serverCpuPercent: number;
}

export interface DurableResult {
  readonly store: 'sqlite' | 'postgres';
  readonly command: string | null;
  readonly steps: DurableStep[];
  readonly skipped?: string;
  readonly error?: string;
}

/**
 * The most acknowledged publishes per second to stored channels. An ack means the event
 * is committed (SQLite with synchronous=FULL), so this is the group commit's throughput:
 * first one publish at a time (the latency of one commit), then many connections each with
 * a window of publishes in flight.
 */
export async function runDurable(options: DurableOptions, log: (line: string) => void): Promise<DurableResult[]> {
  const results: DurableResult[] = [await durableOne('sqlite', null, options, log)];
  if (!options.postgresUrl) {
    log('durable: PostgreSQL skipped (set TEST_DATABASE_URL or DATABASE_URL to measure it)');
    results.push({ store: 'postgres', command: null, steps: [], skipped: 'TEST_DATABASE_URL / DATABASE_URL not set' });
    return results;
  }
  let database;
  try {
    database = await createScratchDatabase(options.postgresUrl);
  } catch (error) {
    log(`durable: PostgreSQL unavailable: ${(error as Error).message}`);
    results.push({ store: 'postgres', command: null, steps: [], error: (error as Error).message });
    return results;
  }
  try {
    results.push(await durableOne('postgres', database.url, options, log));
  } finally {
    await database.drop().catch(() => {});
  }
  return results;
}

async function durableOne(store: 'sqlite' | 'postgres', databaseUrl: string | null, options: DurableOptions, log: (line: string) => void): Promise<DurableResult> {
  log(`durable: ${store}`);
  let server;
  try {
    server = await startServerProcess({ kind: 'switchboard', build: options.build, databaseUrl: databaseUrl ?? undefined });
  } catch (error) {
    log(`  could not start: ${(error as Error).message}`);
    return { store, command: null, steps: [], error: (error as Error).message };
  }
  const channels = Array.from({ length: options.channels }, (_, k) => `bench-durable-${k}`);
  const steps: DurableStep[] = [];
  const publisher = new Worker(0);
  try {
    const plan = [
      { label: 'one at a time', publishers: 1, window: 1 },
      { label: `${options.publishers} x window ${options.window}`, publishers: options.publishers, window: options.window },
    ];
    for (const step of plan) {
      await publisher.call({ op: 'closeAll' });
      await publisher.call({ op: 'openPublishers', kind: 'switchboard', port: server.port, channels, count: step.publishers, create: steps.length === 0 });
      const cpu = server.cpuSeconds();
      const summary = await publisher.call<PublishSummary>({
        op: 'publish',
        mode: 'window',
        window: step.window,
        seconds: options.seconds,
        payloadBytes: options.payloadBytes,
      });
      const result: DurableStep = {
        store,
        label: step.label,
        publishers: step.publishers,
        window: step.window,
        ackedPerSec: round(summary.ackedInWindow / (summary.elapsedMs / 1000)),
        ackLatency: summarize(summary.ackLatencies),
        refusals: summary.refusals,
        unanswered: summary.unanswered,
        serverCpuPercent: round(((server.cpuSeconds() - cpu) / (summary.elapsedMs / 1000)) * 100),
      };
      steps.push(result);
      log(`  ${step.label}: ${result.ackedPerSec} acked publishes/s, ack p50 ${result.ackLatency.p50} ms, p99 ${result.ackLatency.p99} ms, server CPU ${result.serverCpuPercent}%`);
    }
    return { store, command: server.command.replace(/postgres:\/\/\S+/, 'postgres://…'), steps };
  } catch (error) {
    log(`  failed: ${(error as Error).message}`);
    return { store, command: server.command, steps, error: (error as Error).message };
  } finally {
    await publisher.exit();
    await server.dispose();
  }
}
