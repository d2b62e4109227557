import * as grpc from '@grpc/grpc-js';
import Fastify from 'fastify';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { SwitchboardError } from '../src/core/errors.js';
import { boundedReadiness, READINESS_TIMEOUT_MS } from '../src/ops/bounded-readiness.js';
import { registerHealthRoutes } from '../src/transports/http/health-routes.js';
import { databaseBehindBlackholeProxy } from './helpers/outage-proxy.js';
import { packageObject, track } from './helpers/grpc-test-client.js';
import { describeWithServices } from './helpers/services.js';
import { startTestServer, type TestServer } from './helpers/test-server.js';

const LATE = { status: 'unavailable', code: 'unavailable', message: 'The database or the broker did not answer within 2 s.' };

/** Lets pending I/O and immediates run (not faked), so requests reach their handlers. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('/readyz with a readiness check that does not answer', () => {
  it('answers 503 after its timeout, shares the waiting check between probes, and leaves no timer behind', async () => {
    let calls = 0;
    let giveUp: (error: Error) => void = () => {};
    let next = () => Promise.resolve();
    const app = Fastify();
    registerHealthRoutes(
      app,
      boundedReadiness({
        check: () => {
          calls++;
          return next();
        },
      }),
    );
    await app.ready();
    onTestFinished(() => app.close());
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });

    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready' });
    // An answer in time clears its timer.
    expect(vi.getTimerCount()).toBe(0);

    // From now on the check does not answer until told to fail.
    next = () => new Promise<void>((_resolve, reject) => (giveUp = reject));
    let answered = 0;
    const probes = [1, 2, 3].map(() => app.inject('/readyz').finally(() => answered++));
    while (vi.getTimerCount() < 3) await turn();
    // One check waits for all three: probes every few seconds through an outage hold one connection, not one each.
    expect(calls).toBe(2);
    await vi.advanceTimersByTimeAsync(READINESS_TIMEOUT_MS - 1);
    expect(answered).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    for (const probe of await Promise.all(probes)) {
      expect(probe.statusCode).toBe(503);
      expect(probe.json()).toEqual(LATE);
    }
    expect(vi.getTimerCount()).toBe(0);

    // It fails after every probe gave up on it: handled (vitest fails a run on an unhandled rejection).
    giveUp(new SwitchboardError('unavailable', 'The database does not answer.'));
    await turn();
    // A check that fails in time names what failed; the next one is a check of its own.
    next = () => Promise.reject(new SwitchboardError('unavailable', 'The database does not answer.'));
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'unavailable', code: 'unavailable', message: 'The database does not answer.' });
    next = () => Promise.resolve();
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready' });
    expect(calls).toBe(4);
    expect(vi.getTimerCount()).toBe(0);
  });
});

describe('boundedReadiness with a check stuck on a dead connection', () => {
  it('starts a fresh check once the shared one has waited five timeouts, so a node that answers again is ready', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    let calls = 0;
    // The first ping never answers (its connection died); every later one does.
    const readiness = boundedReadiness({ check: () => (++calls === 1 ? new Promise<void>(() => {}) : Promise.resolve()) });
    const outcome = (check: Promise<void>) => check.then(() => 'ready', (error: SwitchboardError) => error.message);

    for (let probe = 0; probe < 5; probe++) {
      const answer = outcome(readiness.check());
      await vi.advanceTimersByTimeAsync(READINESS_TIMEOUT_MS);
      expect(await answer).toBe(LATE.message);
    }
    // Five probes, one stuck ping between them.
    expect(calls).toBe(1);
    expect(await outcome(readiness.check())).toBe('ready');
    expect(calls).toBe(2);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lets no more than three checks wait at once, however long they stay stuck', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'performance'] });
    onTestFinished(() => {
      vi.useRealTimers();
    });
    let calls = 0;
    const readiness = boundedReadiness({
      check: () => {
        calls++;
        return new Promise<void>(() => {});
      },
    });
    // A minute of probes every 2 s, every ping stuck (a query timeout longer than that).
    for (let probe = 0; probe < 30; probe++) {
      const answer = readiness.check().catch((error: SwitchboardError) => error.message);
      await vi.advanceTimersByTimeAsync(READINESS_TIMEOUT_MS);
      expect(await answer).toBe(LATE.message);
    }
    expect(calls).toBe(3);
  });
});

/** Under the pool's connect timeout (5 s) and far under the query timeout (30 s): what an unbounded check waits. */
const PROBE_TIMEOUT_MS = 2 * READINESS_TIMEOUT_MS + 500;

/** A way to ask a node whether it is ready, each answer within PROBE_TIMEOUT_MS or a failure. */
interface Probe {
  readonly wire: string;
  /** One asking function for `server`; its clients close after the test. */
  open(server: TestServer): () => Promise<unknown>;
  readonly ready: unknown;
  /** What a check given up on at READINESS_TIMEOUT_MS answers. */
  readonly late: unknown;
}

const PROBES: readonly Probe[] = [
  {
    wire: 'HTTP /readyz',
    open: (server) => async () => {
      const response = await fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
      return { status: response.status, body: await response.json() };
    },
    ready: { status: 200, body: { status: 'ready' } },
    late: { status: 503, body: LATE },
  },
  {
    wire: 'gRPC Health/Check',
    open: (server) => {
      const health = track(new packageObject.grpc.health.v1.Health(`127.0.0.1:${server.grpcPort}`, grpc.credentials.createInsecure()));
      const check = (health as unknown as Record<string, Function>).Check!.bind(health);
      return () =>
        new Promise((resolve, reject) =>
          check({}, new grpc.Metadata(), { deadline: Date.now() + PROBE_TIMEOUT_MS }, (error: grpc.ServiceError | null, response: unknown) =>
            error ? reject(error) : resolve(response),
          ),
        );
    },
    ready: { status: 'SERVING' },
    late: { status: 'NOT_SERVING' },
  },
];

for (const { wire, open, ready, late } of PROBES) {
  describeWithServices(['TEST_DATABASE_URL'], `${wire} with PostgreSQL out of reach silently`, () => {
    it('says not ready within its timeout, not the query timeout, and ready again once the path heals', async () => {
      const { proxy, proxiedUrl } = await databaseBehindBlackholeProxy('readyz');
      // The default postgres.queryTimeoutMs (30 s).
      const server = await startTestServer({ databaseUrl: proxiedUrl });
      // Runs before the server closes: ending the pool waits on connections the hole holds.
      onTestFinished(() => proxy.heal());
      const probe = open(server);
      expect(await probe()).toEqual(ready);

      // The ping goes out on a connection the pool holds open (the last probe's) or a new one
      // the hole accepts and holds: no answer before the query or the connect timeout.
      proxy.blackhole();
      for (let i = 0; i < 2; i++) expect(await probe()).toEqual(late);

      // Polled: what the node answers right after the heal depends on where its ping waited.
      proxy.heal();
      await expect.poll(probe, { timeout: 10_000, interval: 100 }).toEqual(ready);
    }, 30_000);
  });
}
