import { describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { startTestServer, type TestServer } from './helpers/test-server.js';
import { STREAM_WIRES, subscribeOn } from './helpers/wire-subscribers.js';
import { WsTestClient } from './helpers/ws-test-client.js';

/**
 * Presence that scales: a tick's joins in a channel reach each subscriber as one frame,
 * a channel above `presence.occupancyAbove` gets counts instead of join/leave, and small
 * channels keep exact join/leave frames with an id and a time on every wire.
 */

type Frame = Record<string, unknown> & { type: string };
const PRESENCE_TYPES = new Set(['presence', 'presenceBatch', 'occupancy']);

/** A bare /ws client that decodes every message it gets and keeps the presence frames. */
class Probe {
  readonly socket: WebSocket;
  readonly presence: Frame[] = [];
  readonly replies = new Map<number, Frame>();
  decoded = 0;
  #onFrame: (() => void) | null = null;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.on('message', (data) => {
      const frame = JSON.parse(String(data)) as Frame;
      this.decoded++;
      if (PRESENCE_TYPES.has(frame.type)) this.presence.push(frame);
      if (frame.type === 'ok' || frame.type === 'error') this.replies.set(frame.id as number, frame);
      this.#onFrame?.();
    });
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
  }

  send(frame: Record<string, unknown>): void {
    this.socket.send(JSON.stringify(frame));
  }

  until(check: () => boolean, timeoutMs = 30_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`probe waited ${timeoutMs} ms; last presence ${JSON.stringify(this.presence.at(-1))}`)), timeoutMs);
      this.#onFrame = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.#onFrame = null;
        resolve();
      };
    });
  }
}

async function openProbes(server: TestServer, count: number): Promise<Probe[]> {
  const probes: Probe[] = [];
  // A few hundred at a time: the connects themselves are not under test.
  for (let i = 0; i < count; i += 250) {
    const batch = Array.from({ length: Math.min(250, count - i) }, (_, k) => new Probe(`${server.wsUrl}?user=u${i + k}`));
    await Promise.all(batch.map((probe) => probe.opened()));
    probes.push(...batch);
  }
  return probes;
}

/**
 * The probes subscribe in waves of `wave`: within a wave nothing is awaited (they arrive
 * together), between waves every reply is: so joins land in many ticks, not one.
 */
async function subscribeAll(probes: Probe[], channel: string, wave = probes.length): Promise<void> {
  for (let i = 0; i < probes.length; i += wave) {
    const group = probes.slice(i, i + wave);
    for (const probe of group) probe.send({ type: 'subscribe', id: 1, channel });
    await Promise.all(group.map((probe) => probe.until(() => probe.replies.has(1))));
  }
  for (const probe of probes) expect(probe.replies.get(1)).toMatchObject({ type: 'ok' });
}

function closeAll(probes: Probe[]): void {
  for (const probe of probes) probe.socket.terminate();
}

const SUBSCRIBERS = 1000;
const BIG_OVERRIDES = { limits: { connectionsPerIp: 5000 } };

describe('presence at scale', () => {
  it(`${SUBSCRIBERS} subscribers joining one channel in occupancy mode cost O(subscribers x ticks) frames, not O(subscribers^2)`, async () => {
    const server = await startTestServer({ overrides: { ...BIG_OVERRIDES, presence: { occupancyAbove: 50, occupancyIntervalMs: 200 } } });
    const admin = await WsTestClient.connect(server.wsUrl, 'admin');
    await admin.ok('channel.create', { channel: 'arena', channelType: 'public' });
    const probes = await openProbes(server, SUBSCRIBERS);
    try {
      await subscribeAll(probes, 'arena', 100);
      // Settled: every subscriber's newest frame is the count with everyone in it.
      await Promise.all(probes.map((probe) => probe.until(() => probe.presence.at(-1)?.users === SUBSCRIBERS)));

      const frames = probes.flatMap((probe) => probe.presence);
      const ticks = new Set(frames.map((frame) => frame.id)).size;
      const joinsSeen = frames.reduce((sum, f) => sum + (f.type === 'presence' ? 1 : f.type === 'presenceBatch' ? (f.changes as unknown[]).length : 0), 0);
      console.log(`presence, occupancy mode: ${SUBSCRIBERS} subscribers, ${frames.length} frames, ${ticks} announcements, ${joinsSeen} joins carried`);
      // Each announcement (one id) is one frame to each subscriber at most ...
      expect(frames.length).toBeLessThanOrEqual(SUBSCRIBERS * ticks);
      // ... and there are far fewer announcements than subscribers: O(subscribers x ticks), not n^2/2 = 500,500.
      expect(ticks).toBeGreaterThan(1);
      expect(ticks).toBeLessThan(SUBSCRIBERS / 4);
      expect(frames.length).toBeLessThan((SUBSCRIBERS * SUBSCRIBERS) / 20);
      // Above the threshold nobody is sent join/leave any more: the joins carried are those before the switch.
      const lastExact = frames.filter((f) => f.type !== 'occupancy').length;
      expect(lastExact).toBeLessThanOrEqual(50 * 51);
      for (const frame of frames) expect(frame).toMatchObject({ id: expect.any(String), at: expect.any(Number) });

      // The member list is paged on request: every user once, in id order.
      const seen: string[] = [];
      let after: string | undefined;
      do {
        const page = await admin.ok<{ members: { user: string; sessions: number }[]; next: string | null; users: number; mode: string }>('presence', {
          channel: 'arena',
          limit: 300,
          after,
        });
        expect(page.users).toBe(SUBSCRIBERS);
        // Every page says so: a client reads on only on request.
        expect(page.mode).toBe('occupancy');
        expect(page.members.length).toBeLessThanOrEqual(300);
        seen.push(...page.members.map((member) => member.user));
        after = page.next ?? undefined;
      } while (after);
      expect(seen).toEqual([...seen].sort());
      expect(new Set(seen).size).toBe(SUBSCRIBERS);
    } finally {
      closeAll(probes);
    }
  }, 120_000);

  it(`${SUBSCRIBERS} subscribers joining one channel below the threshold get every join exactly once, a tick's joins in one frame`, async () => {
    const server = await startTestServer({ overrides: { ...BIG_OVERRIDES, presence: { occupancyAbove: 5000 } } });
    const admin = await WsTestClient.connect(server.wsUrl, 'admin');
    await admin.ok('channel.create', { channel: 'hall', channelType: 'public' });
    const probes = await openProbes(server, SUBSCRIBERS);
    try {
      // The first to subscribe sees everyone join, itself included; the rest subscribe at once.
      const [first, ...rest] = probes as [Probe, ...Probe[]];
      await subscribeAll([first], 'hall');
      await subscribeAll(rest, 'hall', 100);
      const joined = (probe: Probe) =>
        probe.presence.flatMap((f) => (f.type === 'presence' ? [f] : f.type === 'presenceBatch' ? (f.changes as Frame[]) : [])).map((c) => c.user);
      await Promise.all(probes.map((probe) => probe.until(() => joined(probe).includes(probe === first ? `u${SUBSCRIBERS - 1}` : `u${probes.indexOf(probe)}`))));
      await first.until(() => new Set(joined(first)).size === SUBSCRIBERS);

      const frames = probes.flatMap((probe) => probe.presence);
      const ticks = new Set(frames.map((frame) => frame.id)).size;
      console.log(`presence, exact mode: ${SUBSCRIBERS} subscribers, ${frames.length} frames, ${ticks} announcements`);
      expect(frames.every((f) => f.type === 'presence' || f.type === 'presenceBatch')).toBe(true);
      expect(frames.length).toBeLessThanOrEqual(SUBSCRIBERS * ticks);
      expect(frames.length).toBeLessThan((SUBSCRIBERS * SUBSCRIBERS) / 20);
      expect(ticks).toBeGreaterThan(1);
      expect(ticks).toBeLessThan(SUBSCRIBERS / 4);
      // Exact: nobody sees a join twice; every announcement's changes are in subscribe order per user.
      for (const probe of probes) expect(new Set(joined(probe)).size).toBe(joined(probe).length);
      // Join/leave frames keep a list read once true: the pages say to read them all.
      expect(await admin.ok('presence', { channel: 'hall', limit: 10 })).toMatchObject({ users: SUBSCRIBERS, mode: 'members' });
    } finally {
      closeAll(probes);
    }
  }, 120_000);
});

describe('presence in a small channel', () => {
  for (const wire of STREAM_WIRES) {
    it(`is exact join and leave, each with an id and a time, on ${wire}`, async () => {
      const server = await startTestServer();
      const admin = await WsTestClient.connect(server.wsUrl, 'admin');
      await admin.ok('channel.create', { channel: 'den', channelType: 'public' });
      const watcher = await subscribeOn(wire, server, { user: 'wendy' }, 'den');
      const alice = await WsTestClient.connect(server.wsUrl, 'alice');
      await alice.ok('subscribe', { channel: 'den' });
      const changes = () => watcher.signals('presence').filter((f) => f.user === 'alice');
      await vi.waitFor(() => expect(changes().map((f) => f.action)).toEqual(expect.arrayContaining([expect.stringMatching(/JOIN|join/)])), { timeout: 5000 });
      await alice.ok('unsubscribe', { channel: 'den' });
      await vi.waitFor(() => expect(changes()).toHaveLength(2), { timeout: 5000 });
      const [join, leave] = changes();
      expect(String(join!.action).toLowerCase()).toContain('join');
      expect(String(leave!.action).toLowerCase()).toContain('leave');
      for (const frame of [join!, leave!]) {
        expect(frame.id).toEqual(expect.any(String));
        expect(Number(frame.at)).toBeGreaterThan(0);
      }
      expect(join!.id).not.toBe(leave!.id);
      // The count stays exact too: nobody is left once alice went.
      const { members, users } = await admin.ok<{ members: { user: string }[]; users: number }>('presence', { channel: 'den' });
      expect(members.map((m) => m.user)).toEqual(['wendy']);
      expect(users).toBe(1);
    });
  }
});
