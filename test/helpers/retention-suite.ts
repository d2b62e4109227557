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
  } as DeepPartial<Config>['namespaces'],
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
        expect(resumed.subscribed, wire).toEqual({ seq: 3, truncated: false, from: null });
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
        expect(late.subscribed, wire).toEqual({ seq: 12, truncated: true, from: mode.keepsFrom });
        expect(await publish(publisher, channel, 'm13')).toBe(13);
        await late.waitForSeq(13);
        expect(late.seqs(), wire).toEqual(range(mode.keepsFrom, 13));
        resumed.close();
        late.close();
      }
    });
  }
}

export function range(from: number, to: number): number[] {
  return Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);
}
