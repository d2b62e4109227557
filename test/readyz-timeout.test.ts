import Fastify from 'fastify';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import { SwitchboardError } from '../src/core/errors.js';
import { READINESS_TIMEOUT_MS, registerHealthRoutes } from '../src/transports/http/health-routes.js';
import { databaseBehindBlackholeProxy } from './helpers/outage-proxy.js';
import { describeWithServices } from './helpers/services.js';
import { startTestServer } from './helpers/test-server.js';

const LATE = { status: 'unavailable', code: 'unavailable', message: 'The database or the broker did not answer within 2 s.' };

/** Lets pending I/O and immediates run (not faked), so requests reach their handlers. */
const turn = () => new Promise((resolve) => setImmediate(resolve));

describe('/readyz with a readiness check that does not answer', () => {
  it('answers 503 after its timeout, shares the waiting check between probes, and leaves no timer behind', async () => {
    let calls = 0;
    let giveUp: (error: Error) => void = () => {};
    let next = () => Promise.resolve();
    const app = Fastify();
    registerHealthRoutes(app, {
      check: () => {
        calls++;
        return next();
      },
    });
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

/** Under the pool's connect timeout (5 s) and far under the query timeout (30 s): what an unbounded check waits. */
const PROBE_TIMEOUT_MS = 2 * READINESS_TIMEOUT_MS + 500;

describeWithServices(['TEST_DATABASE_URL'], '/readyz with PostgreSQL out of reach silently', () => {
  it('says not ready within its timeout, not the query timeout, and ready again once the path heals', async () => {
    const { proxy, proxiedUrl } = await databaseBehindBlackholeProxy('readyz');
    // The default postgres.queryTimeoutMs (30 s).
    const server = await startTestServer({ databaseUrl: proxiedUrl });
    // Runs before the server closes: ending the pool waits on connections the hole holds.
    onTestFinished(() => proxy.heal());
    const probe = () => fetch(`${server.url}/readyz`, { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
    expect((await probe()).status).toBe(200);

    // The ping goes out on a connection the pool holds open (the last probe's) or a new one
    // the hole accepts and holds: no answer before the query or the connect timeout.
    proxy.blackhole();
    for (let i = 0; i < 2; i++) {
      const notReady = await probe();
      expect(notReady.status).toBe(503);
      expect(await notReady.json()).toEqual(LATE);
    }

    proxy.heal();
    const deadline = Date.now() + 10_000;
    let status = 0;
    while (status !== 200 && Date.now() < deadline) {
      status = (await probe()).status;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
  }, 30_000);
});
