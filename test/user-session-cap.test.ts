import { describe, expect, it } from 'vitest';
import { DEFAULT_LIMITS } from '../protocol/limits.js';
import { startTestServer } from './helpers/test-server.js';
import { refusalOn, STREAM_WIRES, subscribeOn } from './helpers/wire-subscribers.js';
import { useWsClients } from './helpers/ws-test-client.js';

/**
 * A user holds at most `limits.maxSessionsPerUser` live sessions on a node, counted across
 * /ws connections, SSE streams and gRPC streams together; the next is refused with
 * `too_many_sessions` before it opens (/ws: an error and close 4429; SSE: HTTP 429; gRPC:
 * RESOURCE_EXHAUSTED), on every wire. Other users and REST requests are not affected.
 */
const clients = useWsClients();

describe("a user's live sessions on a node", () => {
  for (const wire of STREAM_WIRES) {
    it(`${wire}: the session past the cap is refused with too_many_sessions before it opens, and admitted once one closes`, async () => {
      const server = await startTestServer();
      const cap = server.hub.limits.maxSessionsPerUser ?? DEFAULT_LIMITS.maxSessionsPerUser;
      const alice = await clients.connect(server.wsUrl, 'alice');
      await alice.ok('channel.create', { channel: 'lobby', channelType: 'public' });
      // One of each wire, then /ws connections up to the cap: they all count.
      const others = await Promise.all(STREAM_WIRES.filter((w) => w !== 'ws').map((w) => subscribeOn(w, server, { user: 'bob' }, 'lobby')));
      const sockets = [];
      while (sockets.length < cap - others.length) {
        const batch = Math.min(20, cap - others.length - sockets.length);
        sockets.push(...(await Promise.all(Array.from({ length: batch }, () => clients.connect(server.wsUrl, 'bob')))));
      }
      expect(sockets.every((socket) => socket.frames[0]?.type === 'welcome')).toBe(true);

      expect(await refusalOn(wire, server, { user: 'bob' }, 'lobby')).toBe('too_many_sessions');
      expect(server.hub.sessionCount).toBe(cap + 1);
      // Others still connect; bob's requests without a session still work.
      expect(await refusalOn(wire, server, { user: 'carol' }, 'lobby')).toBeNull();
      expect((await fetch(`${server.url}/api/channels/lobby`, { headers: { 'x-switchboard-user': 'bob' } })).status).toBe(200);

      await sockets.pop()!.close();
      await expect.poll(() => server.hub.sessionCount).toBe(cap);
      expect(await refusalOn(wire, server, { user: 'bob' }, 'lobby')).toBeNull();
    });
  }
});
