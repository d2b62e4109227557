import { describe, expect, it } from 'vitest';
import { startTestServer } from './helpers/test-server.js';
import { refusal, STREAM_WIRES, subscribeOn } from './helpers/wire-subscribers.js';
import { useWsClients } from './helpers/ws-test-client.js';

/**
 * `subscribe` with `since` beyond the channel's newest seq is refused, never answered live
 * at that seq (which later events would contradict: seq 3 after "live at 99"). It is the
 * one `subscribe` command, so every wire refuses it alike: /ws `bad_request`, SSE (a
 * `Last-Event-ID` beyond) an `error` event, gRPC INVALID_ARGUMENT.
 */
const clients = useWsClients();

describe('subscribe with since', () => {
  for (const wire of STREAM_WIRES) {
    it(`${wire}: beyond the channel's newest seq is bad_request; at or below it resumes with nothing missing`, async () => {
      const server = await startTestServer();
      const alice = await clients.connect(server.wsUrl, 'alice');
      await alice.ok('channel.create', { channel: 'news', channelType: 'public' });
      await alice.ok('publish', { channel: 'news', text: 'one' });
      await alice.ok('publish', { channel: 'news', text: 'two' });

      expect(await refusal(wire, server, { user: 'bob' }, 'news', { since: 99 })).toEqual({
        code: 'bad_request',
        message: "Invalid since: 99 is beyond the channel's newest seq 2.",
      });
      expect(await refusal(wire, server, { user: 'bob' }, 'news', { since: 3 })).toMatchObject({ code: 'bad_request' });

      const atNewest = await subscribeOn(wire, server, { user: 'bob' }, 'news', { since: 2 });
      const behind = await subscribeOn(wire, server, { user: 'carol' }, 'news', { since: 1 });
      await alice.ok('publish', { channel: 'news', text: 'three' });
      await atNewest.waitForSeq(3);
      await behind.waitForSeq(3);
      expect(atNewest.seqs()).toEqual([3]);
      expect(behind.seqs()).toEqual([2, 3]);
    });
  }
});
