import { expect, it } from 'vitest';
import type { DeepPartial, Config } from '../../src/config.js';
import type { TestServer } from './test-server.js';
import { STREAM_WIRES, subscribeOn } from './wire-subscribers.js';

/**
 * The retention modes' shared suite, run on one SQLite node and on two nodes over
 * PostgreSQL and Redis: seq continuity (publishing on one node, subscribed on the other),
 * resume inside and beyond what a channel keeps on every streaming wire, and the
 * `truncated` marker saying so.
 */

/** Namespaces the suite's servers are started with. */
export const RETENTION_NAMESPACES: DeepPartial<Config> = {
  namespaces: {
    keep: { retention: { mode: 'durable', maxCount: 5 } },
    ring: { retention: { mode: 'memory', maxCount: 5 }, autoCreate: true },
    live: { retention: { mode: 'none' }, autoCreate: true },
    bounded: { retention: { mode: 'durable', maxCount: 20 }, autoCreate: true },
    aged: { retention: { mode: 'durable', maxAge: 1 }, autoCreate: true },
  } as DeepPartial<Config>['namespaces'],
  // Swept often, in batches smaller than what a sweep finds, so sweeps and publishes interleave.
  retention: { pruneIntervalMs: 50, pruneBatch: 7 },
};

interface Mode {
  readonly name: string;
  /** The channel for one wire. */
  channel(wire: string): string;
  /** How it comes to exist: created (with this body) before use, or on demand. */
  readonly create: Record<string, unknown> | null;
  /** What a resume from seq 1 after 12 messages gets: kept from seq `from`. */
  readonly keepsFrom: number;
  /** Durable channels keep everything until pruned. */
  readonly pruned: boolean;
}

export const MODES: readonly Mode[] = [
  { name: 'durable, maxCount 5 (namespace)', channel: (w) => `keep:${w}`, create: {}, keepsFrom: 8, pruned: true },
  { name: 'memory ring of 5 (namespace, autoCreate)', channel: (w) => `ring:${w}`, create: null, keepsFrom: 8, pruned: false },
  { name: 'none (namespace, autoCreate)', channel: (w) => `live:${w}`, create: null, keepsFrom: 13, pruned: false },
  {
    name: 'memory ring of 5 (chosen by channel.create)',
    channel: (w) => `made-${w}`,
    create: { retention: { mode: 'memory', maxCount: 5 } },
    keepsFrom: 8,
    pruned: false,
  },
];

export async function rest<T = Record<string, unknown>>(
  server: TestServer,
  method: string,
  path: string,
  body?: unknown,
  user = 'ann',
): Promise<{ status: number; body: T }> {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: { 'x-switchboard-user': user, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: (text ? JSON.parse(text) : null) as T };
}

export async function publish(server: TestServer, channel: string, text: string): Promise<number> {
  const reply = await rest<{ seq: number }>(server, 'POST', `/api/channels/${encodeURIComponent(channel)}/messages`, { text });
  expect(reply.status, JSON.stringify(reply.body)).toBe(201);
  return reply.body.seq;
}

/** Registers the suite's tests; `nodes()` gives the publishing node and the subscribing one (the same node, alone). */
export function retentionSuite(nodes: () => Promise<readonly [TestServer, TestServer]>): void {
  for (const mode of MODES) {
    it(`${mode.name}: seqs continue, and resumes inside and beyond retention say what they got on every wire`, async () => {
      const [publisher, subscriber] = await nodes();
      for (const wire of STREAM_WIRES) {
        const channel = mode.channel(wire);
        if (mode.create) {
          const created = await rest(publisher, 'POST', '/api/channels', { channel, channelType: 'public', ...mode.create });
          expect(created.status, JSON.stringify(created.body)).toBe(201);
        }
        const first: number[] = [];
        for (let i = 1; i <= 3; i++) first.push(await publish(publisher, channel, `m${i}`));
        expect(first, wire).toEqual([1, 2, 3]);

        // Inside retention: everything after `since`, no marker. A `none` channel keeps
        // nothing, so only a resume from its newest seq is inside.
        const since = mode.keepsFrom > 12 ? 3 : 1;
        const resumed = await subscribeOn(wire, subscriber, { user: 'bob' }, channel, { since });
        expect(resumed.subscribed, wire).toMatchObject({ seq: 3, truncated: false, from: null });
        for (let i = 4; i <= 12; i++) expect(await publish(publisher, channel, `m${i}`)).toBe(i);
        await resumed.waitForSeq(12);
        expect(resumed.seqs(), wire).toEqual(range(since + 1, 12));

        if (mode.pruned) {
          await publisher.hub.pruneNow();
          const history = await rest<{ events: { seq: number }[] }>(subscriber, 'GET', `/api/channels/${channel}/messages`);
          expect(history.body.events.map((e) => e.seq), wire).toEqual(range(8, 12));
        }

        // Beyond retention: what is kept, and the marker naming where it starts.
        const late = await subscribeOn(wire, subscriber, { user: 'cy' }, channel, { since: 1 });
        expect(late.subscribed, wire).toMatchObject({ seq: 12, truncated: true, from: mode.keepsFrom });
        expect(await publish(publisher, channel, 'm13')).toBe(13);
        await late.waitForSeq(13);
        expect(late.seqs(), wire).toEqual(range(mode.keepsFrom, 13));
        resumed.close();
        late.close();
      }
    });
  }
}

/** A `cid` retried on any node is stored once in every mode, the volatile ones included. */
export function idempotenceSuite(nodes: () => Promise<readonly [TestServer, TestServer]>): void {
  it('stores a publish retried with the same cid once, on either node, in memory and none channels', async () => {
    const [one, two] = await nodes();
    for (const channel of ['ring:cid', 'live:cid']) {
      const watcher = await subscribeOn('ws', two, { user: 'bob' }, channel);
      const body = { text: 'once', cid: `c-${channel}` };
      const first = await rest<{ seq: number; duplicate: boolean }>(one, 'POST', `/api/channels/${channel}/messages`, body);
      const again = await rest<{ seq: number; duplicate: boolean }>(two, 'POST', `/api/channels/${channel}/messages`, body);
      expect(first.body, channel).toMatchObject({ seq: 1, duplicate: false });
      expect(again.body, channel).toMatchObject({ seq: 1, duplicate: true });
      expect(await publish(one, channel, 'next')).toBe(2);
      await watcher.waitForSeq(2);
      expect(watcher.seqs(), channel).toEqual([1, 2]);
      watcher.close();
    }
  });
}

/** Waits for `check` to hold, re-checking it on a short timer (what is waited for happens in the server). */
async function eventually(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

async function keptSeqs(server: TestServer, channel: string): Promise<number[]> {
  const history = await rest<{ events: { seq: number }[] }>(server, 'GET', `/api/channels/${channel}/messages?limit=200`);
  return history.body.events.map((e) => e.seq);
}

/** Pruning by count and by age, on the suite's servers, while publishing goes on. */
export function pruningSuite(nodes: () => Promise<readonly [TestServer, TestServer]>): void {
  it('prunes by count in small batches while concurrent publishes are all stored, in order, and delivered', async () => {
    const [publisher, subscriber] = await nodes();
    const channel = 'bounded:busy';
    const watcher = await subscribeOn('ws', subscriber, { user: 'bob' }, channel);
    let publishing = true;
    let sweeps = 0;
    let prunedWhilePublishing = 0;
    // Sweeps back to back on the publishing node, beside its own timer, for as long as publishes run.
    const sweeper = (async () => {
      while (publishing) {
        prunedWhilePublishing += await publisher.hub.pruneNow();
        sweeps++;
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const acks = await Promise.all(
      range(1, 10).map(async (writer) => {
        const seqs: number[] = [];
        for (let i = 0; i < 20; i++) {
          seqs.push(await publish(publisher, channel, `w${writer}-${i}`));
        }
        return seqs;
      }),
    );
    publishing = false;
    await sweeper;
    expect(acks.flat().sort((a, b) => a - b)).toEqual(range(1, 200));
    await watcher.waitForSeq(200);
    expect(watcher.seqs()).toEqual(range(1, 200));
    expect(sweeps).toBeGreaterThan(1);
    // Pruning went on while publishes were under way, and took none of them with it.
    expect(prunedWhilePublishing).toBeGreaterThan(0);
    // The background job (every 50 ms) finishes what is left: the newest 20.
    await eventually(async () => (await keptSeqs(subscriber, channel))[0] === 181, 10_000, 'pruning to the newest 20');
    expect(await keptSeqs(subscriber, channel)).toEqual(range(181, 200));
  });

  it('prunes by age in the background, and a resume from before says truncated', async () => {
    const [publisher, subscriber] = await nodes();
    const channel = 'aged:old';
    for (let i = 1; i <= 3; i++) expect(await publish(publisher, channel, `m${i}`)).toBe(i);
    // maxAge is one second: the job deletes them once they are older.
    await eventually(async () => (await keptSeqs(subscriber, channel)).length === 0, 10_000, 'events older than a second to go');
    expect(await publish(publisher, channel, 'm4')).toBe(4);
    const late = await subscribeOn('sse-stream', subscriber, { user: 'cy' }, channel, { since: 0 });
    expect(late.subscribed).toMatchObject({ seq: 4, truncated: true, from: 4 });
    await late.waitForSeq(4);
    expect(late.seqs()).toEqual([4]);
  });
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
