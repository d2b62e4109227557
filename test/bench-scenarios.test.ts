import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { runInProcessConnects } from '../bench/lib/inprocess-connects.js';
import { planPinning } from '../bench/lib/pinning.js';
import { renderTables, type RunRecord } from '../bench/lib/report.js';
import { runConnectRate } from '../bench/scenarios/connect-rate.js';
import { refineBetween } from '../bench/scenarios/fanout.js';
import { runPresenceSetup } from '../bench/scenarios/presence-setup.js';
import { runResume } from '../bench/scenarios/resume.js';
import { describeWithServices, serviceUrl } from './helpers/services.js';

/**
 * The issue-20 benchmark scenarios at tiny sizes, so `npm run bench` stays runnable: real
 * server processes, real worker processes, the same code paths as a full run. Figures
 * are not asserted (speed is measured by the bench, never by tests); what each scenario
 * checks and reports is.
 */
const quiet = () => {};
const SCENARIO_TIMEOUT = 120_000;

function tables(scenario: string, results: unknown): string {
  return renderTables({ scenario, results } as RunRecord).join('\n');
}

describe('bench planning', () => {
  it('pins servers to core 0 and the load generator to the rest, or says why not', () => {
    expect(planPinning({ cores: 2, taskset: true, requested: true })).toEqual({ server: '0', load: '1', unpinned: null });
    expect(planPinning({ cores: 8, taskset: true, requested: true })).toMatchObject({ server: '0', load: '1-7' });
    expect(planPinning({ cores: 1, taskset: true, requested: true })).toMatchObject({ server: null, load: null, unpinned: expect.stringMatching(/1 core/) });
    expect(planPinning({ cores: 2, taskset: false, requested: true }).unpinned).toMatch(/taskset not found/);
    expect(planPinning({ cores: 2, taskset: true, requested: false }).unpinned).toBe('--pin off');
  });

  it('bisects between the rate held and the rate missed until they are within 5%', () => {
    expect(refineBetween(30, 40)).toBe(35);
    expect(refineBetween(35, 40)).toBe(38);
    expect(refineBetween(1000, 1040)).toBeNull();
    expect(refineBetween(1, 2)).toBeNull();
  });
});

describe('bench scenarios at tiny sizes', () => {
  it('connect: every client connects to Switchboard with open auth and with JWT, and to raw ws, round after round', async () => {
    const results = await runConnectRate(
      { servers: ['switchboard', 'ws'], auth: ['open', 'jwt'], connections: 30, concurrency: 10, workers: 1, build: 'src', rounds: 2, warmup: 5, loadCores: null },
      quiet,
    );
    const first = [
      ['switchboard', 'open', 'new', 30, null],
      ['switchboard', 'open', 'returning', 30, null],
      ['switchboard', 'jwt', 'new', 30, null],
      ['switchboard', 'jwt', 'returning', 30, null],
      ['ws', null, 'new', 30, null],
    ];
    // The second round runs the servers in the reverse order.
    const second = [first[4], first[2], first[3], first[0], first[1]];
    expect(results.map((r) => [r.server, r.auth, r.users, r.connected, r.firstError])).toEqual([...first, ...second]);
    expect(results.map((r) => r.round)).toEqual([1, 1, 1, 1, 1, 2, 2, 2, 2, 2]);
    for (const r of results) expect(r.connectPerSec).toBeGreaterThan(0);
    // Each round's ratios are against its own raw ws run.
    expect([results[4]!.versusWs, results[5]!.versusWs]).toEqual([1, 1]);
    expect(results[6]!.versusWs).toBe(Math.round((results[6]!.connectPerSec / results[5]!.connectPerSec) * 100) / 100);
    expect(results.every((r) => r.warmup === 5)).toBe(true);
    // Who set the rate: the server's CPU and the load generator's, each measured. The
    // server's is read in clock ticks (10 ms), which a storm of 30 may not fill: 0 is possible.
    for (const r of results) {
      expect([r.serverBusyPercent! >= 0, r.loadCpuMicrosPerConnect! > 0, r.loadBusyPercent]).toEqual([true, true, null]);
      // And how long each connect waited: p50 ≤ p99, both from the 30 connects timed.
      expect(r.latencyMillis!.p50! > 0 && r.latencyMillis!.p50! <= r.latencyMillis!.p99!).toBe(true);
    }
    const table = tables('connect', results);
    expect(table).toMatch(/Each server took 5 warm-up connects/);
    expect(table).toMatch(/\| 2 \| switchboard \| jwt \| returning \| 30 \| 30 \|.* \| [\d.]+ \/ [\d.]+ \|$/m);
    expect(table).toMatch(/Medians over 2 rounds[\s\S]*\| ws \| - \| new \| \d+ \| 1x \| 1–1x \|/);
  }, SCENARIO_TIMEOUT);

  it('connect --restart: the same users connect once more to a new process on the same database', async () => {
    const results = await runConnectRate(
      { servers: ['switchboard'], auth: ['jwt'], connections: 20, concurrency: 10, workers: 1, build: 'src', rounds: 1, warmup: 5, loadCores: null, restart: true },
      quiet,
    );
    expect(results.map((r) => [r.users, r.connected, r.firstError])).toEqual([
      ['new', 20, null],
      ['returning', 20, null],
      ['restarted', 20, null],
    ]);
    expect(tables('connect', results)).toMatch(/\| switchboard \| jwt \| restarted \| 20 \| 20 \|/);
  }, SCENARIO_TIMEOUT);

  it('presence: subscribing with presence on costs frames that subscribing without does not', async () => {
    const [on, off] = await runPresenceSetup({ subscribers: 12, workers: 1, build: 'src' }, quiet);
    expect([on!.presence, on!.connected, off!.presence, off!.connected]).toEqual([true, 12, false, 12]);
    // Joins reach the members already there (one by one, or coalesced per tick): more than without.
    expect(on!.frames).toBeGreaterThan(off!.frames);
    expect(tables('presence', [on, off])).toMatch(/\| on \| 12 \| 12 \|/);
  }, SCENARIO_TIMEOUT);

  it('resume with presence on: every subscriber gets exactly what it missed', async () => {
    const result = await runResume({ subscribers: 12, missed: 5, workers: 1, build: 'src', presence: true }, quiet);
    expect(result).toMatchObject({ presence: true, subscribers: 12, missed: 5, caughtUp: 12, exact: 12, failed: 0, firstError: null });
    expect(tables('resume', result)).toMatch(/^\| on \| 12 \| 5 \|/m);
  }, SCENARIO_TIMEOUT);

  it('connects in-process: first and returning storms beside watchers, each session sent its contacts and its own status', async () => {
    const lines: string[] = [];
    const result = await runInProcessConnects({ users: 20, storms: 2, concurrency: 5, build: 'src', watchers: 5 }, (line) => lines.push(line));
    expect(result.storms.map((storm) => storm.kind)).toEqual(['first', 'returning', 'first', 'returning']);
    for (const storm of result.storms) expect(storm.micros).toBeGreaterThan(0);
    // Every connect of a user with no contacts: the (empty) contacts snapshot, then the user's
    // own `online`; the watchers, following users who never connect, get nothing.
    expect(result.framesPerConnect).toBe(2);
    expect(lines).toHaveLength(4);
    // In one channel (of 10, under presence.occupancyAbove) members also hear each other come online.
    const crowd = await runInProcessConnects({ users: 10, storms: 1, concurrency: 5, build: 'src', crowd: true }, quiet);
    expect(crowd.framesPerConnect).toBeGreaterThan(2);
  }, SCENARIO_TIMEOUT);
});

describeWithServices(['TEST_DATABASE_URL'], 'bench scenarios on PostgreSQL', () => {
  it('connect --store postgres: Switchboard stores on a scratch database of its own, dropped after', async () => {
    const url = serviceUrl('TEST_DATABASE_URL')!;
    const results = await runConnectRate(
      { servers: ['switchboard'], auth: ['open'], connections: 20, concurrency: 10, workers: 1, build: 'src', rounds: 1, warmup: 0, loadCores: null, postgresUrl: url },
      quiet,
    );
    expect(results.map((r) => [r.users, r.store, r.connected, r.firstError])).toEqual([
      ['new', 'postgres', 20, null],
      ['returning', 'postgres', 20, null],
    ]);
    expect(tables('connect', results)).toMatch(/Switchboard stored on PostgreSQL/);
    // The run's scratch database (named after this process) is gone.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const { rows } = await client.query('select datname from pg_database where datname like $1', [`switchboard_bench_${process.pid}_%`]);
      expect(rows).toEqual([]);
    } finally {
      await client.end();
    }
  }, SCENARIO_TIMEOUT);
});
